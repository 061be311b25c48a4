"""Code that ran outside recorded cells and may have changed variables in place.

The recorder sees in-place changes only inside recorded cells (it fingerprints what a cell
references); elsewhere it sees rebinds and deletes only (`outside` records). An incremental
measure reuses a name's earlier fingerprint when no record wrote it, so it must know whether other
code ran in between. `count` goes up whenever some did, or may have:

* an execute that was not a recorded cell: a silent execute (another tool's variable viewer), a
  cell run on a subshell thread. nbferry's own silent requests start with INTERNAL_MARK and are
  exempt: they bind or delete names only (seen by `outside` records) or touch no variable;
* a comm open, message or close for a comm that is not nbferry's (widget callbacks, comm handlers);
* a Python thread started by notebook code (threading.Thread.start), and any such thread alive when
  a measure checks, or alive at the check before (it may have run in between). Threads started
  while an nbferry request is handled (the save's writer pool) are nbferry's.

Not detectable here (PROTOCOL.md §4.4): asyncio tasks and loop callbacks notebook code scheduled on
the kernel's event loop, threads started outside `threading` (C extensions, `_thread`), signal
handlers, and other processes writing shared or memory-mapped data.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable

INTERNAL_MARK = "# nbferry:internal"
# Threads whose code comes from these packages are the kernel's own (IOPub, heartbeat, control,
# history saving, parent poller, subshells: a subshell's cells are counted as executes instead).
_KERNEL_PACKAGES = frozenset({"ipykernel", "IPython", "zmq", "jupyter_client", "tornado", "comm", "debugpy",
                              "nbferry_shim", "traitlets"})
_COMM_MESSAGES = ("comm_open", "comm_msg", "comm_close")


def _package_of_thread(t: threading.Thread) -> str:
    target = getattr(t, "_target", None)
    mod = getattr(target, "__module__", None) if target is not None else None
    return (mod or type(t).__module__ or "").split(".")[0]


def _foreign(t: threading.Thread) -> bool:
    return t is not threading.main_thread() and _package_of_thread(t) not in _KERNEL_PACKAGES


class Unobserved:
    def __init__(self, shell: Any, exec_thread: int, is_ours: Callable[[str, dict[str, Any]], bool]) -> None:
        self.shell = shell
        self.exec_thread = exec_thread
        self.is_ours = is_ours  # (msg_type, content) -> the comm message is nbferry's own
        self.before_foreign: Callable[[], None] = lambda: None  # before notebook code's comm handler runs
        self.count = 0
        self.cells = 0  # recorded cells started (pre_run_cell on the execution thread)
        self._local = threading.local()
        self._threads_alive = False
        self._wrapped: dict[str, Any] = {}
        self._thread_start: Any = None
        self._own_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()  # started by nbferry's ops

    # -- IPython events ------------------------------------------------------------------------
    def pre_execute(self) -> None:
        self._local.cells = self.cells

    def pre_run_cell(self, info: Any) -> None:
        if threading.get_ident() == self.exec_thread:
            self.cells += 1

    def own_message(self) -> None:
        """nbferry's own comm request is being handled: `comm` triggers execute events around it."""
        self._local.own = True

    def post_execute(self) -> None:
        if getattr(self._local, "own", False):
            self._local.own = False
            return
        started = getattr(self._local, "cells", None)
        self._local.cells = None
        recorded = threading.get_ident() == self.exec_thread and started is not None and self.cells > started
        if not recorded and not self._internal_request():
            self.count += 1

    def _internal_request(self) -> bool:
        kernel = getattr(self.shell, "kernel", None)
        try:
            parent = kernel.get_parent("shell") if kernel is not None else None
            code = ((parent or {}).get("content") or {}).get("code")
        except Exception:
            return False
        return isinstance(code, str) and code.startswith(INTERNAL_MARK)

    # -- threads -------------------------------------------------------------------------------
    def check_threads(self) -> None:
        """Before a measure: a notebook thread alive now, or at the last check, may have written."""
        try:
            alive = any(_foreign(t) and t not in self._own_threads for t in threading.enumerate())
        except Exception:
            alive = True
        if alive or self._threads_alive:
            self.count += 1
        self._threads_alive = alive

    # -- install -------------------------------------------------------------------------------
    def install(self) -> None:
        ev = self.shell.events
        ev.register("pre_execute", self.pre_execute)
        ev.register("pre_run_cell", self.pre_run_cell)
        ev.register("post_execute", self.post_execute)
        self._wrap_comm_handlers()
        self._wrap_thread_start()

    def uninstall(self) -> None:
        ev = self.shell.events
        for name, cb in (("pre_execute", self.pre_execute), ("pre_run_cell", self.pre_run_cell),
                         ("post_execute", self.post_execute)):
            try:
                ev.unregister(name, cb)
            except ValueError:
                pass
        handlers = getattr(getattr(self.shell, "kernel", None), "shell_handlers", None)
        for msg_type, original in self._wrapped.items():
            if handlers is not None and getattr(handlers.get(msg_type), "__wrapped__", None) is original:
                handlers[msg_type] = original
        self._wrapped.clear()
        if self._thread_start is not None and getattr(threading.Thread.start, "__wrapped__", None) is self._thread_start:
            threading.Thread.start = self._thread_start  # type: ignore[method-assign]
        self._thread_start = None

    def _wrap_comm_handlers(self) -> None:
        handlers = getattr(getattr(self.shell, "kernel", None), "shell_handlers", None)
        if not isinstance(handlers, dict):
            return
        for msg_type in _COMM_MESSAGES:
            original = handlers.get(msg_type)
            if original is None or hasattr(original, "__wrapped__"):
                continue

            def wrapped(*args: Any, _original: Any = original, _type: str = msg_type, **kwargs: Any) -> Any:
                msg = args[-1] if args else kwargs.get("msg")
                try:
                    foreign = not self.is_ours(_type, (msg or {}).get("content") or {})
                except Exception:
                    foreign = True
                if foreign:  # before and after: the handler may be a coroutine that runs later
                    self.count += 1
                    try:
                        self.before_foreign()
                    except Exception:
                        pass
                try:
                    return _original(*args, **kwargs)
                finally:
                    if foreign:
                        self.count += 1

            wrapped.__wrapped__ = original  # type: ignore[attr-defined]
            handlers[msg_type] = wrapped
            self._wrapped[msg_type] = original

    def _wrap_thread_start(self) -> None:
        original = threading.Thread.start
        if hasattr(original, "__wrapped__"):
            return
        me = self

        def start(thread: threading.Thread) -> None:
            if getattr(me._local, "own", False):  # e.g. the save's writer pool, during an nbferry op
                me._own_threads.add(thread)
            elif _foreign(thread):
                me.count += 1
                me._threads_alive = True
            original(thread)

        start.__wrapped__ = original  # type: ignore[attr-defined]
        threading.Thread.start = start  # type: ignore[method-assign]
        self._thread_start = original
