"""One pickle-driven pass over a variable's value: content fingerprint + sharing + user code.

The pass is `pickle.Pickler.dump` into a hashing sink, so it sees exactly what the serializer
sees (numpy bases, pandas blocks, private attributes, `__reduce__` state) at C speed, with O(1)
output memory (plus pickle's memo). Two hooks observe it:

* `persistent_id` is called for every object. It records ids of objects that may be shared
  with another variable: an object reachable from two variables has, at the topmost shared
  point, two referrers. Containers check their children's refcounts exactly (parent-aware);
  other objects check their own refcount against a calibrated baseline. Sets are replaced by a
  canonical sorted form so fingerprints do not depend on hash randomization.
* `reducer_override` makes the digest content-based and process-independent: user functions
  and classes by value (code, defaults, closure), modules by name, numpy arrays by dtype/shape/
  data digest (layout independent, no copy when contiguous), unpicklable kinds as opaque markers.
  Reduction failures are contained per object, so one bad attribute does not blind the pass.

Nothing here mutates or copies user objects (only bounded 4 MiB chunks of non-contiguous arrays).
"""

from __future__ import annotations

import copyreg
import gc
import pickle
import sys
import time
import types
import weakref
from dataclasses import dataclass, field
from sys import getrefcount
from typing import Any, Iterable

from . import arraymemo, arraysum, codescan, faithful, files, hashing, kinds, reduced, weakrefs
from .budget import OverBudget
from .pinned import PinnedDigests
from .userbound import Bounded, UserCodeOverBudget

_ATOMS = kinds.ATOMS
_FunctionType = types.FunctionType
_NOT = NotImplemented


@dataclass
class Probe:
    digest: str | None  # "algo:hex", None if the value could not be fingerprinted
    opaque: list[str] = field(default_factory=list)  # parts whose content the digest cannot see
    shared: frozenset[int] = frozenset()
    code_names: frozenset[str] = frozenset()  # loaded, stored or deleted by reachable user code
    code_loads: frozenset[str] = frozenset()
    code_dynamic: bool = False
    nondet: tuple[str, ...] = ()
    unserializable: str | None = None
    has_views: bool = False
    error: str | None = None
    seconds: float = 0.0
    digested: bool = True  # False for reach-only probes (attach-time scan) and unhashed ones
    aborted: bool = False  # the pass ran past its deadline: nothing here is complete
    arrays: frozenset[int] = frozenset()  # ids of arrays whose digests went through the ArrayCache
    unfaithful: str | None = None  # why an intact load might not rebuild this value exactly (faithful.py)
    estimate: float | None = None  # unhashed entries: expected seconds of a full pass (backed off)

    @property
    def reliable(self) -> bool:
        """A digest that can prove "unchanged"."""
        return self.digest is not None and not self.opaque


def _scan_children(it: Iterable[Any], base: int, add: Any) -> None:
    for c in it:
        if type(c) in _ATOMS:
            continue
        if getrefcount(c) > base:
            add(c)


def _calibrate() -> tuple[int, int]:
    """Refcount of an unshared child seen (a) by its parent's scan and (b) by itself."""
    probe_obj: list[Any] = [[]]
    seen_scan: list[int] = []

    def rec(c: Any) -> None:  # only called if the baseline guess is too low
        seen_scan.append(1)

    base = 0
    while True:
        seen_scan.clear()
        _scan_children(probe_obj, base, rec)
        if not seen_scan:
            break
        base += 1

    class _Cal(pickle.Pickler):
        count = 0

        def persistent_id(self, obj: Any) -> None:
            if obj is marker:
                _Cal.count = getrefcount(obj)
            return None

    marker: list[Any] = []

    class _Null:
        def write(self, b: Any) -> int:
            return len(b)

    _Cal(_Null(), protocol=5).dump([marker])
    del marker
    return base, _Cal.count - 1  # minus the `marker` local above


SCAN_BASE, SELF_BASE = _calibrate()


GAVE_UP = "gave up: notebook code it calls (__reduce__, __getstate__, ...) ran past the time budget"


class _Opaque(Exception):
    pass


