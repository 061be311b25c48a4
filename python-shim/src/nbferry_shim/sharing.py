"""Shared-object index and union-find groups over variables.

Each variable contributes the ids of objects that may be reachable from another variable
(from its probe). Two variables that have an id in common share an object and must be
serialized (or recomputed) together, so identity survives.
"""

from __future__ import annotations

from typing import Iterable


class SharingIndex:
    def __init__(self) -> None:
        self._by_id: dict[int, set[str]] = {}
        self._ids: dict[str, frozenset[int]] = {}

    def set(self, name: str, ids: frozenset[int]) -> None:
        self.drop(name)
        self._ids[name] = ids
        by_id = self._by_id
        for i in ids:
            s = by_id.get(i)
            if s is None:
                by_id[i] = {name}
            else:
                s.add(name)

    def drop(self, name: str) -> None:
        old = self._ids.pop(name, None)
        if not old:
            return
        by_id = self._by_id
        for i in old:
            s = by_id.get(i)
            if s is not None:
                s.discard(name)
                if not s:
                    del by_id[i]

    def partners(self, names: Iterable[str]) -> set[str]:
        """Variables sharing at least one object with any of `names` (excluding them)."""
        names = set(names)
        out: set[str] = set()
        for n in names:
            for i in self._ids.get(n, ()):
                s = self._by_id.get(i)
                if s is not None and len(s) > 1:
                    out |= s
        return out - names

    def groups(self, names: Iterable[str]) -> list[list[str]]:
        """Connected components (union-find) among `names`, each sorted, in first-seen order."""
        names = list(dict.fromkeys(names))
        parent = {n: n for n in names}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for members in self._by_id.values():
            live = [m for m in members if m in parent]
            for m in live[1:]:
                a, b = find(live[0]), find(m)
                if a != b:
                    parent[b] = a
        comps: dict[str, list[str]] = {}
        for n in names:
            comps.setdefault(find(n), []).append(n)
        return [sorted(c) for c in comps.values()]
