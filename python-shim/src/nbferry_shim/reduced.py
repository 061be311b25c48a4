"""Reductions of notebook-class instances made by `measure`'s fingerprint pass, reused by its
checkpoint pickle of the same objects, so a user's `__reduce__`/`__getstate__` runs once per
checkpoint (it may be slow, or change its object each time it runs). The save that follows reuses
measure's whole pickle (pickled.py). Active only inside one `measure`; emptied when it ends."""

from __future__ import annotations

from typing import Any


class ReduceMemo:
    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Any, Any]] = {}
        self.active = False

    def start(self) -> None:
        self._by_id.clear()
        self.active = True

    def stop(self) -> None:
        self._by_id.clear()
        self.active = False

    def record(self, obj: Any, rv: Any) -> None:
        if self.active:
            self._by_id[id(obj)] = (obj, rv)  # holding obj keeps its id from being reused meanwhile

    def get(self, obj: Any) -> Any:
        hit = self._by_id.get(id(obj))
        return hit[1] if hit is not None and hit[0] is obj else None


MEMO = ReduceMemo()