class DigestPickler(pickle.Pickler):
    def __init__(self, sink: Any, user_ns: dict[str, Any] | None, algo: str, digest: bool = True) -> None:
        super().__init__(sink, protocol=5, buffer_callback=self._buffer)
        self.user_ns = user_ns
        self.algo = algo
        self.digest = digest
        self.shared: set[int] = set()
        self.code_names: set[str] = set()
        self.code_loads: set[str] = set()
        self.code_dynamic = False
        self.nondet: list[str] = []
        self.opaque: list[str] = []
        self.unser: str | None = None
        self.unfaithful: str | None = None
        self.has_views = False
        self.hasher = getattr(sink, "h", None)
        self.cache: ArrayCache | None = None
        self.use_cache = False
        self.fresh: set[int] = set()
        self.arrays: set[int] = set()
        self.deadline: float | None = getattr(sink, "deadline", None)
        self._np: Any = sys.modules.get("numpy")
        self._visit: dict[int, int] = {}
        self._ordinal = 0  # non-atom objects visited so far (back-reference numbering)
        self.ignore: set[int] = set()  # immutable library internals reached through this value
        self._lib_state: set[int] = set()
        self._seen_types: set[type] = set()
        self._pd: Any = sys.modules.get("pandas")
        self._masked_type: Any = getattr(sys.modules.get("numpy.ma"), "MaskedArray", None)
        self._unstable = kinds.unstable_types()
        self._libs_loaded = self._np is not None or self._pd is not None
        self.fast = True  # no memo: O(1) memory, and equal content gives equal bytes

    # -- sharing ---------------------------------------------------------------------------
    def persistent_id(self, obj: Any) -> Any:
        t = type(obj)
        if t in _ATOMS:
            return None
        oid = id(obj)
        ordinal = self._ordinal
        self._ordinal += 1
        if not ordinal & 7 and self.deadline is not None and time.perf_counter() > self.deadline:
            raise OverBudget()  # often: library __reduce__/__getstate__ code between objects can be slow
        if getrefcount(obj) > SELF_BASE and not isinstance(obj, kinds.SKIP_SHARING):
            self._note_shared(obj, t)
        if oid in self.shared:
            # The memo is off (identity-independent digests): a shared object met again becomes a
            # back-reference to the ordinal of its first visit. This also breaks cycles and DAG
            # blow-ups. The ordinal counts every non-atom object, not only shared ones: whether an
            # object counts as shared depends on references from outside the value (another
            # variable, a library cache), so numbering only those would change the digest of
            # the same content from one kernel to the next.
            idx = self._visit.get(oid)
            if idx is not None:
                return ("\x00again", idx)
            self._visit[oid] = ordinal
        if (t is list or t is dict) and len(obj) > 64:
            fast = self._atoms_only(obj, t)
            if fast is not None:
                return fast
        if t is list or t is tuple or t is dict or isinstance(obj, (list, tuple, dict, set, frozenset)):
            if isinstance(obj, dict):
                _scan_children(dict.values(obj), SCAN_BASE, self._flag)
                _scan_children(dict.keys(obj), SCAN_BASE, self._flag)
            else:
                _scan_children(obj, SCAN_BASE, self._flag)
            if self.digest and isinstance(obj, (set, frozenset)):
                return self._set_pid(obj)
        return None

    def _atoms_only(self, obj: Any, t: type) -> Any:
        """Big list/dict of plain scalars: hash it with the C pickler alone (no per-item hook)."""
        if t is dict:
            ts = set(map(type, obj.values()))
            ts.update(map(type, obj))
        else:
            ts = set(map(type, obj))
        if not ts <= _PLAIN:
            return None
        return ("\x00atoms", t.__name__, plain_digest(obj, self.algo, self.deadline) if self.digest else "")

    def _flag(self, c: Any) -> None:
        t = type(c)
        if not isinstance(c, kinds.SKIP_SHARING):
            self._note_shared(c, t)

    def _note_shared(self, obj: Any, t: type) -> None:
        oid = id(obj)
        if oid in self.ignore or oid in self._lib_state:
            return
        if (t is tuple or t is frozenset) and all(type(x) in _ATOMS for x in obj):
            return  # immutable and holds no references: identity cannot matter (e.g. `()`)
        if self._libs_loaded and kinds.immutable_library_object(obj):
            return
        if t is _FunctionType and not kinds.is_user_function(obj, self.user_ns):
            return
        if isinstance(obj, type) and not kinds.is_user_class(obj):
            return
        self.shared.add(id(obj))

    def _set_pid(self, s: Any) -> Any:
        """Canonical, hash-seed independent stand-in for a set (digest mode only)."""
        try:
            items: Any = tuple(sorted(s))
        except Exception:
            items = tuple(sorted((sub_digest(x, self.user_ns, self.algo, self.deadline) or "?") for x in s))
        return ("\x00set", type(s).__name__, items)

    # -- digest-stable reductions ----------------------------------------------------------
    def reducer_override(self, obj: Any) -> Any:
        t = type(obj)
        if t is _FunctionType:
            return self._function(obj)
        if isinstance(obj, type):
            return self._class(obj) if kinds.is_user_class(obj) else _NOT
        np = self._np
        if np is not None and t is np.ndarray:
            return self._ndarray(obj)
        if t is self._masked_type:
            rv = self._masked(obj)
            if rv is not None:
                return rv
        if t is types.ModuleType:
            return (tuple, (("\x00module", obj.__name__),))
        if t is types.CodeType:
            return (tuple, (_code_tuple(obj),))
        if t is types.CellType:
            try:
                v = obj.cell_contents
            except ValueError:
                return (tuple, (("\x00cell", "empty"),))
            if (isinstance(v, type) and kinds.is_user_class(v)) or kinds.is_user_function(v, self.user_ns):
                return (tuple, (("\x00cell-ref", v.__qualname__),))
            return (tuple, (("\x00cell",),), v)
        if t is property:
            return (tuple, (("\x00property",),), (obj.fget, obj.fset, obj.fdel, obj.__doc__))
        if t is staticmethod or t is classmethod:
            return (tuple, (("\x00" + t.__name__,),), obj.__func__)
        if t is types.MemberDescriptorType or t is types.GetSetDescriptorType:
            return (tuple, (("\x00descriptor", obj.__name__),))
        if t in (types.BuiltinFunctionType, types.MethodDescriptorType, types.WrapperDescriptorType,
                 types.ClassMethodDescriptorType):
            # Referenced by name when pickle can; a bound builtin method reduces to its __self__.
            if kinds.importable(obj) or not isinstance(getattr(obj, "__self__", None), (type(None), types.ModuleType)):
                return _NOT
            return (tuple, (("\x00builtin", getattr(obj, "__qualname__", repr(obj))),))
        if t in files.FILE_TYPES:
            key = files.fingerprint_key(obj)  # closed: content is (type, name, mode, closed)
            if key is not None:
                return (tuple, (key,))
        if t is weakref.ref or t in weakrefs.WEAK_CONTAINERS:
            return self._weak(obj, t)
        reason = kinds.unserializable_reason(obj)
        if reason is not None:
            return self._opaque(obj, reason)
        if t in self._unstable:  # its pickle is not a function of its content: never call it
            return self._opaque(obj, f"unstable: {t.__module__}.{t.__qualname__}", serializable=True)
        if t not in self._seen_types:
            self._seen_types.add(t)
            if kinds.importable(t):
                self._lib_state |= kinds.library_class_state(t)
        if self._pd is not None and isinstance(obj, self._pd.Index):
            self._ignore_index(obj)
        return self._generic(obj, t)

    def _weak(self, obj: Any, t: type) -> Any:
        """A weak reference digests as its target's content, and ties the target to this
        variable's sharing: saved in one group, the weakref is rebuilt to the restored target
        (weakrefs.py). Weak sets digest their members' digests sorted (their order is by hash)."""
        if t is weakref.ref:
            target = obj()
            if target is None:
                return (tuple, (("\x00weakref", "dead"),))
            if type(target) not in _ATOMS:
                self.shared.add(id(target))
            return (tuple, (("\x00weakref",),), target)
        if t is weakref.WeakSet:
            members = list(obj)
            self.shared.update(id(m) for m in members if type(m) not in _ATOMS)
            digests = sorted((sub_digest(m, self.user_ns, self.algo, self.deadline) or "?") for m in members)
            return (tuple, (("\x00weakset",),), digests)
        items = list(obj.items())
        weak = 0 if t is weakref.WeakKeyDictionary else 1
        self.shared.update(id(kv[weak]) for kv in items if type(kv[weak]) not in _ATOMS)
        return (tuple, (("\x00" + t.__name__,),), items)

    def _ignore_index(self, idx: Any) -> None:
        """A pandas Index is immutable: sharing one (df.copy() does) is not user-visible sharing.
        Only instance attributes already present are read: RangeIndex._data, for one, is a lazy
        property that would materialize (and cache) the whole index."""
        stack = [_own_attr(idx, "_data")]
        while stack:
            x = stack.pop()
            if x is None or type(x) in _ATOMS:
                continue
            self.ignore.add(id(x))
            np = self._np
            if np is not None and isinstance(x, np.ndarray):
                stack.append(x.base)
            else:
                stack.extend(_own_attr(x, a) for a in ("_ndarray", "_data", "_mask"))

    def _opaque(self, obj: Any, reason: str, serializable: bool = False) -> Any:
        if self.unser is None and not serializable:
            self.unser = reason
        self.opaque.append(reason)
        return (tuple, (("\x00opaque", type(obj).__module__, type(obj).__qualname__),))

    def _generic(self, obj: Any, t: type) -> Any:
        if self.unfaithful is None:
            why = faithful.unfaithful_reason(t)
            if why is not None and not kinds.importable(obj):  # a function pickled by name is itself
                self.unfaithful = why
        rv = reduced.MEMO.get(obj) if reduced.MEMO.active else None
        if rv is None:
            try:
                reduce = copyreg.dispatch_table.get(t)
                rv = reduce(obj) if reduce is not None else obj.__reduce_ex__(5)
            except Exception as e:
                return self._opaque(obj, f"reduce failed: {type(e).__name__}: {e}"[:200])
            if reduced.MEMO.active and kinds.is_user_class(t):
                reduced.MEMO.record(obj, rv)  # later passes of this measure reuse it: the hook runs once
        if isinstance(rv, str):
            return _NOT if kinds.importable(obj) else self._opaque(obj, "not importable")
        if not isinstance(rv, tuple) or len(rv) < 2:
            return self._opaque(obj, "bad reduce value")
        fn = rv[0]
        if isinstance(fn, _FunctionType) and not kinds.importable(fn):
            # A dynamic reconstructor (cannot be referenced): hash it by value instead.
            return (tuple, (("\x00reduce",),), rv)
        return rv

    def _function(self, fn: types.FunctionType) -> Any:
        if not kinds.is_user_function(fn, self.user_ns):
            return _NOT
        s = codescan.summary(fn.__code__)
        self.code_names |= s.names
        self.code_loads |= s.loads
        self.code_dynamic |= s.dynamic
        self.nondet.extend(s.nondet)
        state = (fn.__code__, fn.__defaults__, fn.__kwdefaults__, fn.__closure__,
                 fn.__dict__ or None, getattr(fn, "__annotations__", None) or None)
        return (tuple, (("\x00function", fn.__module__, fn.__qualname__),), state)

    def _class(self, cls: type) -> Any:
        items = []
        for k, v in cls.__dict__.items():
            if k in ("__dict__", "__weakref__", "__slotnames__") or k.startswith("_abc_"):
                continue
            items.append((k, v))
        items.sort(key=lambda kv: kv[0])
        return (tuple, (("\x00class", cls.__module__, cls.__qualname__),), (cls.__bases__, tuple(items)))

    def _ndarray(self, a: Any) -> Any:
        root = a
        while True:
            b = getattr(root, "base", None)
            if b is None:
                break
            root = b
            if type(b) is not self._np.ndarray:
                break
        if root is not a and id(root) not in self.ignore and id(a) not in self.ignore:
            self.has_views = True
            self.shared.add(id(root))
        if a.dtype.hasobject:
            if a.dtype.fields is None and a.size > 64:
                if self.deadline is not None and time.perf_counter() > self.deadline:
                    raise OverBudget()
                pins = self.cache.objects if self.cache is not None and self.digest else None
                key, hit = pins.get(self._np, a, self.algo) if pins is not None else (None, None)
                if hit is not None:  # the very same immutable objects as an array already hashed
                    return (tuple, ((hit[0], a.shape, hit[1]),))
                flat = a.ravel()
                text = text_digest(flat, self.algo, self.deadline) if self.digest else None
                if text is not None:  # pandas string columns, without missing values
                    if pins is not None:
                        pins.put(key, a, "\x00ndarray-text", text)
                    return (tuple, (("\x00ndarray-text", a.shape, text),))
                flat = flat.tolist()
                if set(map(type, flat)) <= _PLAIN:  # e.g. pandas string columns with NaN
                    d = plain_digest(flat, self.algo, self.deadline) if self.digest else ""
                    if pins is not None:
                        pins.put(key, a, "\x00ndarray-obj", d)
                    return (tuple, (("\x00ndarray-obj", a.shape, d),))
            return _NOT
        if not self.digest:
            return (tuple, (("\x00ndarray",),))
        return (tuple, (("\x00ndarray", a.dtype.str, a.dtype.descr if a.dtype.fields else None,
                         a.shape, self._array_digest(a, id(root))),))

    def _masked(self, m: Any) -> Any:
        """numpy.ma arrays by what they hold, normalized the way unpickling normalizes it: the
        fill value is None until first read (then the dtype default is cached on the object),
        and the mask may be the `nomask` singleton. sklearn's `cv_results_` holds these."""
        np = self._np
        ma = sys.modules["numpy.ma"]
        try:
            fv = m._fill_value
            fill = np.array(ma.default_fill_value(m.dtype) if fv is None else fv, dtype=m.dtype)
            mask = ma.getmaskarray(m)  # a new array when the mask is `nomask`; m is not changed
            data = np.ndarray.view(m, np.ndarray)
            hard = bool(m._hardmask)
            base = m._baseclass
        except Exception:
            return None  # unusual subclass state: the generic reduction below
        root = m.base
        while isinstance(root, np.ndarray) and root.base is not None:
            root = root.base
        if isinstance(root, np.ndarray) and id(root) not in self.ignore:
            self.has_views = True
            self.shared.add(id(root))  # a masked view of another array shares its memory
        return (tuple, (("\x00masked", base, hard), data, mask, fill))

    def _array_digest(self, a: Any, root_id: int) -> str:
        cache = self.cache
        if cache is not None:
            self.arrays.add(id(a))
            if self.use_cache:
                hit = cache.get(a, root_id, self.fresh)
                if hit is not None:
                    return hit
        if self.algo == RECORD_ALGO:
            d = arraysum.checksum(a, self.deadline)
        else:  # the same memory hashed for another variable of this request (arraymemo.py)
            k = arraymemo.key(a, self.algo)
            shared = arraymemo.get(k)
            if shared is None:
                shared = array_digest(a, self.algo, self.deadline)
                arraymemo.put(k, a, shared)
            d = shared
        if cache is not None:
            cache.put(a, root_id, d)
            if not self.use_cache:
                self.fresh.add(root_id)
        return d

    def _buffer(self, pb: pickle.PickleBuffer) -> bool:
        if self.hasher is None:
            return False
        try:
            mv = pb.raw()
        except BufferError:
            return True  # non-contiguous: let pickle serialize it in-band (and hash it)
        hashing.update_buffer(self.hasher, mv, self.deadline)
        return False


