"""Which values an intact load reproduces exactly, so a restore need not fingerprint them again.

A restore loads a group from a blob whose checksum matched (the bytes are the ones saved) and
that unpickled without error. Whether the rebuilt value equals the one saved then depends only on
the pickling of its types: an object whose reduction is the default one (its class, then its
`__dict__`/slots) comes back with the same content, and so does data of numpy, pandas and
scikit-learn (their reductions are deterministic data dumps, in the same package versions: a
restore forced past a version mismatch fingerprints everything). An object with its own
`__reduce__`, `__reduce_ex__`, `__getstate__` or `__setstate__` may drop, recompute or reorder
state on the way (caches, handles, lazily built fields): its determinism is unknown, so it is
fingerprinted again. The probe at checkpoint sees every object of a value; one such type makes
the whole value "unfaithful". Sets and dicts are no exception to the rule: pickle keeps a dict's
order, and fingerprints sort a set's members.
"""

from __future__ import annotations

from typing import Any

from . import kinds

# Packages whose own types pickle as deterministic data dumps (whatever hooks they define).
_FAITHFUL_PACKAGES = frozenset({"builtins", "numpy", "pandas", "sklearn", "datetime", "decimal", "fractions",
                                "collections", "uuid", "pathlib"})
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
    for hook in _HOOKS:
        own: Any = getattr(t, hook, None)
        if own is not None and own is not getattr(object, hook, None):
            return f"{module}.{getattr(t, '__qualname__', t.__name__)} defines {hook}"
    return None
