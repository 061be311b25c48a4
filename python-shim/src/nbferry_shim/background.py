"""Background loading: a restored kernel takes cells before its largest groups have arrived.

`load_background` checks that every blob's files are there (names and sizes, no reading), then
loads the groups one by one (smallest first) on a worker thread and returns at once. Each group is
read, checked against its checksum, unpickled and fingerprinted on the worker; only binding its
names into the namespace waits for a moment when no cell and no shim request is running, so the
recorder never sees a cell create a name it did not (the namespace gate).

A cell that touches a name still in flight waits for exactly that name: before each cell
(IPython's pre_run_cell, registered first), the cell's names are read from its tokens, with the
global names of the user functions and classes it refers to; a cell that can reach the namespace
dynamically (`globals()`, `locals()`, `vars()`, `eval`, `exec`, `dir()`, `%who` and other magics,
`get_ipython()`) waits for everything. Not guarded: silent executions and `user_expressions`
(tools, not notebook cells), completion and inspection requests: they see only what has arrived.

Each group's result (names bound, fingerprints, or why it failed) is pushed to the coordinator as a
`background_load` event; the last event has `done: true`.
"""

from __future__ import annotations

import io
import os
import threading
import time
import tokenize
import types
from typing import TYPE_CHECKING, Any, Iterator

from . import arraymemo
from .channel import OpError
from .gate import NamespaceGate
from .reruns import DeferredReruns, queue as queue_reruns

if TYPE_CHECKING:
    from .runtime import Shim

# Names through which a cell can reach any variable without naming it.
_DYNAMIC = frozenset({"globals", "locals", "vars", "eval", "exec", "dir", "get_ipython", "__import__",
                      "__builtins__", "__main__", "sys", "builtins", "who", "whos"})


