"""The per-cell hashing budget: how long fingerprinting may take, cost estimates, and the
deadline that aborts a fingerprint pass which runs over.

Recording overhead target: about 1% of a cell's wall time (median), 2.5% worst. Hashing is the
part of the overhead that grows with the data a cell touches, so it gets
max(FLOOR_SEC, FRACTION x wall time of the cell itself). Candidates are fingerprinted cheapest
first; one that does not fit, or that runs past the deadline, is not compared: it counts as
modified (a false "modified" only costs planning quality, a missed one would be wrong) and its
cached fingerprint is dropped, so the next full pass (a later, longer cell or `measure`)
recomputes it. Text columns are the exception that makes big frames fit: their digests stay valid
while they hold the same string objects (pinned.py), so a frame that cells only read costs little
to hash again, and one too big for any single pass is hashed in parts, a few columns per cell
(RESUME_SEC below).
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
import types
from typing import Any, Iterator

from . import kinds

# Whatever the cell's length. A value left unhashed loses its baseline and stays "modified" in
# later cells too, so too small a floor snowballs: at 2 ms and 10 ms, by its last cell
# creditcard_fraud (small) had 13–23 variables marked modified by every cell (plans then serialize
# almost everything); at 50 ms only its figures (never stably hashable) were.
FLOOR_SEC = 0.050
FRACTION = 0.01  # of the cell's own wall time: the 1% median overhead target
# Notebook code (a __reduce__, __getstate__) that hashing calls may block; it is given up after
# the cell's hashing allowance, but never before this (the timer that watches it ticks at 50 ms).
USER_HOOK_FLOOR_SEC = 0.1
PRE_SEC = 0.001  # before the cell (its wall time is unknown): only cheap missing baselines
INSPECT_SEC = 0.001  # hashing estimated above this: try proving "only inspected" first (pureuse)
# A variable over its estimate may resume its pass (passes.py) with what is left of the budget, if
# at least RESUME_SEC: one with text columns (what a cut-off pass leaves pinned), or any after a
# cell of at least RESUME_WALL_SEC (so that the attempt stays about 1% of it).
RESUME_SEC = 0.010
RESUME_WALL_SEC = 1.0
REACH_SEC = 0.001  # after the budget: re-deriving sharing facts of unhashed variables (quickreach)
WALK_LIMIT = 20_000  # objects per reference walk; beyond it the variable's reach stays unknown

# Rough fingerprinting speeds, for ordering and for not starting passes that cannot fit (a
# pass that runs over is aborted at the deadline anyway, so these need not be exact).
ARRAY_BPS = 2e9  # numeric array bytes per second (arraysum ~5 GB/s, sha256 ~1.5 GB/s)
ATOM_ITEM_SEC = 5e-8  # per scalar in a container of scalars (C pickler, no per-item hook)
OBJ_ITEM_SEC = 1e-6  # per Python object that goes through the probe's hooks
FRAME_CELL_SEC = 2e-8  # per pandas cell (mix of numeric blocks and object columns)
OTHER_SEC = 2e-5  # anything else, on first sight
MAX_ESTIMATE_SEC = 3600.0  # cap for the estimate of a variable that keeps going unhashed
_SAMPLE = 8
TRIVIAL_BYTES = 1 << 16
TRUST = 10.0  # a measured cost above TRUST x a confident structural guess is an outlier
_SCALARS = frozenset({int, float, complex, str, bytes, bool, type(None)})


class OverBudget(Exception):
    """Raised from inside a fingerprint pass when its deadline has passed."""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No garbage collection inside the recording hooks: a full collection of a large heap,
    triggered by the hooks' short-lived allocations, would otherwise eat the budget at random.
    A collection that falls due runs at the next allocation after the hook instead."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def allowance(wall_sec: float) -> float:
    return max(FLOOR_SEC, FRACTION * max(wall_sec, 0.0))


def check(deadline: float | None) -> None:
    if deadline is not None and time.perf_counter() > deadline:
        raise OverBudget()


def estimate(value: Any, last_sec: float | None) -> float:
    """Seconds a fingerprint of `value` should take: the last measured pass over this object
    (or the backed-off estimate of an unhashed one), else a structural guess that reads only
    sizes. Where the structure predicts the cost well (arrays, frames, containers of scalars),
    a measurement is capped at TRUST x the guess, so one slow pass (a cold start, a GC pause)
    does not keep a small variable unhashed for good."""
    guess, sure = _structural(value, 0)
    if last_sec is None:
        return guess
    return min(last_sec, TRUST * guess + 1e-4) if sure else last_sec


def trivial(value: Any) -> bool:
    """Bounded cost by construction (a module, a scalar, a library class or function, a small
    numeric array, a few scalars):
    fingerprinted even when the budget is spent, so a cold start or an earlier pass that ran
    over never makes such a variable count as modified."""
    t = type(value)
    if t in _SCALARS or t is types.ModuleType:
        return True
    if isinstance(value, type) or t in (types.FunctionType, types.BuiltinFunctionType):
        return kinds.importable(value)  # library classes and functions: hashed by name
    np = sys.modules.get("numpy")
    if kinds.figure_reach(value) is not None:
        return True  # never hashed (kinds.figure_reach): probing it is instant
    if np is not None and t is np.ndarray:
        return not value.dtype.hasobject and value.nbytes <= TRIVIAL_BYTES
    if np is not None and isinstance(value, np.generic):
        return not isinstance(value, np.object_)  # numpy scalars
    if t in (list, tuple, set, frozenset):
        return len(value) <= _SAMPLE and all(type(x) in _SCALARS for x in value)
    if t is dict:
        return len(value) <= _SAMPLE and all(type(x) in _SCALARS for x in (*value, *value.values()))
    return False


def _structural(value: Any, depth: int) -> tuple[float, bool]:
    if depth > 2:
        return OTHER_SEC, False
    t = type(value)
    if t in _SCALARS or t is types.ModuleType:
        return 1e-6, True
    np = sys.modules.get("numpy")
    if np is not None and t is np.ndarray:
        return (value.size * OBJ_ITEM_SEC, False) if value.dtype.hasobject else (value.nbytes / ARRAY_BPS, True)
    if t in (list, tuple, set, frozenset, dict):
        n = len(value)
        if n == 0:
            return 0.0, True
        items = value.values() if t is dict else value
        sample = list(items)[:_SAMPLE] if n <= _SAMPLE else _head(items)
        if all(type(x) in _SCALARS for x in sample):
            return n * ATOM_ITEM_SEC, n <= _SAMPLE
        parts = [_structural(x, depth + 1) for x in sample]
        return n * (OBJ_ITEM_SEC + sum(c for c, _ in parts) / len(parts)), False
    mod = getattr(t, "__module__", "") or ""
    if mod.startswith("pandas.") and hasattr(t, "shape"):
        try:
            shape = value.shape
            return shape[0] * (shape[1] if len(shape) > 1 else 1) * FRAME_CELL_SEC, False
        except Exception:
            return OTHER_SEC, False
    return OTHER_SEC, False


def _head(it: Any) -> list[Any]:
    out = []
    for x in it:
        out.append(x)
        if len(out) >= _SAMPLE:
            break
    return out
