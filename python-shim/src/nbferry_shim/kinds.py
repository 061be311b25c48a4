"""Type facts shared by probing, measuring and saving: atoms, importability, unserializable kinds.

Type-specific checks only look at modules already in sys.modules (never import pandas or
numpy just to isinstance-check).
"""

from __future__ import annotations

import io
import sys
import types
import weakref
from typing import Any

from . import files

ATOMS: frozenset[type] = frozenset({int, float, str, bytes, bool, type(None), complex, range, slice,
                                    type(Ellipsis), type(NotImplemented)})
SKIP_SHARING: tuple[type, ...] = (types.ModuleType, types.BuiltinFunctionType, types.CodeType,
                                  types.MethodWrapperType, types.WrapperDescriptorType,
                                  types.MethodDescriptorType, types.GetSetDescriptorType,
                                  types.MemberDescriptorType)
_GENERATORS = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
_LOCK_TYPES: tuple[type, ...] = ()
try:
    import _thread

    _LOCK_TYPES = (type(_thread.allocate_lock()), type(_thread.RLock()))
except Exception:  # pragma: no cover
    pass


def importable(obj: Any) -> bool:
    """True if pickle can reference obj by module + qualname (without importing anything)."""
    mod = getattr(obj, "__module__", None)
    qn = getattr(obj, "__qualname__", None)
    if not isinstance(mod, str) or not isinstance(qn, str) or mod == "__main__" or "<" in qn:
        return False
    m = sys.modules.get(mod)
    if m is None:
        return False
    target: Any = m
    try:
        for part in qn.split("."):
            target = getattr(target, part)
    except AttributeError:
        return False
    return target is obj


def is_user_function(obj: Any, user_ns: dict[str, Any] | None) -> bool:
    return type(obj) is types.FunctionType and (obj.__globals__ is user_ns or not importable(obj))


def is_user_class(obj: Any) -> bool:
    return isinstance(obj, type) and not importable(obj) and obj.__module__ != "builtins"


def importable_module(obj: Any) -> bool:
    """A module another kernel can get back by importing its name (not __main__, not one built by
    hand with types.ModuleType, which has no spec)."""
    name = getattr(obj, "__name__", None)
    return (type(obj) is types.ModuleType and isinstance(name, str) and name != "__main__"
            and sys.modules.get(name) is obj and getattr(obj, "__spec__", None) is not None)


def unserializable_reason(obj: Any) -> str | None:
    """Known kinds that cannot be pickled by any of our picklers; None if not known-bad."""
    t = type(obj)
    if t in ATOMS:
        return None
    if isinstance(obj, _GENERATORS):
        return "generator" if t is types.GeneratorType else t.__name__
    if t is types.ModuleType:
        return "module"
    if t in (types.FrameType, types.TracebackType):
        return t.__name__
    if _LOCK_TYPES and isinstance(obj, _LOCK_TYPES):
        return "lock"
    if isinstance(obj, io.IOBase):
        if not getattr(obj, "closed", False):
            return "open file"
        return None if files.closed_file_state(obj) is not None else "closed file"
    mods = sys.modules
    if "mmap" in mods and isinstance(obj, mods["mmap"].mmap):
        return "mmap"
    if "socket" in mods and isinstance(obj, mods["socket"].socket):
        return "socket"
    if "sqlite3" in mods:
        sq = mods["sqlite3"]
        if isinstance(obj, (sq.Connection, sq.Cursor)):
            return "database connection"
    if "threading" in mods:
        th = mods["threading"]
        if isinstance(obj, th.Thread):
            return "thread"
    if "subprocess" in mods and isinstance(obj, mods["subprocess"].Popen):
        return "subprocess"
    # A plain weakref is not known-bad: the pickler saves it when its target is in the same group
    # (weakrefs.py). Its subclasses (WeakMethod, KeyedRef) and proxies are.
    if isinstance(obj, (types.FrameType, memoryview)) or (
            t.__name__ in ("weakref", "ReferenceType", "KeyedRef", "WeakMethod", "weakproxy", "weakcallableproxy")
            and t is not weakref.ref):
        return t.__name__
    return None


