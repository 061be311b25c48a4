"""Object arrays of strings (pandas text columns, python-backed StringArrays) pickled as one
out-of-band buffer of their text, instead of in-band.

Pickled the usual way, a text column is part of the group's pickle stream, and its bytes depend on
everything pickled before it: memo references (BINGET n) to repeated strings change when anything
earlier in the group memoized one object more. So an unchanged column was written again after any
change before it (measured on the corpus: packages/store/README.md). Here the column's strings are
joined with NUL separators and encoded UTF-8 into a buffer of their own: its bytes depend on its
content only, and the content-addressed store (cutpoints.py) chunks it on its own. A column whose
values repeat (at most half of them distinct: categories, keys) is stored as its distinct strings
once and a code per element (u8/u16/u32), which is smaller than the pickle's memo references.

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
    np = sys.modules["numpy"]
    flat = arr.ravel(order=order)
    tokens = flat.tolist()
    if not set(map(type, tokens)) <= {str, type(None), float}:
        return None
    coded = _factorize(np, flat, tokens)
    if coded is None:
        return None
    codes, uniques = coded
    writeable = bool(arr.flags.writeable)
    if 2 * len(uniques) > len(tokens):
        for i in np.flatnonzero(codes >= len(uniques) - 2).tolist():  # the missing values, if any
            tokens[i] = uniques[codes[i]]
        data = _text(tokens)
        return None if data is None else (rebuild_text_array, (data, arr.shape, order, writeable))
    # Repeated values (categories, keys): the distinct strings once, and a code per element.
    data = _text(uniques)
    dtype = "<u1" if len(uniques) <= 1 << 8 else "<u2" if len(uniques) <= 1 << 16 else "<u4"
    return None if data is None else (
        rebuild_coded_text_array, (data, pickle.PickleBuffer(codes.astype(dtype)), dtype, arr.shape, order, writeable))


def _text(tokens: list[str]) -> Any:
    text = _SEP.join(tokens)
    if text.count(_SEP) != len(tokens) - 1:
        return None  # a string holds a NUL
    return pickle.PickleBuffer(text.encode("utf-8", "surrogatepass"))


def _factorize(np: Any, flat: Any, tokens: list[Any]) -> tuple[Any, list[str]] | None:
    """(codes, distinct strings in order of first appearance, then the None and NaN sentinels), or
    None when an element is neither a str nor a missing value. pandas' hash table when loaded."""
    pd = sys.modules.get("pandas")
    if pd is None:
        if _NONE in tokens or _NAN in tokens:
            return None
        keys = list(map(_token, tokens))
        seen = dict.fromkeys(keys)
        if None in seen:
            return None
        uniques = [k for k in seen if k != _NONE and k != _NAN]
        index = {u: i for i, u in enumerate(uniques)}
        index[_NONE], index[_NAN] = len(uniques), len(uniques) + 1
        return np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=len(keys)), [*uniques, _NONE, _NAN]
    codes, found = pd.factorize(flat, sort=False)  # None and NaN get -1
    uniques = list(found)
    if not all(type(u) is str for u in uniques) or _NONE in uniques or _NAN in uniques:
        return None  # a float that is not NaN, or a sentinel string
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        codes[missing] = np.where(np.equal(flat[missing], None), len(uniques), len(uniques) + 1)
    return codes, [*uniques, _NONE, _NAN]


def _token(x: Any) -> Any:
    if x is None:
        return _NONE
    if type(x) is float and x != x:
        return _NAN
    return x if type(x) is str else None  # None marks a value that cannot be encoded


def _values(buf: Any) -> list[Any]:
    tokens = str(memoryview(buf), "utf-8", "surrogatepass").split(_SEP)
    shared: dict[str, Any] = dict(zip(tokens, tokens))  # one object per distinct string
    shared[_NONE] = None
    shared[_NAN] = float("nan")
    return list(map(shared.__getitem__, tokens))


def _objects(np: Any, values: list[Any]) -> Any:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _shaped(flat: Any, shape: tuple[int, ...], order: str, writeable: bool) -> Any:
    arr = flat.reshape(shape, order=order)
    if not writeable:
        arr.flags.writeable = False
    return arr


def rebuild_text_array(buf: Any, shape: tuple[int, ...], order: str, writeable: bool) -> Any:
    np = sys.modules.get("numpy") or __import__("numpy")
    return _shaped(_objects(np, _values(buf)), shape, order, writeable)


def rebuild_coded_text_array(buf: Any, codes: Any, dtype: str, shape: tuple[int, ...], order: str,
                             writeable: bool) -> Any:
    np = sys.modules.get("numpy") or __import__("numpy")
    distinct = _objects(np, _values(buf))
    return _shaped(distinct[np.frombuffer(codes, dtype=dtype)], shape, order, writeable)
