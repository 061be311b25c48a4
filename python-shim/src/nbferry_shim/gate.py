"""The namespace gate: counts what runs on the kernel's main thread (notebook cells, shim requests),
so a worker thread (background loading) changes the namespace only when nothing is running there."""

from __future__ import annotations

import threading


class NamespaceGate:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.busy = 0

    def enter(self) -> None:
        with self.cond:
            self.busy += 1

    def leave(self) -> None:
        with self.cond:
            self.busy = max(0, self.busy - 1)
            self.cond.notify_all()
