"""Digests of object arrays of immutable scalars (text columns), reused while an array holds the
very same objects as one already hashed.

Hashing a text column reads every string (the five text columns of a 170k-row frame: about
40 ms), and a cell that read a frame may also have written it, so the recorder hashes again what
a cell touched: a frame that cells only read, or copied (`out = X.copy()` in a transformer), never
fitted the per-cell budget and counted as modified by each of them. But an object array's slots
are pointers: if every slot points at the object the same slot of an array hashed earlier points
at, and those objects are immutable (the digests kept here accept only str, int, float, complex,
bytes, bool and None), the contents and so the digests are equal. Finding and comparing the slots
costs a checksum and a compare of 8 bytes per element.

Sound only because the objects are pinned: an entry keeps a copy of the array it was taken from
(the same references, one more count each), so none of them can be freed and its address given to
a new object that a cell puts in the same slot (CPython's allocator reuses a freed address at
once). The pins cost 8 bytes per element; an entry goes when the array it was taken from does, and
at most MAX_PINNED elements are pinned, oldest dropped first.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import weakref
from collections import OrderedDict
from typing import Any

from . import arraysum

MIN_ELEMENTS = 4096  # smaller arrays hash in well under a millisecond
MAX_PINNED = 32 << 20  # elements: 256 MiB of pointers

Key = tuple[str, tuple[int, ...], str, str]  # slots' checksum, shape, memory order, algo


class PinnedDigests:
    def __init__(self, max_pinned: int = MAX_PINNED) -> None:
        # key -> (weakref to the array it was taken from, pinned copy, reduce tag, digest)
        self._d: OrderedDict[Key, tuple[Any, Any, str, str]] = OrderedDict()
        self._max = max_pinned
        # Loads bind on a worker thread (under the recorder's lock), and an array tracked here can
        # die on any thread: its callback drops the entry. Reentrant: a collection that runs
        # inside `put` may call back on this thread.
        self._lock = threading.RLock()
        self.pinned = 0  # elements held by the copies
        self.added = 0  # digests remembered so far: a pass cut off at its deadline may still add some

    def get(self, np: Any, a: Any, algo: str) -> tuple[Key | None, tuple[str, str] | None]:
        """(a's key, (tag, digest) of an array that held exactly the objects `a` holds now, in
        the same places, else None). Pass the key to `put` after hashing on a miss."""
        key = _key(np, a, algo)
        with self._lock:
            hit = self._d.get(key) if key is not None else None
        if hit is None:
            return key, None
        pins = hit[1]
        return key, (hit[2], hit[3]) if np.array_equal(_slots(np, a), _slots(np, pins)) else None

    def put(self, key: Key | None, a: Any, tag: str, digest: str) -> None:
        """Remember `digest` of `a`, whose elements were all checked to be immutable scalars."""
        if key is None or a.size > self._max:
            return
        try:
            ref = weakref.ref(a, lambda _r, k=key: self._drop(k))
        except TypeError:
            return
        pins = a.copy(order="K")
        with self._lock:
            self._drop(key)
            self._d[key] = (ref, pins, tag, digest)
            self.pinned += a.size
            self.added += 1
            while self.pinned > self._max and self._d:
                self._drop(next(iter(self._d)))

    def _drop(self, key: Key) -> None:
        with self._lock:
            old = self._d.pop(key, None)
            if old is not None:
                self.pinned -= old[1].size


def pinnable(value: Any) -> bool:
    """An object array, or a pandas frame or series with an object column (text): what a pass
    cut off at its deadline can leave partly pinned."""
    t = type(value)
    np = sys.modules.get("numpy")
    if np is not None and t is np.ndarray:
        return bool(value.dtype.hasobject) and value.size >= MIN_ELEMENTS
    mod = getattr(t, "__module__", "") or ""
    if mod != "pandas" and not mod.startswith("pandas."):
        return False
    try:
        dtypes = value.dtypes if hasattr(t, "dtypes") and not hasattr(t, "dtype") else [value.dtype]
        return any(getattr(d, "kind", "") == "O" for d in dtypes)
    except Exception:
        return False


def _key(np: Any, a: Any, algo: str) -> Key | None:
    if a.size < MIN_ELEMENTS:
        return None
    order = "C" if a.flags.c_contiguous else "F" if a.flags.f_contiguous else None
    if order is None:
        return None
    return arraysum.checksum(_slots(np, a)), a.shape, order, algo


def _slots(np: Any, a: Any) -> Any:
    """The pointers in a contiguous object array's slots, as integers (a view, no copy)."""
    return np.ctypeslib.as_array((ctypes.c_size_t * a.size).from_address(a.ctypes.data))
