"""Weak references inside a group: pickled as references to the group's own objects.

A weakref (or a WeakValueDictionary / WeakKeyDictionary / WeakSet) is saved as "a weak reference
to that object", and the object itself travels in the same pickle, so pickle's memo rebuilds the
weakref pointing at the restored object (identity kept). That is only right when something in
the group holds the object strongly: otherwise the restored object would have no owner, die at
once, and the weakref would come back dead where it was alive. So the pickler notes every weak
target it saw, and after the dump `check_targets` walks the group's strong references (gc
referents; weak references are not followed) and refuses the group if a target is not among
them: a weakref to an object outside its group stays unserializable, with that reason.

The strong walk is a superset of what pickle saves (an object a custom __getstate__ drops is
still reached); it runs only for groups that hold weak references.
"""

from __future__ import annotations

import gc
import types
import weakref
from typing import Any

from . import kinds

WEAK_CONTAINERS: tuple[type, ...] = (weakref.WeakValueDictionary, weakref.WeakKeyDictionary, weakref.WeakSet)
_WALK_LIMIT = 5_000_000  # objects visited before giving up (then the group is refused)


class _Gone:
    pass


# -- rebuild helpers (referenced by pickles) ------------------------------------------------------
def rebuild_weakref(target: Any, callback: Any = None) -> weakref.ref[Any]:
    return weakref.ref(target) if callback is None else weakref.ref(target, callback)


def rebuild_dead_weakref() -> weakref.ref[Any]:
    """A weakref that was already dead at checkpoint: dead again (its target's only owner is gone)."""
    return weakref.ref(_Gone())


def rebuild_weak_mapping(cls: type, items: list[tuple[Any, Any]]) -> Any:
    """A WeakValueDictionary or WeakKeyDictionary, filled in the saved order."""
    d = cls()
    for k, v in items:
        d[k] = v
    return d


def rebuild_weak_set(cls: type, items: list[Any]) -> Any:
    return cls(items)


# -- reductions -----------------------------------------------------------------------------------
def reduce_weak(obj: Any, t: type, targets: dict[int, Any]) -> Any:
    """The reduction of a weakref or weak container (exact types only), noting its targets; None
    for anything else. Targets are kept alive in `targets` until the check."""
    if t is weakref.ref:
        target = obj()
        if target is None:
            return (rebuild_dead_weakref, ())
        targets[id(target)] = target
        cb = obj.__callback__
        return (rebuild_weakref, (target,) if cb is None else (target, cb))
    if t is weakref.WeakValueDictionary:
        items = list(obj.items())
        for _, v in items:
            targets[id(v)] = v
        return (rebuild_weak_mapping, (t, items))
    if t is weakref.WeakKeyDictionary:
        items = list(obj.items())
        for k, _ in items:
            targets[id(k)] = k
        return (rebuild_weak_mapping, (t, items))
    if t is weakref.WeakSet:
        members = list(obj)
        for m in members:
            targets[id(m)] = m
        return (rebuild_weak_set, (t, members))
    return None


def check_targets(values: dict[str, Any], targets: dict[int, Any], user_ns: dict[str, Any] | None) -> str | None:
    """None if every weak target is strongly reachable from the group's values; else why not."""
    missing = set(targets) - reached_ids(values, set(targets), user_ns)
    if not missing:
        return None
    sample = targets[next(iter(missing))]
    t = type(sample)
    return (f"weakref to an object outside its group ({len(missing)} such): "
            f"{t.__module__}.{t.__qualname__}")


def reached_ids(values: dict[str, Any], wanted: set[int], user_ns: dict[str, Any] | None) -> set[int]:
    """The ids of `wanted` found by a strong-reference walk from `values` (weakrefs not followed;
    modules, library classes and functions' globals not entered: pickle saves none of them)."""
    found: set[int] = set()
    seen: set[int] = set()
    skip = {id(user_ns)} if user_ns is not None else set()
    stack = list(values.values())
    visited = 0
    while stack and len(found) < len(wanted):
        o = stack.pop()
        oid = id(o)
        if oid in seen or oid in skip:
            continue
        seen.add(oid)
        if oid in wanted:
            found.add(oid)
        t = type(o)  # type(), not isinstance(): no user __class__ runs here
        if t in kinds.ATOMS or t is types.ModuleType or (issubclass(t, type) and not kinds.is_user_class(o)):
            continue
        visited += 1
        if visited > _WALK_LIMIT:
            break
        if t is types.FunctionType:  # its module's globals are not pickled with it
            stack.extend(x for x in (o.__defaults__, o.__kwdefaults__, o.__closure__, o.__dict__) if x)
            continue
        stack.extend(gc.get_referents(o))
    return found
