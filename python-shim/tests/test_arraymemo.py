"""Array digests shared within one request (arraymemo.py): the same memory is hashed once, and a
shared digest always equals the one computed from scratch."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from nbferry_shim import arraymemo, hashing, probe as probe_mod
from nbferry_shim.probe import probe

ALGO = hashing.DEFAULT_ALGO


def _views(base: np.ndarray, rng: random.Random) -> list[np.ndarray]:
    """Arrays over `base`'s memory: aliases, reshapes, slices with steps, transposes, reversals."""
    out = [base, base.reshape(-1), base.T, base[::-1], base[:, ::2], base[1:], base[:, 3:7], base.T.copy(order="F")]
    for _ in range(20):
        r0, r1 = sorted(rng.sample(range(base.shape[0] + 1), 2))
        c0, c1 = sorted(rng.sample(range(base.shape[1] + 1), 2))
        v = base[r0:r1:rng.choice([1, 2, 3]), c0:c1:rng.choice([1, 2])]
        out.append(v.T if rng.random() < 0.3 else v)
    return out


def test_shared_digests_equal_fresh_ones() -> None:
    rng = random.Random(17)
    for trial in range(5):
        base = np.arange(4000 * 16, dtype=np.float64).reshape(4000, 16) * (trial + 1)
        views = _views(base, rng) + _views(np.asfortranarray(base), rng)
        fresh = [probe(v, None, algo=ALGO).digest for v in views]
        with arraymemo.shared_digests():
            order = list(range(len(views)))
            rng.shuffle(order)
            shared = {i: probe(views[i], None, algo=ALGO).digest for i in order}
        assert [shared[i] for i in range(len(views))] == fresh


def test_the_same_memory_is_hashed_once_per_request(monkeypatch: Any) -> None:
    calls: list[int] = []
    real = probe_mod.array_digest
    monkeypatch.setattr(probe_mod, "array_digest", lambda a, *rest: (calls.append(a.nbytes), real(a, *rest))[1])
    a = np.random.default_rng(0).random((50_000, 8))
    holders = {"a": a, "b": a, "flat": a.reshape(-1), "pair": [a, 1], "nested": {"x": [a]}}
    with arraymemo.shared_digests():
        digests = {n: probe(v, None, algo=ALGO).digest for n, v in holders.items()}
    assert calls == [a.nbytes]
    assert digests["a"] == digests["b"]
    calls.clear()
    for v in holders.values():  # outside a request, every variable hashes on its own
        probe(v, None, algo=ALGO)
    assert len(calls) == len(holders)


def test_other_memory_or_layout_is_hashed_again() -> None:
    a = np.random.default_rng(1).random((20_000, 8))
    b = a.copy()
    b[0, 0] += 1.0
    with arraymemo.shared_digests():
        da, db = probe(a, None, algo=ALGO).digest, probe(b, None, algo=ALGO).digest
        d_col, d_row = probe(a[:, 0], None, algo=ALGO).digest, probe(a[0], None, algo=ALGO).digest
    assert da != db
    assert d_col == probe(a[:, 0].copy(), None, algo=ALGO).digest and d_col != d_row
    assert arraymemo.get(("x",)) is None  # released at the end of the request
