"""Content hashers for fingerprints and blob checksums.

Fingerprints use xxh3-128 when `xxhash` is importable, else sha256 (hashlib; ~1.5 GB/s with
SHA-NI, faster than blake2b on x86 here). The algorithm name is carried in every fingerprint,
because both kernels must use the same one to compare (see PROTOCOL.md, `algo`).
Blob checksums are always sha256 so they are comparable on any machine.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Protocol

from .budget import OverBudget

CHUNK = 1 << 22  # 4 MiB: hash big buffers piecewise so the GIL-free update stays cache friendly


class Hasher(Protocol):
    def update(self, data: Any, /) -> None: ...

    def hexdigest(self) -> str: ...


def available_algos() -> list[str]:
    algos = ["sha256"]
    try:
        import xxhash  # type: ignore[import-not-found]  # noqa: F401

        algos.insert(0, "xxh3-128")
    except Exception:
        pass
    return algos


DEFAULT_ALGO = available_algos()[0]


def new_hasher(algo: str | None = None) -> Hasher:
    algo = algo or DEFAULT_ALGO
    if algo == "sha256":
        return hashlib.sha256()
    if algo == "xxh3-128":
        import xxhash  # type: ignore[import-not-found]

        return xxhash.xxh3_128()  # type: ignore[no-any-return]
    if algo == "blake2b":
        return hashlib.blake2b(digest_size=16)
    raise ValueError(f"unknown hash algorithm {algo!r}")


def update_buffer(h: Hasher, mv: memoryview, deadline: float | None = None) -> None:
    """Feed a (contiguous, byte-cast) memoryview in chunks; no copy. Raises OverBudget between
    chunks once `deadline` (perf_counter time) has passed."""
    n = mv.nbytes
    if n <= CHUNK:
        h.update(mv)
        return
    for i in range(0, n, CHUNK):
        if deadline is not None and time.perf_counter() > deadline:
            raise OverBudget()
        h.update(mv[i : i + CHUNK])


class HashSink:
    """A write-only file object that hashes what the pickler writes (O(1) memory). With a
    deadline, a write after it raises OverBudget, which aborts the pickling pass."""

    __slots__ = ("h", "n", "deadline")

    def __init__(self, h: Hasher, deadline: float | None = None) -> None:
        self.h = h
        self.n = 0
        self.deadline = deadline

    def write(self, b: Any) -> int:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise OverBudget()
        self.h.update(b)
        n = len(b)
        self.n += n
        return n


class CountSink:
    """A write-only file object that only counts bytes (measure without copying)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def write(self, b: Any) -> int:
        n = len(b)
        self.n += n
        return n
