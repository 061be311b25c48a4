"""Bounded in-kernel buffer of lineage records, addressable by seq (survives re-attaching)."""

from __future__ import annotations

from collections import deque
from typing import Any

Record = dict[str, Any]


class History:
    def __init__(self, max_records: int = 20_000, max_bytes: int = 64 << 20) -> None:
        self.max_records = max_records
        self.max_bytes = max_bytes
        self._buf: deque[tuple[int, int, Record]] = deque()
        self._bytes = 0
        self.last_seq = 0

    def append(self, rec: Record) -> Record:
        self.last_seq += 1
        rec["seq"] = self.last_seq
        size = 512 + len(rec.get("code") or "")
        self._buf.append((self.last_seq, size, rec))
        self._bytes += size
        while self._buf and (len(self._buf) > self.max_records or self._bytes > self.max_bytes):
            _, s, _ = self._buf.popleft()
            self._bytes -= s
        return rec

    @property
    def first_seq(self) -> int:
        return self._buf[0][0] if self._buf else self.last_seq + 1

    def since(self, seq: int, limit: int | None = None) -> list[Record]:
        out = [r for s, _, r in self._buf if s > seq]
        return out[:limit] if limit else out

    def get(self, seq: int) -> Record | None:
        for s, _, r in self._buf:
            if s == seq:
                return r
        return None