def unstable_types() -> frozenset[type]:
    """Library types whose pickled state is not a function of their content, so no digest of
    them can prove equality (in one kernel or across two). matplotlib's CallbackRegistry (in
    every Figure and Axes) advances a counter each time it is pickled."""
    cbook = sys.modules.get("matplotlib.cbook")
    reg = getattr(cbook, "CallbackRegistry", None)
    return frozenset({reg}) if isinstance(reg, type) else frozenset()


def top_package(obj: Any) -> str:
    mod = getattr(type(obj), "__module__", "") or ""
    return mod.split(".", 1)[0]


_class_attr_ids: dict[type, frozenset[int]] = {}


def library_class_state(cls: type) -> frozenset[int]:
    """ids of non-atom class attributes of a library class (e.g. pandas' `_metadata` list):
    every instance's pickle reaches them, but they are library state, not shared user data."""
    ids = _class_attr_ids.get(cls)
    if ids is None:
        acc: set[int] = set()
        for klass in getattr(cls, "__mro__", ()):
            if klass is object:
                continue
            for v in vars(klass).values():
                if type(v) not in ATOMS and not callable(v):
                    acc.add(id(v))
        ids = _class_attr_ids[cls] = frozenset(acc)
    return ids


def immutable_library_object(obj: Any) -> bool:
    """Library objects whose identity cannot matter to the user (dtypes, pandas Index)."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, np.dtype):
        return True
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(obj, (pd.Index, pd.api.extensions.ExtensionDtype)):
        return True
    return False


_MAX_ARTISTS = 10_000
FIGURE_OPAQUE = "matplotlib artist: figure state has no comparable fingerprint"


def figure_reach(obj: Any) -> frozenset[int] | None:
    """For matplotlib artists (figures, axes, lines) and containers of them (`plt.subplots`'
    array of axes): ids that tie every artist to its figure, so a figure and its axes stay one
    shared-reference group. None for anything else.

    Fingerprinting a figure walks tens of thousands of objects only to end opaque (its
    CallbackRegistry pickles differently each time), and its sharing with user data is
    incidental (a line may hold the array it plotted): neither is worth a pass per cell, so
    artists are never hashed, count as modified whenever a cell could touch them, and share
    only their figure."""
    mpl_artist = sys.modules.get("matplotlib.artist")
    artist = getattr(mpl_artist, "Artist", None)
    if not isinstance(artist, type):
        return None
    try:
        return _figure_reach(obj, artist)
    except Exception:  # a hostile __class__ or __getattr__: not an artist as far as we can tell
        return None


def _figure_reach(obj: Any, artist: type) -> frozenset[int] | None:
    if isinstance(obj, artist):
        return frozenset({id(obj), id(_figure_of(obj))})
    np = sys.modules.get("numpy")
    if np is not None and type(obj) is np.ndarray:
        # The first element rules out most object arrays (strings) before listing them all.
        if obj.dtype.hasobject and 0 < obj.size <= _MAX_ARTISTS and isinstance(obj.flat[0], artist):
            items = obj.ravel().tolist()
            if all(isinstance(x, artist) for x in items):
                return frozenset({id(obj)}).union(*({id(x), id(_figure_of(x))} for x in items))
        return None
    if type(obj) in (list, tuple) and 0 < len(obj) <= _MAX_ARTISTS and all(isinstance(x, artist) for x in obj):
        return frozenset({id(obj)}).union(*({id(x), id(_figure_of(x))} for x in obj))
    return None


def _figure_of(a: Any) -> Any:
    fig = getattr(a, "figure", None)
    root = getattr(fig, "figure", None)  # a SubFigure's root figure (a Figure is its own)
    return root if root is not None else (fig if fig is not None else a)
