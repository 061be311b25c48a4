"""Text-column digests reused while the column holds the very same objects (pinned.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nbferry_shim import probe as probe_mod
from nbferry_shim.pinned import MIN_ELEMENTS, PinnedDigests, pinnable
from nbferry_shim.probe import ArrayCache, probe

N = 2 * MIN_ELEMENTS


def _column() -> Any:
    return np.array([f"name {i}" for i in range(N)], dtype=object)


def _digest(value: Any, cache: ArrayCache | None = None) -> str:
    p = probe(value, None, algo="rec", cache=cache)
    assert p.digest is not None
    return p.digest


def test_same_objects_reuse_the_digest_without_reading_the_text(monkeypatch: Any) -> None:
    col, cache = _column(), ArrayCache()
    first = _digest(col, cache)
    calls: list[int] = []
    real = probe_mod.text_digest
    monkeypatch.setattr(probe_mod, "text_digest", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert _digest(col, cache) == first == _digest(col)  # the uncached pass agrees
    assert len(calls) == 1  # only the uncached pass read the strings


@pytest.mark.parametrize("change", [
    lambda c: c.__setitem__(7, "other"),
    lambda c: c.__setitem__(7, str(c[7])),  # equal text, another object: hashed again, same digest
    lambda c: c.__setitem__(slice(None), c[::-1].copy()),
    lambda c: c.__setitem__(0, None),  # now the slower path for missing values
])
def test_any_slot_pointing_elsewhere_is_hashed_again(change: Any) -> None:
    col, cache = _column(), ArrayCache()
    _digest(col, cache)
    change(col)
    assert _digest(col, cache) == _digest(col)


def test_a_reused_address_cannot_fool_it() -> None:
    """Assigning a slot twice: without the pins, the second new string could get the address the
    first one freed (CPython reuses it at once), and the slots would compare equal."""
    col, cache = _column(), ArrayCache()
    before = _digest(col, cache)
    for _ in range(3):
        col[5] = "".join(["x", "y"])
        col[5] = "".join(["z", "w"])
    after = _digest(col, cache)
    assert after != before and after == _digest(col)


def test_a_copy_holding_the_same_objects_reuses_the_digest(monkeypatch: Any) -> None:
    pd = pytest.importorskip("pandas")
    frame, cache = pd.DataFrame({"name": _column()}), ArrayCache()
    first = _digest(frame, cache)
    calls: list[int] = []
    real = probe_mod.text_digest
    monkeypatch.setattr(probe_mod, "text_digest", lambda *a, **k: calls.append(1) or real(*a, **k))
    copied = frame.copy()  # new arrays, the same string objects
    assert _digest(copied, cache) == first and calls == []
    assert _digest(frame[::-1].reset_index(drop=True), cache) != first and calls == [1]


def test_strings_with_missing_values_are_cached_too(monkeypatch: Any) -> None:
    col, cache = _column(), ArrayCache()
    col[3] = float("nan")
    first = _digest(col, cache)
    calls: list[int] = []
    real = probe_mod.plain_digest
    monkeypatch.setattr(probe_mod, "plain_digest", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert _digest(col, cache) == first and calls == []


def test_mutable_elements_are_never_cached() -> None:
    col, cache = _column(), ArrayCache()
    col[1] = [1, 2]
    first = _digest(col, cache)
    col[1].append(3)  # same object in the slot, other content
    assert _digest(col, cache) != first


def test_a_frame_read_by_reference_keeps_its_digest_and_a_write_changes_it() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"name": [f"n{i}" for i in range(N)], "x": np.arange(N)})
    cache = ArrayCache()
    first = _digest(frame, cache)
    assert _digest(frame, cache) == first
    frame.loc[3, "name"] = "changed"
    assert _digest(frame, cache) == _digest(frame) != first


def test_pins_are_bounded_and_released_with_the_array() -> None:
    pins = PinnedDigests(max_pinned=2 * N)
    cols = [_column() for _ in range(3)]
    for c in cols:
        pins.put(pins.get(np, c, "rec")[0], c, "t", "d")
    assert pins.pinned == 2 * N  # the oldest was dropped
    assert pins.get(np, cols[0], "rec")[1] is None and pins.get(np, cols[2], "rec")[1] == ("t", "d")
    del cols[2], c  # the loop variable held it too
    assert pins.pinned == N


def test_recorded_cells_that_only_read_a_text_frame_do_not_rehash_its_strings(sess: Any, monkeypatch: Any) -> None:
    pytest.importorskip("pandas")
    sess.run(f"import pandas as pd\nframe = pd.DataFrame({{'name': [f'n{{i}}' for i in range({N})]}})")
    calls: list[int] = []
    real = probe_mod.text_digest
    monkeypatch.setattr(probe_mod, "text_digest", lambda *a, **k: calls.append(1) or real(*a, **k))
    r = sess.run("rows = len(frame)")
    assert "frame" not in r["modified"] and r["unhashed"] == [] and calls == []
    r = sess.run("frame.loc[0, 'name'] = 'other'")
    assert r["modified"] == ["frame"] and calls == [1]


def test_a_frame_over_budget_is_hashed_in_parts_across_cells(budgeted: Any, monkeypatch: Any) -> None:
    """Each cell's pass is cut off at its deadline, but the columns it finished stay pinned: a
    frame that no single pass can hash gets a baseline after a few cells that only read it."""
    from nbferry_shim import budget

    pytest.importorskip("pandas")
    monkeypatch.setattr(budget, "FLOOR_SEC", 0.015)
    monkeypatch.setattr(budget, "FRACTION", 0.0)
    monkeypatch.setattr(budget, "PRE_SEC", 0.0)
    monkeypatch.setattr(budget, "RESUME_WALL_SEC", 1e9)  # short cells: resumed for its text only
    made = budgeted.run("import pandas as pd\ndef touch(v):\n    return v\n"  # notebook code: may write it
                 "frame = pd.DataFrame({f'c{j}': [f'v{i}-{j}' for i in range(50_000)] for j in range(16)})")
    records = [budgeted.run("touch(frame)") for _ in range(30)]
    assert made["unhashed"] == ["frame"]  # too big for one pass
    settled = [i for i, r in enumerate(records) if "frame" not in r["modified"]]
    assert settled, [r["unhashed"] for r in records]
    # And mostly stays settled: a pass cut off under load (a pause, the CPU shared) drops the
    # baseline once, as for any variable; without the pins every one of them counted it modified.
    later = records[settled[0]:]
    assert sum("frame" in r["modified"] for r in later) <= len(later) // 4, [r["modified"] for r in later]


def test_a_pass_that_pins_nothing_is_not_resumed(budgeted: Any, monkeypatch: Any) -> None:
    from nbferry_shim import budget

    monkeypatch.setattr(budget, "FLOOR_SEC", 0.05)
    monkeypatch.setattr(budget, "FRACTION", 0.0)
    monkeypatch.setattr(budget, "PRE_SEC", 0.0)
    monkeypatch.setattr(budget, "RESUME_WALL_SEC", 1e9)  # every cell counts as short
    budgeted.run("import numpy as np\ndef touch(v):\n    return v\n"
                 "big = [np.ones(1 << 21) * i for i in range(60)]")  # 1 GB: never fits
    rec = budgeted.shim.recorder
    budgeted.run("touch(big)")
    assert "big" not in rec.stalled  # short cells: no attempt over the estimate
    monkeypatch.setattr(budget, "RESUME_WALL_SEC", 0.0)  # now as if long
    budgeted.run("touch(big)")
    assert rec.stalled.get("big") == id(rec.ns["big"])
    r = budgeted.run("touch(big)")
    assert r["unhashed"] == ["big"] and r["modified"] == ["big"]
    budgeted.run("big = [0]")
    assert "big" not in rec.stalled


def test_pinnable_values_are_those_with_text() -> None:
    pd = pytest.importorskip("pandas")
    assert pinnable(_column()) and not pinnable(np.ones(N)) and not pinnable(_column()[:10])
    assert pinnable(pd.DataFrame({"s": ["a", "b"], "x": [1, 2]})) and pinnable(pd.Series(["a"]))
    assert not pinnable(pd.DataFrame({"x": [1.0]})) and not pinnable(pd.Series([1])) and not pinnable([["a"]])
