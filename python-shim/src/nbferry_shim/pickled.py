"""Pickles made by `measure`, kept for the `save` that follows it.

A checkpoint measures every group (pickling it to learn its size and speed), plans, then saves
the groups the plan chose: without this, each saved group is pickled twice. `measure` keeps the
pickle of each group up to a size cap; `save` uses it when the group's values are the same
objects and no cell has run since (the history's last seq is unchanged), and pickles afresh
otherwise. Out-of-band buffers are kept as PickleBuffers (references, no copy). The cache is
emptied by the save, and by the next cell, so it never holds memory past a checkpoint.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from typing import Any

MAX_INBAND_BYTES = 256 << 20  # in-band pickle bytes kept over all groups of one measure
MAX_AGE_SEC = 600.0


@dataclass
class Pickled:
    ids: tuple[int, ...]
    seq: int
    data: bytes
    buffers: list[pickle.PickleBuffer]
    at: float


class PickleCache:
    def __init__(self) -> None:
        self._by_names: dict[tuple[str, ...], Pickled] = {}
        self.inband = 0

    def clear(self) -> None:
        self._by_names.clear()
        self.inband = 0

    def room(self) -> int:
        return MAX_INBAND_BYTES - self.inband

    def put(self, values: dict[str, Any], seq: int, data: bytes, buffers: list[pickle.PickleBuffer]) -> None:
        if len(data) > self.room():
            return
        self._by_names[tuple(values)] = Pickled(tuple(id(v) for v in values.values()), seq, data, buffers,
                                                time.monotonic())
        self.inband += len(data)

    def take(self, values: dict[str, Any], seq: int) -> tuple[bytes, list[pickle.PickleBuffer]] | None:
        """The kept pickle of exactly these values, if still valid; forgotten either way."""
        hit = self._by_names.pop(tuple(values), None)
        if hit is None:
            return None
        self.inband -= len(hit.data)
        fresh = time.monotonic() - hit.at < MAX_AGE_SEC
        if not fresh or hit.seq != seq or hit.ids != tuple(id(v) for v in values.values()):
            return None
        return hit.data, hit.buffers


CACHE = PickleCache()


class KeepingSink:
    """A write sink that keeps what it is given, until a cap (then it only counts)."""

    __slots__ = ("chunks", "n", "cap")

    def __init__(self, cap: int) -> None:
        self.chunks: list[bytes] | None = []
        self.n = 0
        self.cap = cap

    def write(self, b: Any) -> int:
        n = len(b)
        self.n += n
        if self.chunks is not None:
            if self.n > self.cap:
                self.chunks = None
            else:
                self.chunks.append(bytes(b))
        return n
