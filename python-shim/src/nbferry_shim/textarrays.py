"""Object arrays of strings (pandas text columns, python-backed StringArrays) pickled as one
out-of-band buffer of their text, instead of in-band.

Pickled the usual way, a text column is part of the group's pickle stream, and its bytes depend on
everything pickled before it: memo references (BINGET n) to repeated strings change when anything
earlier in the group memoized one object more. So an unchanged column was written again after any
change before it (measured on the corpus: packages/store/README.md). Here the column's strings are
joined with NUL separators and encoded UTF-8 into a buffer of their own: its bytes depend on its
content only, and the content-addressed store (cutpoints.py) chunks it on its own.

Only plain `str` elements, None and float NaN (missing values) qualify; anything else (another
type, a str subclass, a NUL inside a string, a string equal to a sentinel) keeps the usual pickling.
Equal strings come back as one shared object per value (as a CSV reader makes them), so identity
between a string in the column and one elsewhere is not kept; their values are.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

MIN_ELEMENTS = 4096
_NONE = "\x01"
_NAN = "\x02"
_SEP = "\x00"


def reduce_text_array(arr: Any) -> Any:
    """A reduce tuple for an object ndarray of strings, or None when it does not qualify."""
    if arr.size < MIN_ELEMENTS or arr.dtype.fields is not None or arr.ndim == 0:
        return None
    if arr.flags.c_contiguous:
        order = "C"
    elif arr.flags.f_contiguous:
        order = "F"
    else:
        return None
    tokens = arr.ravel(order=order).tolist()
    types = set(map(type, tokens))
    if not types <= {str, type(None), float} or _NONE in tokens or _NAN in tokens:
        return None
    for i, x in enumerate(tokens if types != {str} else ()):  # only missing values to replace
        t = type(x)
        if t is str:
            continue
        if x is None:
            tokens[i] = _NONE
        elif t is float and x != x:
            tokens[i] = _NAN
        else:
            return None
    text = _SEP.join(tokens)
    if text.count(_SEP) != len(tokens) - 1:
        return None  # a string holds a NUL
    data = text.encode("utf-8", "surrogatepass")
    return (rebuild_text_array, (pickle.PickleBuffer(data), arr.shape, order, bool(arr.flags.writeable)))


def rebuild_text_array(buf: Any, shape: tuple[int, ...], order: str, writeable: bool) -> Any:
    np = sys.modules.get("numpy") or __import__("numpy")
    tokens = str(memoryview(buf), "utf-8", "surrogatepass").split(_SEP)
    shared: dict[str, Any] = dict(zip(tokens, tokens))  # one object per distinct string
    shared[_NONE] = None
    shared[_NAN] = float("nan")
    values = list(map(shared.__getitem__, tokens))
    out = np.empty(len(values), dtype=object)
    out[:] = values
    arr = out.reshape(shape, order=order)
    if not writeable:
        arr.flags.writeable = False
    return arr
