"""Deferred reruns: a restored kernel takes cells before the restore's reruns have run.

The reruns execute notebook code, which may not be thread-safe (pyplot's global state, C
extensions, signal handlers), so they run on the kernel's main thread, in their recorded order,
one at a time, and only between cells or just before one:
- the coordinator asks for them one by one (`rerun_step`, a request between cells), so a cell
  sent meanwhile waits at most for the rerun that is running;
- a cell that names a name a pending rerun reads, writes or deletes (or that reaches the namespace
  dynamically: `globals()`, `%who`, ...) first runs the pending reruns up to the last one it needs,
  in its pre_run_cell hook (background.py), so it sees exactly what the restore would have left.
A rerun's output is discarded (as a restore's reruns always were); its values are fingerprinted
right after it ran, before any cell can change them. A rerun that raises is reported failed with
why, and a later rerun that reads what a failed one would have written is skipped (it would raise or
compute something else): their names are reported lost by the coordinator.
"""

from __future__ import annotations

import threading
import time
import types
from typing import TYPE_CHECKING, Any

from . import absent
from .channel import OpError

if TYPE_CHECKING:
    from .runtime import Shim


class DeferredReruns:
    def __init__(self, shim: "Shim", cells: list[dict[str, Any]], strays: list[str], algo: str | None) -> None:
        self.shim = shim
        self.cells = cells
        self.strays = strays
        self.algo = algo
        self.results: list[dict[str, Any] | None] = [None] * len(cells)
        self.next = 0
        self.failed: set[str] = set()  # names a failed rerun or load would have bound
        self.running = False  # a rerun is executing (a cell it runs itself, `%%capture`, is not gated)
        # One per rerun, set once it has run: a background load placed after rerun k in the
        # program unpickles only then (the rerun may define a class or import a module it needs).
        self.finished = [threading.Event() for _ in cells]
        if not cells:
            self.finish()

    def pending(self) -> bool:
        return self.next < len(self.cells)

    def pending_names(self) -> set[str]:
        return {n for cell in self.cells[self.next:] for n in self._gated(cell)}

    def last_touching(self, names: set[str]) -> int:
        """Index of the last pending rerun that touches one of `names` (-1 if none)."""
        last = -1
        for i in range(self.next, len(self.cells)):
            if names & self._gated(self.cells[i]):
                last = i
        return last

    def _gated(self, cell: dict[str, Any]) -> set[str]:
        """The names a cell must not touch before this rerun: all it binds, and what it reads
        (a cell could mutate it), except modules it only reads (`np.mean(...)` in a cell must not
        wait for every rerun that uses numpy)."""
        ns = self.shim.recorder.ns
        writes = set(_strs(cell.get("writes")))
        gated = set(writes)
        for n in _strs(cell.get("names")):
            if n not in writes and not issubclass(type(ns.get(n)), types.ModuleType):
                gated.add(n)
        return gated

    def wait_ran(self, count: int) -> None:
        """Waits until the first `count` reruns have run (worker thread)."""
        if count > 0:
            self.finished[min(count, len(self.finished)) - 1].wait()

    def on_main_thread(self) -> bool:
        return threading.get_ident() == self.shim.recorder.exec_thread

    def reach(self, index: int) -> None:
        """Before a cell: the reruns through `index` have run. The main thread runs them; a
        subshell's cell (another thread) waits for the main thread to."""
        if self.on_main_thread():
            self.run_through(index)
        else:
            self.wait_ran(index + 1)

    def run_through(self, index: int, holding_gate: bool = False) -> None:
        """Runs the pending reruns up to and including `index`, in order (main thread only).
        `holding_gate`: the caller is inside the namespace gate (a shim request), which it leaves
        while a rerun waits for its background loads, so the worker can bind them."""
        if not self.on_main_thread():
            raise OpError("deferred reruns run on the kernel's main thread only")
        while self.next <= index and self.pending():
            i = self.next
            self.next += 1  # first: a rerun that itself starts a nested cell must not run again
            self._wait_loads(self.cells[i], holding_gate)
            self.running = True
            try:
                self.results[i] = self._run(self.cells[i])
            finally:
                self.running = False
            self.finished[i].set()
            if not self.pending():
                self.finish()

    def _wait_loads(self, cell: dict[str, Any], holding_gate: bool) -> None:
        """Waits for the background loads placed before this rerun that bind a name it touches."""
        background = self.shim.background
        waits = [background.arrived.get(n) for n in _strs(cell.get("waitFor"))] if background is not None else []
        waits = [e for e in waits if e is not None]
        if not waits:
            return
        gate = self.shim.gate
        if holding_gate:
            gate.leave()
        try:
            for event in waits:
                event.wait()
        finally:
            if holding_gate:
                gate.enter()

    def finish(self) -> None:
        ns = self.shim.recorder.ns
        for n in self.strays:
            ns.pop(n, None)

    def _run(self, cell: dict[str, Any]) -> dict[str, Any]:
        from . import arraymemo, envreads, rng
        from .probe import probe

        reads = set(_strs(cell.get("reads"))) | set(_strs(cell.get("waitFor")))
        writes = _strs(cell.get("writes"))
        missing = sorted(reads & self.failed)
        if missing:
            self.failed.update(writes)
            return {"ok": False, "skipped": True,
                    "error": f"it needs {', '.join(missing)}, which an earlier rerun failed to bring back"}
        shell = self.shim.shell
        gate = self.shim.gate
        t0 = time.perf_counter()
        gate.enter()  # the background-load worker binds nothing while a rerun runs
        try:
            blobs = {k: bytes(v) for k, v in (cell.get("rng") or {}).items() if k in rng.KINDS}
            undo = rng.restore(blobs)[1] if blobs else None
            placed = absent.bind(shell.user_ns, _strs(cell.get("deletes")))
            try:
                error = _execute(shell, str(cell.get("code") or ""))
            finally:
                if undo is not None:
                    envreads.apply(undo)
            absent.clear(shell.user_ns, placed)
            rec = self.shim.recorder
            with rec.lock:  # recorded as a change made outside the user's cells
                rec.sync_pending_outside()
        finally:
            gate.leave()
        seconds = time.perf_counter() - t0
        if error is not None:
            self.failed.update(writes)
            return {"ok": False, "error": error, "seconds": seconds}
        ns = self.shim.recorder.ns
        prints = {}
        with arraymemo.shared_digests():
            for n in _strs(cell.get("verify")):
                if n in ns:
                    pr = probe(ns[n], ns, algo=self.algo)
                    prints[n] = {"digest": pr.digest, "reliable": pr.reliable, "error": pr.error}
        return {"ok": True, "fingerprints": prints, "seconds": seconds}


