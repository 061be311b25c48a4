"""Sharing facts without a pickling pass, for a variable that went unhashed (over the hashing
budget): instead of tying it by a token to every candidate of the cell (which spreads), its
reach is recomputed, when that is cheap.

* `reach`: values whose possible sharing is fixed by their structure, found by reading a few
  attributes; they cannot hold user code. Scalars, modules, classes/functions referenced by
  name (nothing shareable); exact numpy arrays without object dtype (the array and the roots of
  its `.base` chain); exact pandas DataFrame/Series without object cells, with empty `attrs`
  and non-object labels (the object, its blocks' arrays and their roots, an extension array's
  backing arrays). Index objects and labels are immutable.
* `walk`: anything else, by following references (`gc.get_referents`, plus ndarray bases and
  object-array elements, which gc does not report), bounded in objects and time. Its ids are
  every object reached (a superset of what a probe records as shared), and it collects the code
  facts of the notebook functions and classes reached. Immutable library objects (dtypes,
  Index, tuples of scalars) and objects referenced by name are not entered.
Both return None when they cannot answer: the caller falls back to a token.
"""

from __future__ import annotations

import gc
import sys
import time
import types
from dataclasses import dataclass
from typing import Any

from . import codescan, kinds

_SCALARS = frozenset({int, float, complex, str, bytes, bool, type(None)})
_BACKING = ("_ndarray", "_data", "_codes", "_mask")
_CONTAINERS = (list, tuple, dict, set, frozenset)


def likely(value: Any) -> bool:
    """By type alone: an array or frame whose reach `reach` can usually recompute."""
    t = type(value)
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    return (np is not None and t is np.ndarray) or (pd is not None and t in (pd.DataFrame, pd.Series))


def unshareable(value: Any) -> bool:
    """Scalars, modules, and classes/functions referenced by name: nothing in them can be
    shared with another variable and changed through it."""
    t = type(value)
    if t in _SCALARS or t is types.ModuleType:
        return True
    if isinstance(value, type) or t in (types.FunctionType, types.BuiltinFunctionType):
        return kinds.importable(value)
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.generic) and not isinstance(value, np.object_)


def reach(value: Any) -> frozenset[int] | None:
    if unshareable(value):
        return frozenset()
    t = type(value)
    if isinstance(value, type) or t in (types.FunctionType, types.BuiltinFunctionType):
        return None
    figure = kinds.figure_reach(value)
    if figure is not None:
        return figure
    np = sys.modules.get("numpy")
    if np is not None and t is np.ndarray:
        return None if value.dtype.hasobject else frozenset(_roots(value, np))
    pd = sys.modules.get("pandas")
    if pd is not None and t in (pd.DataFrame, pd.Series):
        try:
            return _frame(value, pd, np)
        except Exception:
            return None
    return None


def _roots(a: Any, np: Any) -> set[int]:
    out = {id(a)}
    b = a.base
    while isinstance(b, np.ndarray):
        out.add(id(b))
        b = b.base
    if b is not None:
        out.add(id(b))  # a foreign buffer owner (mmap, bytes, another library's array)
    return out


def _frame(df: Any, pd: Any, np: Any) -> frozenset[int] | None:
    if df.attrs:
        return None
    axes = [df.index] + ([df.columns] if isinstance(df, pd.DataFrame) else [])
    if any(ax.dtype == object for ax in axes):
        return None
    out = {id(df)}
    for blk in df._mgr.blocks:
        vals = blk.values
        dtype = getattr(vals, "dtype", None)
        if dtype == object or getattr(getattr(dtype, "categories", None), "dtype", None) == object:
            return None  # object cells (or categories) could hold anything
        if isinstance(vals, np.ndarray):
            out |= _roots(vals, np)
            continue
        out.add(id(vals))
        for name in _BACKING:
            inner = _stored(vals, name)
            if isinstance(inner, np.ndarray):
                if inner.dtype.hasobject and not _strings(vals, pd):
                    return None
                out |= _roots(inner, np)
    return frozenset(out)


def _strings(vals: Any, pd: Any) -> bool:
    """A pandas string array: its object buffer holds only str (immutable) and missing values."""
    return isinstance(vals.dtype, pd.StringDtype)


def _stored(obj: Any, name: str) -> Any:
    """An attribute stored on the instance or in a slot, never a computed property."""
    d = getattr(obj, "__dict__", None)
    if isinstance(d, dict) and name in d:
        return d[name]
    for klass in type(obj).__mro__:
        desc = klass.__dict__.get(name)
        if desc is not None:
            if isinstance(desc, (types.MemberDescriptorType, types.GetSetDescriptorType)):
                try:
                    return desc.__get__(obj, type(obj))
                except Exception:
                    return None
            return None
    return None


@dataclass(frozen=True)
class Walked:
    ids: frozenset[int]
    code_names: frozenset[str]
    code_loads: frozenset[str]
    code_dynamic: bool


def walk(value: Any, user_ns: dict[str, Any] | None, limit: int, deadline: float) -> Walked | None:
    np = sys.modules.get("numpy")
    ndarray = np.ndarray if np is not None else ()
    seen: set[int] = set()
    names: set[str] = set()
    loads: set[str] = set()
    dynamic = False
    stack = [value]
    pops = 0
    while stack:
        o = stack.pop()
        pops += 1
        if not pops & 127 and time.perf_counter() > deadline:
            return None
        oid = id(o)
        t = type(o)
        if oid in seen or t in _SCALARS or t is types.ModuleType or o is user_ns:
            continue
        if isinstance(o, type):
            if not kinds.is_user_class(o):
                continue
        elif t in (types.FunctionType, types.BuiltinFunctionType) and not kinds.is_user_function(o, user_ns):
            continue
        elif (t is tuple or t is frozenset) and all(type(x) in _SCALARS for x in o):
            continue
        elif kinds.immutable_library_object(o):
            continue
        seen.add(oid)
        if len(seen) > limit:
            return None
        if t is types.FunctionType:
            s = codescan.summary(o.__code__)
            names |= s.names
            loads |= s.loads
            dynamic |= s.dynamic
            stack.extend(x for x in (o.__defaults__, o.__kwdefaults__, o.__closure__, o.__dict__) if x)
            continue
        if isinstance(o, ndarray):
            if o.base is not None:
                stack.append(o.base)
            if o.dtype.hasobject:
                if o.size > limit:
                    return None
                stack.extend(o.flat)
        if t in _CONTAINERS and len(o) > limit:
            return None  # cannot finish within `limit`; and listing its children would cost memory
        stack.extend(gc.get_referents(o))
    return Walked(frozenset(seen), frozenset(names), frozenset(loads), dynamic)
