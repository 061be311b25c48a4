"""Shared-object index and union-find groups over variables.

Each variable contributes the ids of objects that may be reachable from another variable
(from its probe). Two variables that have an id in common share an object and must be
serialized (or recomputed) together, so identity survives.

Tokens (negative ints, never object ids) stand for sharing the probes could not see: when a
variable goes unhashed after a cell (over the hashing budget), its reach is unknown, so it is
tied by a token to everything that cell could touch. Tokens are merged eagerly (a class is one
token), kept across later probes, and all dropped once no variable's reach is unknown.
"""

from __future__ import annotations

from typing import Iterable


class SharingIndex:
    def __init__(self) -> None:
        self._by_id: dict[int, set[str]] = {}
        self._ids: dict[str, frozenset[int]] = {}
        self._last_token = 0

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

    def ids(self, name: str) -> frozenset[int]:
        return self._ids.get(name, frozenset())

    def tokens(self, name: str) -> frozenset[int]:
        return frozenset(i for i in self._ids.get(name, ()) if i < 0)

    def refresh(self, name: str, ids: frozenset[int]) -> None:
        """New probe facts for `name`; its tokens stay (others' unknown reach may include it)."""
        self.set(name, ids | self.tokens(name))

    def link(self, names: Iterable[str], extra: dict[str, frozenset[int]] | None = None) -> None:
        """Put `names` in one token class, merged with every class they already belong to.
        `extra`: ids to add per name (e.g. an unhashed variable's own object id)."""
        names = set(names)
        if not names:
            return
        merged = {i for n in names for i in self._ids.get(n, ()) if i < 0}
        holders = set(names)
        for tok in merged:
            holders |= self._by_id.get(tok, set())
        self._last_token -= 1
        token = self._last_token
        for n in holders:
            keep = frozenset(i for i in self._ids.get(n, ()) if i not in merged)
            self.set(n, keep | {token} | ((extra or {}).get(n) or frozenset()))

    def clear_tokens(self) -> None:
        for n in [n for n, ids in self._ids.items() if any(i < 0 for i in ids)]:
            self.set(n, frozenset(i for i in self._ids[n] if i >= 0))

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
