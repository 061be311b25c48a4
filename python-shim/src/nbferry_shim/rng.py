"""Global RNG states (Python `random`, numpy's legacy global RandomState) around each cell, and
the environment values a cell read (envreads.py), replayed the same way.

Captured only when those modules are already imported (cheap: ~10 us). A state is kept for a
cell only if the cell consumed randomness, so replays can restore exactly what it saw.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

State = dict[str, Any]


def capture() -> State:
    st: State = {}
    rnd = sys.modules.get("random")
    if rnd is not None:
        try:
            st["python"] = rnd.getstate()
        except Exception:
            pass
    npr = sys.modules.get("numpy.random")
    if npr is not None:
        try:
            st["numpy"] = npr.get_state(legacy=True)
        except Exception:
            pass
    return st


def _np_equal(a: Any, b: Any) -> bool:
    return (a[0] == b[0] and a[2:] == b[2:] and a[1].tobytes() == b[1].tobytes())


def consumed(before: State, after: State) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for k, v in after.items():
        if k not in before:
            out[k] = False  # imported during the cell: its initial state came from the OS
            continue
        out[k] = not (_np_equal(before[k], v) if k == "numpy" else before[k] == v)
    return out


# numpy.random functions that are not draws from the legacy global state.
_NOT_DRAWS = frozenset({"seed", "get_state", "set_state", "get_bit_generator", "set_bit_generator",
                        "random"})  # np.random.random is a draw, but `random` is the module's name too


def numpy_global_drawn(st: State, used: frozenset[str] | set[str]) -> bool:
    """For a cell during which numpy.random was first imported (no state from before it): True when
    the legacy global state may have been drawn from. Its entropy seeding leaves a fixed position
    with no cached gaussian, which any draw moves; a seeded state (`seed` in the cell) is
    reproducible whatever it drew. A direct call of a legacy draw counts even when the position
    came back round (one chance in 624 after a library's draws)."""
    state = st.get("numpy")
    npr = sys.modules.get("numpy.random")
    if state is None or npr is None or "seed" in used:
        return False
    try:
        fresh = npr.RandomState().get_state(legacy=True)
        glob = npr.mtrand._rand
        draws = {n for n in used if n not in _NOT_DRAWS and getattr(getattr(npr, n, None), "__self__", None) is glob}
    except Exception:
        return True
    return bool(draws) or state[2] != fresh[2] or bool(state[3])


def dumps(st: State) -> dict[str, bytes]:
    return {k: pickle.dumps(v, protocol=4) for k, v in st.items()}


# What a saved state may hold: the two global RNGs, and the environment values a cell read (envreads.py).
KINDS = ("python", "numpy", "env")


def restore(blobs: dict[str, bytes]) -> tuple[list[str], dict[str, str | None] | None]:
    """Sets the saved states; returns what was set, and the environment values to apply once the
    cell has run (the kernel keeps its own environment), or None."""
    done = []
    undo = None
    for k, b in blobs.items():
        v = pickle.loads(b)
        if k == "python":
            import random

            random.setstate(v)
        elif k == "numpy":
            import numpy.random as npr

            npr.set_state(v)
        elif k == "env":
            from . import envreads

            if not isinstance(v, dict) or not all(isinstance(x, str) and (y is None or isinstance(y, str))
                                                  for x, y in v.items()):
                raise ValueError("saved environment values are not a map of strings")
            undo = envreads.apply(v)
        else:
            raise ValueError(f"unknown RNG {k!r}")
        done.append(k)
    return done, undo
