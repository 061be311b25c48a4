"""Reductions of notebook-class instances made by `measure`'s fingerprint pass, reused by its
checkpoint pickle of the same objects, so a user's `__reduce__`/`__getstate__` runs once per
checkpoint (it may be slow, or change its object each time it runs). The save that follows reuses
measure's whole pickle (pickled.py). Active only inside one `measure`, and only on the thread that
runs it: a background measure (lane.py) must not hand its reductions to the cell hooks running
meanwhile on the main thread (they would fingerprint an object as it was, not as it is).
Emptied when it ends."""

from __future__ import annotations

import threading
from typing import Any


class ReduceMemo:
    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Any, Any]] = {}
        self._owner: int | None = None  # the thread whose measure is running

    @property
    def active(self) -> bool:
        return self._owner is not None and self._owner == threading.get_ident()

    def start(self) -> None:
        self._by_id.clear()
        self._owner = threading.get_ident()

    def stop(self) -> None:
        self._owner = None
        self._by_id.clear()

    def record(self, obj: Any, rv: Any) -> None:
        if self.active:
            self._by_id[id(obj)] = (obj, rv)  # holding obj keeps its id from being reused meanwhile

    def get(self, obj: Any) -> Any:
        hit = self._by_id.get(id(obj))
        return hit[1] if hit is not None and hit[0] is obj else None


MEMO = ReduceMemo()
