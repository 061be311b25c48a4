"""Global RNG states (Python `random`, numpy's legacy global RandomState) around each cell.

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


def dumps(st: State) -> dict[str, bytes]:
    return {k: pickle.dumps(v, protocol=4) for k, v in st.items()}


def restore(blobs: dict[str, bytes]) -> list[str]:
    done = []
    for k, b in blobs.items():
        v = pickle.loads(b)
        if k == "python":
            import random

            random.setstate(v)
        elif k == "numpy":
            import numpy.random as npr

            npr.set_state(v)
        else:
            raise ValueError(f"unknown RNG {k!r}")
        done.append(k)
    return done
