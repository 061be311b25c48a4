"""The background lane: checkpoint operations served on an ipykernel subshell thread (JEP 91), beside
the cells running on the main thread, so an auto-checkpoint's measure and save never hold up the
user's next cell.

The coordinator opens a second comm on a subshell (`comm_open` data `{"lane": true}`); requests on
it are handled here, on that subshell's thread. Only read-only operations are served: `hello`,
`history`, `rng_state`, `measure`, `save`.

Consistency. A cell starting moves the recorder's `generation` (the first thing its pre_run_cell
hook does). A lane operation notes the generation it starts from (a save: the one its measure
started from, `args.generation`) and checks it between variables, every 16 pickle writes, between
chunks, after each group's bytes are produced and before answering. If a cell started since, it
stops and answers `{"preempted": {generation, now}}`: the bytes may have been pickled while the cell
changed them, so nothing it produced may be committed. Chunks already written stay in the store:
they are content addressed, so the next attempt reuses those whose bytes did not change ("resumed")
and gc sweeps the others. An error raised while a cell ran (a dict that changed size under the
pickler) is a preemption too. The recorder's shared state is touched only under its lock, briefly.

Interrupts: SIGINT reaches only the main thread, and ipykernel ignores it between requests, so the
coordinator that interrupts also sends `preempt` (a main-thread operation) to move the generation.

Limits: notebook code a pickle calls (`__reduce__`) is not time-bounded here (the SIGALRM budget
works on the main thread only). Pickling holds the GIL; hashing and file writes release it. A save
that must pickle a group again (measure's pickle was not kept: over the cache's cap) checks only
once that group's bytes are produced. Changes made outside cells are probed under the lock at the
start of a measure, so a cell starting then waits for that probe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .channel import Handler

if TYPE_CHECKING:
    from .recorder import Recorder
    from .runtime import Shim


class Preempted(BaseException):
    """A cell started since this background operation began. A BaseException, so that no
    `except Exception` on the way (a group's error handling, a user's `__reduce__`) turns it into
    an unserializable group."""


class Watch:
    """Has a cell started since generation `start`? Also usable as a probe's `deadline`: the probe
    asks `time.perf_counter() > deadline` between objects and chunks, which Python answers with
    `deadline.__lt__(now)`, so a background fingerprint pass stops as soon as a cell starts."""

    __slots__ = ("rec", "start")

    def __init__(self, rec: "Recorder", start: Any = None) -> None:
        self.rec = rec
        self.start = start if isinstance(start, int) else rec.generation

    def moved(self) -> bool:
        return self.rec.generation != self.start or bool(self.rec.pending)

    def check(self) -> None:
        if self.moved():
            raise Preempted()

    def __lt__(self, now: float) -> bool:
        return self.moved()

    def probe(self, value: Any, ns: dict[str, Any], algo: str) -> Any:
        from .probe import probe

        pr = probe(value, ns, algo=algo, deadline=self)
        if pr.aborted:
            raise Preempted()
        return pr


LaneOp = Callable[[dict[str, Any], list[memoryview], Watch], tuple[Any, list[bytes]]]


def build(shim: "Shim", main: dict[str, Handler]) -> dict[str, Handler]:
    """The lane's handlers; `main` holds the main-thread handlers some of them reuse."""
    rec = shim.recorder

    def lane(fn: LaneOp) -> Handler:
        def call(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
            watch = Watch(rec, args.get("generation"))
            if not rec.settle():  # the last cell's check is still running on the main thread
                return _preempted(watch), []
            try:
                watch.check()
                result, out = fn(args, bufs, watch)
                watch.check()
                return result, out
            except Preempted:
                return _preempted(watch), []
            except Exception:
                if watch.moved():
                    return _preempted(watch), []
                raise

        return call

    def locked(name: str) -> Handler:
        """Reads that stay true while a cell runs (records and RNG states are only appended)."""

        def call(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
            rec.settle()  # the last cell's record first (idlecheck.py); late is still correct
            with rec.lock:  # the cell hooks append to them
                return main[name](args, bufs)

        return call

    def measure(args: dict[str, Any], bufs: list[memoryview], watch: Watch) -> tuple[Any, list[bytes]]:
        from .measure import op_measure

        result, out = op_measure(shim, args, bufs, watch=watch)
        return {**result, "generation": watch.start}, out

    def save(args: dict[str, Any], bufs: list[memoryview], watch: Watch) -> tuple[Any, list[bytes]]:
        from .blobs import op_save

        return op_save(shim, args, bufs, watch=watch)

    return {
        "hello": main["hello"],
        "history": locked("history"),
        "rng_state": locked("rng_state"),
        "measure": lane(measure),
        "save": lane(save),
    }


def _preempted(watch: Watch) -> dict[str, Any]:
    return {"blobs": [], "preempted": {"generation": watch.start, "now": watch.rec.generation}}
