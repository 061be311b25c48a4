"""Which values an intact load reproduces exactly, so a restore need not fingerprint them again.

A restore loads a group from a blob whose checksum matched (the bytes are the ones saved) and
that unpickled without error. A fingerprint is taken through the same reductions pickle uses
(`__reduce_ex__`, `__getstate__`), so the rebuilt value fingerprints the same exactly when
rebuilding from a reduction and reducing again gives that reduction back. That holds for the
default reduction (the class, then the instance `__dict__`/slots: `__setstate__` is not involved)
and for the data types of numpy and pandas (their round trips are part of their test suites), of
the standard library's `datetime`, `decimal`, `fractions`, `collections`, `uuid` and `pathlib`, and
for scikit-learn estimators (their hooks hand `__dict__` back and forth), in the same package
versions (a restore forced past a version mismatch fingerprints everything). A class with its own
`__reduce__`, `__reduce_ex__`, `__getstate__` or `__setstate__` may drop, recompute or reorder state
on the way (scikit-learn's `Bunch.__setstate__` drops its attributes): its round trip is unknown,
so the value is fingerprinted again. The probe at checkpoint sees every object of a value; one such
type makes the whole value "unfaithful". Sets and dicts are no exception to the rule: pickle keeps a
dict's order, and fingerprints sort a set's members.
"""

from __future__ import annotations

import sys
from typing import Any

from . import kinds

# Packages whose own types round-trip through pickle exactly (whatever hooks they define).
_FAITHFUL_PACKAGES = frozenset({"builtins", "numpy", "pandas", "datetime", "decimal", "fractions", "collections",
                                "uuid", "pathlib"})
_HOOKS = ("__reduce_ex__", "__reduce__", "__getstate__", "__setstate__")
_cache: dict[type, str | None] = {}


def unfaithful_reason(t: type) -> str | None:
    """None if an intact pickle of a `t` instance rebuilds the same content; else why not."""
    try:
        return _cache[t]
    except KeyError:
        pass
    why = _reason(t)
    _cache[t] = why
    return why


def _reason(t: type) -> str | None:
    if t in kinds.ATOMS or t in (list, tuple, dict, set, frozenset, bytearray):
        return None
    module = getattr(t, "__module__", None)
    if isinstance(module, str) and module.split(".", 1)[0] in _FAITHFUL_PACKAGES:
        return None
    base = _estimator_base(t)  # a scikit-learn estimator may keep its base's hooks, not others
    for hook in _HOOKS:
        own: Any = getattr(t, hook, None)
        if own is not None and own is not getattr(object, hook, None) and own is not getattr(base, hook, None):
            return f"{module}.{getattr(t, '__qualname__', t.__name__)} defines {hook}"
    return None


def _estimator_base(t: type) -> type | None:
    base = getattr(sys.modules.get("sklearn.base"), "BaseEstimator", None)
    return base if isinstance(base, type) and issubclass(t, base) else None
