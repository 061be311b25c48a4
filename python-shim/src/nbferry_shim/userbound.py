"""Bounding the user code the shim runs while it measures: a notebook class's `__reduce__`,
`__getstate__` or `__getattr__` is called by pickling, and may block (sleep, wait on a lock, loop).

A sampling timer (SIGALRM, main thread only) looks at the interrupted stack every TICK_SEC: time
counts only while a frame of notebook code (globals = the user namespace) is on it, so hashing or
pickling a large value for a long time in library or shim code never trips it. Past the limit,
UserCodeOverBudget is raised *inside* the user frame, so the shim's own code unwinds normally.
It is a BaseException: a user's `except Exception` around the blocking call cannot swallow it.
Where no timer is available (another thread, Windows, an alarm already in use), the block is
unbounded, as before.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

TICK_SEC = 0.05


class UserCodeOverBudget(BaseException):
    """Notebook code called by the shim ran past its time allowance."""


class Bounded:
    """`with Bounded(user_ns, limit_sec):` raises UserCodeOverBudget in notebook code that runs
    longer than `limit_sec` in total within the block. Reusable, not reentrant."""

    def __init__(self, user_ns: dict[str, Any] | None, limit_sec: float | None) -> None:
        self.user_ns = user_ns
        self.limit = limit_sec
        self.spent = 0.0
        self._armed = False
        self._previous: Any = None

    def __enter__(self) -> "Bounded":
        self.spent = 0.0
        self._armed = False
        if self.limit is None or self.user_ns is None or not hasattr(signal, "setitimer"):
            return self
        if threading.current_thread() is not threading.main_thread():
            return self
        try:
            previous = signal.getsignal(signal.SIGALRM)
            if previous not in (signal.SIG_DFL, signal.SIG_IGN, None) or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
                return self  # someone else's alarm: leave it alone
            self._previous = previous
            signal.signal(signal.SIGALRM, self._tick)
            signal.setitimer(signal.ITIMER_REAL, TICK_SEC, TICK_SEC)
            self._armed = True
        except (ValueError, OSError):
            pass
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self._armed:
            return
        self._armed = False
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, self._previous)

    def _tick(self, signum: int, frame: FrameType | None) -> None:
        if not self._armed:
            return
        f = frame
        while f is not None:
            if f.f_globals is self.user_ns:
                self.spent += TICK_SEC
                if self.limit is not None and self.spent > self.limit:
                    raise UserCodeOverBudget()
                return
            f = f.f_back