def _execute(shell: Any, raw: str) -> str | None:
    """Runs a cell's code in the user namespace with its output discarded; why it failed, or None.
    Not through run_cell: this may run inside another cell's pre_run_cell hook, and a rerun is no
    cell of the user's (no history, no display of its last value, no cell hooks)."""
    from IPython.utils.capture import capture_output

    try:
        source = shell.transform_cell(raw)
        # Cached as IPython caches a cell's code: inspect.getsource and tracebacks find it.
        code = compile(source, shell.compile.cache(source, 0, raw_code=raw), "exec", dont_inherit=True)
        with capture_output():
            # As run_cell does: the inline backend shows (and closes) the figures a cell drew in
            # post_execute; without it they would show at the end of the user's next cell.
            shell.events.trigger("pre_execute")
            try:
                exec(code, shell.user_global_ns, shell.user_ns)
            finally:
                shell.events.trigger("post_execute")
        return None
    except BaseException as e:  # KeyboardInterrupt too: the rerun did not complete
        return f"{type(e).__name__}: {e}"[:1000]


def _strs(value: Any) -> list[str]:
    return [v for v in value or [] if isinstance(v, str)]


def queue(shim: "Shim", args: Any) -> DeferredReruns:
    """The reruns a `load_background` request hands over (`args.reruns`); cells are gated on
    their names from now on."""
    cells = args.get("cells") if isinstance(args, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise OpError("args.reruns.cells must be a list of cells")
    return DeferredReruns(shim, cells, _strs(args.get("strays")), args.get("algo") or None)


def op_rerun_step(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
    """Runs the deferred reruns through `index` (if a cell has not already) and returns its result."""
    reruns = shim.background.reruns if shim.background is not None else None
    if reruns is None:
        raise OpError("no deferred reruns in this kernel")
    index = int(args.get("index", -1))
    if not 0 <= index < len(reruns.cells):
        raise OpError(f"no deferred rerun {index}")
    reruns.run_through(index, holding_gate=True)
    return reruns.results[index], []