def _own_attr(obj: Any, name: str) -> Any:
    """A stored attribute (instance dict or C-level slot), never a property, lazy cache or
    __getattr__: reading must not compute or cache anything on user objects."""
    for klass in type(obj).__mro__:
        desc = klass.__dict__.get(name)
        if desc is None:
            continue
        if isinstance(desc, (types.MemberDescriptorType, types.GetSetDescriptorType)):
            try:
                return desc.__get__(obj, type(obj))
            except Exception:
                return None
        return None  # property / cached property / class attribute
    try:
        d = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return None
    return d.get(name) if isinstance(d, dict) else None


def _code_tuple(c: types.CodeType) -> tuple[Any, ...]:
    return ("\x00code", c.co_name, getattr(c, "co_qualname", c.co_name), c.co_argcount,
            c.co_posonlyargcount, c.co_kwonlyargcount, c.co_flags, c.co_code, c.co_consts,
            c.co_names, c.co_varnames, c.co_freevars, c.co_cellvars)


def array_digest(a: Any, algo: str, deadline: float | None = None) -> str:
    """Digest of an ndarray's elements, independent of memory layout (C order for views)."""
    np = sys.modules["numpy"]
    h = hashing.new_hasher(algo)
    if a.flags.c_contiguous or a.flags.f_contiguous:
        tag = b"C" if a.flags.c_contiguous else b"F"
        h.update(tag)
        if a.size:
            flat = a.ravel(order="K").view(np.uint8)
            hashing.update_buffer(h, memoryview(flat), deadline)
        return h.hexdigest()
    h.update(b"C")
    if a.ndim == 0 or a.size == 0:
        h.update(a.tobytes())
        return h.hexdigest()
    row = max(1, a.itemsize * (a.size // a.shape[0]))
    step = max(1, hashing.CHUNK // row)
    for i in range(0, a.shape[0], step):
        if deadline is not None and time.perf_counter() > deadline:
            raise OverBudget()
        chunk = np.ascontiguousarray(a[i : i + step])
        h.update(memoryview(chunk.ravel().view(np.uint8)))
    return h.hexdigest()


_PLAIN = frozenset({int, float, str, bytes, bool, type(None), complex})


def plain_digest(obj: Any, algo: str, deadline: float | None = None) -> str:
    """Digest of a container holding only plain scalars; memo off so string identity is moot."""
    h = hashing.new_hasher(hashing.DEFAULT_ALGO if algo == RECORD_ALGO else algo)
    p = pickle.Pickler(hashing.HashSink(h, deadline), protocol=5)
    p.fast = True
    p.dump(obj)
    return h.hexdigest()


TEXT_CHUNK = 1 << 15  # strings per join: about a MB of text, hot in cache


def text_digest(flat: Any, algo: str, deadline: float | None = None) -> str | None:
    """Digest of a 1-d object array (or list) of strings, about 3x faster than pickling it (2M
    short strings: 27 ms against 90 ms): joined with NUL, which is unambiguous when each join
    holds exactly one NUL per separator (no string contains one). Joined and hashed a chunk at a
    time, NUL between chunks too, so the bytes hashed are those of one whole join, without its
    whole-column temporaries (a list, the joined text, its UTF-8) whose first-touch page faults
    made a cold first hash two to three times slower. None when an item is not a string or
    holds a NUL."""
    n = len(flat)
    if n == 0:
        return None
    h = hashing.new_hasher(hashing.DEFAULT_ALGO if algo == RECORD_ALGO else algo)
    h.update(b"%d\x00" % n)
    for start in range(0, n, TEXT_CHUNK):
        part = flat[start:start + TEXT_CHUNK]
        if not isinstance(part, list):
            part = part.tolist()
        try:
            joined = "\x00".join(part)
        except TypeError:
            return None
        if joined.count("\x00") != len(part) - 1:
            return None
        if deadline is not None and time.perf_counter() > deadline:
            raise OverBudget()
        if start:
            h.update(b"\x00")
        h.update(joined.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def sub_digest(obj: Any, user_ns: dict[str, Any] | None, algo: str, deadline: float | None = None) -> str | None:
    p = probe(obj, user_ns, algo=algo, deadline=deadline)
    if p.aborted:
        raise OverBudget()
    return p.digest


RECORD_ALGO = "rec"  # in-kernel only: stream hashed with the default algo, arrays by arraysum


class ArrayCache:
    """Array digests by object (weakly), reusable while no cell could have written the array:
    the recorder re-probes variables the cell touched with the cache off (collecting their array
    roots as `fresh`), then re-probes mere sharing partners with the cache on, except for arrays
    over a fresh root. Only arrays of at least MIN_BYTES are cached."""

    MIN_BYTES = 1 << 16

    def __init__(self) -> None:
        self._d: dict[int, tuple[Any, str, int]] = {}
        # Object arrays of immutable scalars: valid while they hold the same objects, whatever
        # the cell did, so used for touched variables too (pinned.py).
        self.objects = PinnedDigests()

    def get(self, a: Any, root_id: int, fresh: set[int]) -> str | None:
        hit = self._d.get(id(a))
        if hit is None or hit[0]() is not a or hit[2] != root_id or root_id in fresh:
            return None
        return hit[1]

    def drop(self, ids: Iterable[int]) -> None:
        """Forget these arrays' digests (their variable went unhashed after a cell that could
        have written them)."""
        d = self._d
        for i in ids:
            d.pop(i, None)

    def put(self, a: Any, root_id: int, digest: str) -> None:
        if a.nbytes < self.MIN_BYTES:
            return
        key = id(a)
        try:
            ref = weakref.ref(a, lambda _r, k=key, d=self._d: d.pop(k, None))
        except TypeError:
            return
        self._d[key] = (ref, digest, root_id)


def probe(obj: Any, user_ns: dict[str, Any] | None, *, algo: str | None = None,
          digest: bool = True, cache: ArrayCache | None = None, use_cache: bool = False,
          fresh: set[int] | None = None, deadline: float | None = None) -> Probe:
    """Fingerprint `obj` and collect sharing/code facts. Never raises.

    `cache`/`use_cache`/`fresh`: see ArrayCache (recorder only; digests with algo "rec").
    `deadline` (perf_counter time, digest mode): past it the pass stops and the result has
    `aborted=True` and no digest; its facts are partial and must not be used."""
    t0 = time.perf_counter()
    figure = kinds.figure_reach(obj)
    if figure is not None:
        return Probe(digest=None, opaque=[kinds.FIGURE_OPAQUE], shared=figure, digested=digest,
                     seconds=time.perf_counter() - t0)
    algo = algo or hashing.DEFAULT_ALGO
    stream_algo = hashing.DEFAULT_ALGO if algo == RECORD_ALGO else algo
    sink: Any = hashing.HashSink(hashing.new_hasher(stream_algo), deadline) if digest else hashing.CountSink()
    p = DigestPickler(sink, user_ns, algo, digest)
    p.cache, p.use_cache, p.fresh = cache, use_cache, (fresh if fresh is not None else set())
    err: str | None = None
    if type(obj) not in _ATOMS:
        p.shared.add(id(obj))
    try:
        top_reason = kinds.unserializable_reason(obj)
    except Exception as e:  # e.g. a __getattribute__ that always raises
        top_reason = f"{type(e).__name__}: {e}"[:300]
    try:
        p.dump(obj)
    except UserCodeOverBudget:
        err = GAVE_UP
    except OverBudget:
        return Probe(digest=None, shared=frozenset(p.shared), unserializable=top_reason, aborted=True,
                     digested=False, seconds=time.perf_counter() - t0, arrays=frozenset(p.arrays))
    except RecursionError:
        err = "recursion limit"
    except Exception as e:  # contained: this variable becomes "unknown", recording carries on
        err = f"{type(e).__name__}: {e}"[:300]
    if err is not None:
        p.shared |= fallback_reach(obj, p.user_ns)
    hexd = sink.h.hexdigest() if digest and err is None else None
    return Probe(
        digest=f"{algo}:{hexd}" if hexd is not None else None,
        opaque=p.opaque,
        shared=frozenset(p.shared),
        code_names=frozenset(p.code_names),
        code_loads=frozenset(p.code_loads),
        code_dynamic=p.code_dynamic,
        nondet=tuple(dict.fromkeys(p.nondet)),
        unserializable=top_reason or p.unser,
        has_views=p.has_views,
        error=err,
        seconds=time.perf_counter() - t0,
        digested=digest,
        arrays=frozenset(p.arrays),
        unfaithful=p.unfaithful,
    )


def bounded_probe(bound: Bounded, value: Any, ns: dict[str, Any], algo: str) -> Probe:
    """A probe that gives up when notebook code it calls blocks past the bound: no digest, and
    sharing facts from a reference walk that calls no user code."""
    try:
        with bound:
            return probe(value, ns, algo=algo)
    except UserCodeOverBudget:
        return Probe(digest=None, shared=frozenset(fallback_reach(value, ns)),
                     error=GAVE_UP)


def fallback_reach(obj: Any, user_ns: dict[str, Any] | None, limit: int = 200_000) -> set[int]:
    """When pickling failed midway: ids of everything gc can reach (bounded), for sharing only."""
    out: set[int] = set()
    stack = [obj]
    skip = {id(user_ns)} if user_ns is not None else set()
    while stack and len(out) < limit:
        o = stack.pop()
        oid = id(o)
        t = type(o)  # type(), not isinstance(): no user __getattribute__/__class__ runs here
        if oid in out or oid in skip or t in _ATOMS or issubclass(t, (type, types.ModuleType)):
            continue
        out.add(oid)
        if t is types.FunctionType:
            stack.extend(x for x in (o.__defaults__, o.__closure__, o.__dict__) if x)
            continue
        stack.extend(gc.get_referents(o))
    return out
