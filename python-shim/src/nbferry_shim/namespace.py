"""Which entries of IPython's user namespace are user variables, and cheap snapshots of them."""

from __future__ import annotations

import re
from typing import Any

# IPython's own names: _, __, ___, _i, _ii, _iii, _i<N>, _<N>, _ih, _oh, _dh, _exit_code.
_IPY_NAME = re.compile(r"^_(?:i{1,3}|i\d+|\d+|_{1,2}|ih|oh|dh|exit_code)?$")


class NameFilter:
    """Classifies names (cached: a namespace grows by `_i<N>` every cell, so the per-cell snapshot
    is a C-level dict comprehension over a skip set, not a Python call per name)."""

    def __init__(self, hidden: dict[str, Any] | None) -> None:
        self.hidden = hidden or {}
        self._skip: set[str] = set()
        self._known: set[str] = set()

    @staticmethod
    def _pattern_ok(name: str) -> bool:
        return not (_IPY_NAME.match(name) or (name.startswith("__") and name.endswith("__")))

    def is_user(self, name: str, value: Any) -> bool:
        if not isinstance(name, str) or not self._pattern_ok(name):
            return False
        return not (name in self.hidden and self.hidden[name] is value)

    def snapshot(self, ns: dict[str, Any]) -> dict[str, int]:
        """name -> id(value) for every user variable (O(names), no references kept)."""
        skip = self._skip
        out = {k: id(v) for k, v in list(ns.items()) if k not in skip}
        known = self._known
        for k in [k for k in out if k not in known]:
            if isinstance(k, str) and self._pattern_ok(k):
                known.add(k)
            else:
                skip.add(k)
                del out[k]
        hidden = self.hidden
        for k, hv in hidden.items():
            if k in out and ns.get(k) is hv:  # In, Out, exit, quit, get_ipython unless rebound
                del out[k]
        return out
