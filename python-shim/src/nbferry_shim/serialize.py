"""The checkpoint pickler: protocol 5, out-of-band buffers, identity-preserving reductions.

* Notebook functions (their `__globals__` is the user namespace) are pickled by value and
  rebuilt bound to the *target* kernel's user namespace, so they keep reading live globals
  (cloudpickle would give them a private copy of their globals).
* Notebook classes are pickled by value (skeleton + attributes set afterwards, cycle safe).
* numpy views of an ndarray root are rebuilt as views of the same root, so `X.base is a`
  survives. pandas' internal arrays are excluded: under copy-on-write pandas tracks sharing
  itself, and re-linking memory behind its back would let later writes leak between frames.
* Object arrays of strings (pandas text columns) are pickled as one out-of-band buffer of their
  text (textarrays.py), so an unchanged column has the same bytes whatever else the group holds.
* cloudpickle (when importable) handles what remains (lambdas of other dynamic modules...).
Rebuild helpers live in this module, which is installed in every kernel that loads blobs.
"""

from __future__ import annotations

import functools
import importlib
import io
import marshal
import pickle
import sys
import types
import weakref
from typing import Any

from . import files, kinds, reduced, textarrays, weakrefs

_EMPTY = ("\x00nbferry-empty-cell",)


def _base_pickler() -> type:
    try:
        import cloudpickle  # type: ignore[import-not-found]

        return cloudpickle.Pickler  # type: ignore[no-any-return]
    except Exception:
        return pickle.Pickler


def pickler_name() -> str:
    return "cloudpickle" if _base_pickler() is not pickle.Pickler else "pickle"


def target_globals() -> dict[str, Any]:
    """The user namespace functions are rebound to when loaded."""
    rt = sys.modules.get(__package__ + ".runtime") if __package__ else None
    shim = rt.current() if rt is not None else None  # type: ignore[attr-defined]
    if shim is not None:
        return shim.recorder.ns  # type: ignore[no-any-return]
    return sys.modules["__main__"].__dict__


# -- rebuild helpers (referenced by pickles) ------------------------------------------------------
def rebuild_function(code: bytes, name: str, qualname: str, module: str, ncells: int) -> types.FunctionType:
    closure = tuple(types.CellType() for _ in range(ncells)) if ncells else None
    fn = types.FunctionType(marshal.loads(code), target_globals(), name, None, closure)
    fn.__qualname__ = qualname
    fn.__module__ = module
    return fn


def set_function_state(fn: types.FunctionType, state: tuple[Any, ...]) -> None:
    defaults, kwdefaults, cells, fdict, annotations, doc = state
    fn.__defaults__ = defaults
    fn.__kwdefaults__ = kwdefaults
    for cell, value in zip(fn.__closure__ or (), cells or ()):
        if value != _EMPTY:
            cell.cell_contents = value
    if fdict:
        fn.__dict__.update(fdict)
    if annotations:
        fn.__annotations__ = annotations
    fn.__doc__ = doc


def rebuild_class(meta: type, name: str, qualname: str, module: str, bases: tuple[type, ...],
                  slots: Any) -> type:
    ns: dict[str, Any] = {"__module__": module, "__qualname__": qualname}
    if slots is not None:
        ns["__slots__"] = slots
    return meta(name, bases, ns)


def set_class_state(cls: type, items: tuple[tuple[str, Any], ...]) -> None:
    for k, v in items:
        setattr(cls, k, v)


def rebuild_view(root: Any, offset: int, shape: tuple[int, ...], strides: tuple[int, ...], dtype: Any,
                 writeable: bool) -> Any:
    np = sys.modules["numpy"]
    arr = np.ndarray(shape, dtype=dtype, buffer=root, offset=offset, strides=strides)
    if not writeable:
        arr.flags.writeable = False
    return arr