class BackgroundLoad:
    def __init__(self, shim: "Shim") -> None:
        self.shim = shim
        self.gate: NamespaceGate = shim.gate
        self.arrived: dict[str, threading.Event] = {}
        self.thread: threading.Thread | None = None
        self.hooked = False
        self.reruns: DeferredReruns | None = None  # the restore's reruns after the hand-over (reruns.py)
        self.after: dict[str, int] = {}  # name in flight -> deferred reruns its load waits for

    def in_flight(self) -> bool:
        return (self.thread is not None and self.thread.is_alive()) or (self.reruns is not None and self.reruns.pending())

    # -- the op ----------------------------------------------------------------------------------
    def start(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.thread is not None and self.thread.is_alive():
            raise OpError("a background load is already running in this kernel")
        specs = args.get("blobs")
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise OpError("args.blobs must be a list of blob specs")
        problems = [_missing(spec, args.get("dir"), args.get("chunksDir")) for spec in specs]
        if any(problems):
            return {"started": False, "problems": problems}
        if self.reruns is not None and self.reruns.pending():
            raise OpError("a restore's reruns are still pending in this kernel")
        # Queued before the worker starts: it waits for the reruns placed before each load.
        self.reruns = queue_reruns(self.shim, args["reruns"]) if args.get("reruns") is not None else None
        # `after`: how many of the restore's deferred reruns (reruns.py) come before this load in
        # its program; it unpickles only once they have run. Smallest first among equals.
        order = sorted(range(len(specs)), key=lambda i: (_after(specs[i]), int(specs[i].get("bytes") or 0)))
        names = [n for spec in specs for n in _names(spec)]
        self.after = {n: _after(spec) for spec in specs for n in _names(spec)}
        self.arrived = {n: threading.Event() for n in names}
        self._hook()
        self.thread = threading.Thread(target=self._run, args=(specs, order, args), daemon=True,
                                       name="nbferry-background-load")
        self.thread.start()
        return {"started": True, "names": names}

    def _run(self, specs: list[dict[str, Any]], order: list[int], args: dict[str, Any]) -> None:
        for index in order:
            spec = specs[index]
            try:
                result = self._load_one(spec, args)
            except BaseException as e:  # the worker must always report and release the waiters
                result = {"ok": False, "error": {"kind": "error", "message": f"{type(e).__name__}: {e}"[:1000]}}
            finally:
                if not result.get("ok") and self.reruns is not None:
                    self.reruns.failed.update(_names(spec))  # a rerun that needs them is skipped
                for n in _names(spec):
                    self.arrived.pop(n, threading.Event()).set()
            result["index"] = index
            self._push(result)
        self._push({"done": True})

    def _load_one(self, spec: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        from . import blobs
        from .probe import probe

        t0 = time.perf_counter()
        try:
            want = blobs._want_checksum(spec)
            raw, got = blobs._read_blob(spec, args.get("dir"), [], want[0] if want else None, None, args.get("chunksDir"))
            if self.reruns is not None:
                # Unpickling may need a class or module a deferred rerun brings back (reruns.py).
                self.reruns.wait_ran(_after(spec))
            values = blobs._decode(raw, spec, want, got)
            bound = blobs._bound(values, spec)
        except blobs._LoadError as e:
            return {"ok": False, "error": {"kind": e.kind, "message": str(e)}, "seconds": time.perf_counter() - t0}
        ns = self.shim.recorder.ns
        algo = args.get("algo") or None
        # Fingerprinted here, before anyone can change them: what verification compares (only
        # `verify`, when given: what an intact load does not already prove).
        verify = spec.get("verify")
        prints = {}
        with arraymemo.shared_digests():
            for n, v in bound.items():
                if isinstance(verify, list) and n not in verify:
                    continue
                pr = probe(v, ns, algo=algo)
                prints[n] = {"digest": pr.digest, "reliable": pr.reliable, "error": pr.error}
        nbytes = len(raw)
        del raw, values
        rec = self.shim.recorder
        while True:
            rec.settle()  # the last cell's record comes before this load's (idlecheck.py)
            with self.gate.cond:
                self.gate.cond.wait_for(lambda: self.gate.busy == 0)
                with rec.lock:  # as every change of the recorder's state off the main thread (lane.py)
                    if rec.check is not None:
                        continue  # a cell ended meanwhile: its check first
                    ns.update(bound)
                    blobs._after_load(self.shim, list(bound), digest=nbytes <= blobs._DIGEST_ON_LOAD_MAX_BYTES)
                    break
        return {"ok": True, "names": list(bound), "fingerprints": prints, "bytes": nbytes,
                "seconds": time.perf_counter() - t0}

    def _push(self, payload: dict[str, Any]) -> None:
        try:
            self.shim.channel.push("background_load", payload)
        except Exception:
            pass  # no coordinator listening: the names are bound all the same

    # -- the cell guard --------------------------------------------------------------------------
    def _hook(self) -> None:
        if self.hooked:
            return
        callbacks = self.shim.shell.events.callbacks
        callbacks["pre_run_cell"].insert(0, self.before_cell)  # before the recorder looks at the namespace
        callbacks["post_run_cell"].append(self.after_cell)
        self.hooked = True

    def unhook(self) -> None:
        if not self.hooked:
            return
        for event, cb in (("pre_run_cell", self.before_cell), ("post_run_cell", self.after_cell)):
            try:
                self.shim.shell.events.unregister(event, cb)
            except ValueError:
                pass
        self.hooked = False

    def before_cell(self, info: Any) -> None:
        raw = getattr(info, "raw_cell", "") or ""
        reruns = self.reruns
        if reruns is not None and reruns.running and reruns.on_main_thread():
            # A cell a rerun runs itself (`%%capture`): the rerun already has what it needs, and
            # waiting here for a load placed after it would wait for itself.
            self.gate.enter()
            return
        if reruns is not None and reruns.pending():
            reruns.reach(reruns.last_touching(self._needed(raw, reruns.pending_names())))
        waiting = dict(self.arrived)
        if waiting:
            needed = self._needed(raw, set(waiting))
            if needed and reruns is not None and reruns.pending():
                # A load unpickles only after the reruns before it: run them here, or this cell
                # would wait for reruns that only the main thread it holds can run.
                reruns.reach(max(self.after.get(n, 0) for n in needed) - 1)
            for name in needed:
                waiting[name].wait()
        self.gate.enter()

    def after_cell(self, result: Any) -> None:
        self.gate.leave()

    def _needed(self, raw: str, in_flight: set[str]) -> set[str]:
        try:
            source = self.shim.shell.transform_cell(raw)
            names = set(_tokens(source))
        except Exception:
            return in_flight  # cannot read the cell: wait for everything
        if names & _DYNAMIC:
            return in_flight
        ns = self.shim.recorder.ns
        seen: set[int] = set()
        try:
            for name in list(names):
                names |= _globals_used(ns.get(name), seen)
        except Exception:
            return in_flight  # a value we cannot look into: wait for everything
        return names & in_flight


def _names(spec: dict[str, Any]) -> list[str]:
    names = spec.get("bind") if spec.get("bind") is not None else spec.get("names")
    return [n for n in names or [] if isinstance(n, str)]


def _after(spec: dict[str, Any]) -> int:
    try:
        return max(0, int(spec.get("after") or 0))
    except (TypeError, ValueError):
        return 0


def _tokens(source: str) -> Iterator[str]:
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME:
            yield tok.string


def _globals_used(value: Any, seen: set[int], depth: int = 0) -> set[str]:
    """Global names the notebook's own functions and classes behind `value` read when called.
    Only type() and plain attribute reads of functions and classes: a value's own __class__ or
    __getattr__ is never asked (it could raise or run notebook code)."""
    if value is None or depth > 8 or id(value) in seen:
        return set()
    seen.add(id(value))
    out: set[str] = set()
    kind = type(value)
    if kind is types.MethodType:
        value, kind = value.__func__, type(value.__func__)
    if kind is types.FunctionType and getattr(value, "__module__", None) == "__main__":
        out |= _code_names(value.__code__)
        for cell in value.__closure__ or ():
            try:
                out |= _globals_used(cell.cell_contents, seen, depth + 1)
            except ValueError:
                pass
    elif issubclass(kind, type) and type.__getattribute__(value, "__module__") == "__main__":
        for member in type.__getattribute__(value, "__dict__").values():
            out |= _globals_used(getattr(member, "__func__", member) if type(member) in (staticmethod, classmethod) else member, seen, depth + 1)
    elif kind.__module__ == "__main__":
        out |= _globals_used(kind, seen, depth + 1)
    return out


def _code_names(code: types.CodeType) -> set[str]:
    out = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _code_names(const)
    return out


def _missing(spec: dict[str, Any], d: Any, chunks_dir: Any) -> str | None:
    """Why a blob cannot be loaded from what is on disk (a file or chunk missing or of the wrong
    size), without reading it; None if it looks whole. Bytes are still checked when read."""
    from . import cas

    try:
        digests = spec.get("chunks")
        if digests is not None:
            if not isinstance(chunks_dir, str):
                return "a chunked blob needs args.chunksDir"
            for digest in digests:
                if not os.path.isfile(cas.chunk_path(chunks_dir, str(digest))):
                    return f"chunk {digest} is missing"
            return None
        name = spec.get("file")
        if not isinstance(name, str) or os.sep in name or name in ("", ".", ".."):
            return f"blob file {name!r} is not a plain name"
        path = name if d is None else os.path.join(str(d), name)
        if os.path.getsize(path) != int(spec.get("bytes") or 0):
            return f"blob file {name} is not {spec.get('bytes')} bytes"
        return None
    except (OSError, ValueError, cas.ChunkError) as e:
        return f"{type(e).__name__}: {e}"


def op_load_background(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
    if shim.background is None:
        shim.background = BackgroundLoad(shim)
    return shim.background.start(args), []