def rebuild_array(buf: Any, dtype: Any, shape: tuple[int, ...], order: str, writeable: bool) -> Any:
    """A root array over the out-of-band buffer: its base is the buffer, not another ndarray,
    so views rebuilt on top of it get it as their `.base` (numpy collapses ndarray chains)."""
    np = sys.modules["numpy"]
    arr = np.ndarray(shape, dtype=dtype, buffer=buf, order=order)
    if not writeable:
        arr.flags.writeable = False
    return arr


def _cell_value(c: types.CellType) -> Any:
    try:
        return c.cell_contents
    except ValueError:
        return _EMPTY


class Unserializable(pickle.PicklingError):
    pass


def make_pickler(file: Any, user_ns: dict[str, Any] | None, buffer_callback: Any) -> pickle.Pickler:
    base = _base_pickler()

    class CheckpointPickler(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__(file, protocol=5, buffer_callback=buffer_callback)
            self.user_ns = user_ns
            self.exempt: set[int] = set()
            self._np = sys.modules.get("numpy")
            self._pd = sys.modules.get("pandas")
            # Types known to be picklable (unserializable_reason depends on the type alone, but
            # for files): a figure has ~30,000 objects of a few dozen types.
            self._fine_types: set[type] = set()
            # Objects weakly referenced from the group, by id: checked after the dump (weakrefs.py).
            self.weak_targets: dict[int, Any] = {}

        def reducer_override(self, obj: Any) -> Any:
            if reduced.MEMO.active:
                rv = reduced.MEMO.get(obj)
                if rv is not None:
                    return rv
            t = type(obj)
            if t is types.FunctionType and kinds.is_user_function(obj, self.user_ns) and obj.__globals__ is self.user_ns:
                return _reduce_function(obj)
            if isinstance(obj, type) and kinds.is_user_class(obj) and not _is_enum(obj) \
                    and obj.__module__ == "__main__":
                return _reduce_class(obj)
            if t is _LRU_WRAPPER:
                fn = getattr(obj, "__wrapped__", None)
                if type(fn) is types.FunctionType and kinds.is_user_function(fn, self.user_ns) \
                        and fn.__globals__ is self.user_ns:
                    return _reduce_lru_cache(obj, fn)
            np = self._np
            if np is not None and t is np.ndarray:
                rv = textarrays.reduce_text_array(obj) if obj.dtype == object else self._view(obj)
                if rv is not None:
                    return rv
            elif self._pd is not None and _is_pandas_frame(obj):
                self.note_pandas(obj)
            elif t in files.FILE_TYPES:
                rv = files.reduce_closed(obj)  # None for open files: refused just below
                if rv is not None:
                    return rv
            elif t is types.ModuleType and kinds.importable_module(obj):
                # By name: loading imports it. Saved only when the planner chose to (see measure).
                return (importlib.import_module, (obj.__name__,))
            elif t is weakref.ref or t in weakrefs.WEAK_CONTAINERS:
                return weakrefs.reduce_weak(obj, t, self.weak_targets)
            if t not in self._fine_types:
                reason = kinds.unserializable_reason(obj)
                if reason is not None and not (reason == "module" and base is not pickle.Pickler):
                    raise Unserializable(f"{reason}: {t.__module__}.{t.__qualname__}")
                if reason is None and not issubclass(t, io.IOBase):
                    self._fine_types.add(t)
            if base is pickle.Pickler:
                return NotImplemented
            return super().reducer_override(obj)

        def note_pandas(self, obj: Any) -> None:
            try:
                for blk in obj._mgr.blocks:
                    v = blk.values
                    while v is not None:
                        self.exempt.add(id(v))
                        v = getattr(v, "base", None)
            except Exception:
                pass

        def _view(self, a: Any) -> Any:
            np = self._np
            root = a.base
            if id(a) in self.exempt or a.dtype.hasobject:
                return None
            if root is None:
                if not (a.flags.c_contiguous or a.flags.f_contiguous) or a.dtype.fields is not None:
                    return None
                order = "C" if a.flags.c_contiguous else "F"
                # datetime64/timedelta64 cannot export a buffer: export their int64 bytes instead.
                raw = a.view(np.int64) if a.dtype.kind in "Mm" else a
                return (rebuild_array, (pickle.PickleBuffer(raw), a.dtype, a.shape, order, bool(a.flags.writeable)))
            while isinstance(root, np.ndarray) and root.base is not None:
                root = root.base
            if type(root) is not np.ndarray or id(root) in self.exempt:
                return None
            if not (root.flags.c_contiguous or root.flags.f_contiguous):
                return None
            offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
            return (rebuild_view, (root, offset, a.shape, a.strides, a.dtype, bool(a.flags.writeable)))

    return CheckpointPickler()


def _is_enum(cls: type) -> bool:
    enum = sys.modules.get("enum")
    return bool(enum is not None and isinstance(cls, enum.EnumMeta))


def _is_pandas_frame(obj: Any) -> bool:
    pd = sys.modules.get("pandas")
    return bool(pd is not None and isinstance(obj, (pd.DataFrame, pd.Series)))


def _reduce_function(fn: types.FunctionType) -> Any:
    cells = tuple(_cell_value(c) for c in fn.__closure__) if fn.__closure__ else None
    state = (fn.__defaults__, fn.__kwdefaults__, cells, dict(fn.__dict__) or None,
             dict(getattr(fn, "__annotations__", None) or {}) or None, fn.__doc__)
    return (rebuild_function,
            (marshal.dumps(fn.__code__), fn.__name__, fn.__qualname__, fn.__module__,
             len(fn.__closure__ or ())),
            state, None, None, set_function_state)


# @functools.lru_cache / @functools.cache: pickled by name (`__main__.f`), which a new kernel does not
# have until the cell defining it runs again; saved instead as the function and the cache settings.
_LRU_WRAPPER = type(functools.lru_cache(maxsize=None)(lambda: None))


def rebuild_lru_cache(fn: types.FunctionType, maxsize: int | None, typed: bool) -> Any:
    return functools.lru_cache(maxsize=maxsize, typed=typed)(fn)


def _reduce_lru_cache(wrapper: Any, fn: types.FunctionType) -> Any:
    """The cache's contents are not saved: the loaded function computes them again when called."""
    params = wrapper.cache_parameters()
    return (rebuild_lru_cache, (fn, params.get("maxsize"), bool(params.get("typed"))))


def _reduce_class(cls: type) -> Any:
    slots = cls.__dict__.get("__slots__")
    skip = {"__dict__", "__weakref__", "__module__", "__qualname__", "__slots__"}
    slot_names = {slots} if isinstance(slots, str) else set(slots or ())
    items = tuple((k, v) for k, v in cls.__dict__.items()
                  if k not in skip and k not in slot_names and not k.startswith("_abc_"))
    return (rebuild_class, (type(cls), cls.__name__, cls.__qualname__, cls.__module__, cls.__bases__, slots),
            items, None, None, set_class_state)


def dumps_group(values: dict[str, Any], user_ns: dict[str, Any] | None, file: Any,
                buffer_callback: Any) -> None:
    """Pickle one group (a dict name -> value) so shared objects stay shared."""
    p = make_pickler(file, user_ns, buffer_callback)
    for v in values.values():  # pandas first-touch: mark its internal arrays before any view of them
        if _is_pandas_frame(v):
            p.note_pandas(v)  # type: ignore[attr-defined]
    p.dump(values)
    targets = p.weak_targets  # type: ignore[attr-defined]
    if targets:
        why = weakrefs.check_targets(values, targets, user_ns)
        targets.clear()
        if why is not None:
            raise Unserializable(why)


def loads_group(data: Any, buffers: list[Any]) -> dict[str, Any]:
    out = pickle.loads(data, buffers=buffers)
    if not isinstance(out, dict):
        raise pickle.UnpicklingError("blob does not hold a name -> value map")
    return out


def to_bytes(values: dict[str, Any], user_ns: dict[str, Any] | None) -> tuple[bytes, list[pickle.PickleBuffer]]:
    bio = io.BytesIO()
    bufs: list[pickle.PickleBuffer] = []
    dumps_group(values, user_ns, bio, bufs.append)
    return bio.getvalue(), bufs
