"""The `measure` operation: groups, serializability, real serialized sizes and times, fingerprints.

Sizes come from running the checkpoint pickler into a counting sink; out-of-band buffers are
counted via `buffer_callback` and never copied. Each group has a time budget: when pickling
exceeds it, a group made of one big list/tuple/dict/set is estimated from an evenly spaced
sample of its elements (scaled by length); otherwise the bytes/time reached so far are reported
as a lower bound (`estimate: "lower-bound"`). Load time is estimated from a one-off calibration
of this kernel's unpickle/dump ratio plus a memcpy rate for out-of-band bytes.
"""

from __future__ import annotations

import os
import pickle
import site
import sys
import time
import types
from typing import TYPE_CHECKING, Any

from . import arraymemo, hashing, kinds, pickled, reduced, serialize
from .budget import gc_paused
from .probe import bounded_probe
from .saveable import saveable_part
from .channel import OpError
from .userbound import Bounded, UserCodeOverBudget

if TYPE_CHECKING:
    from .runtime import Shim

_calibration: dict[str, float] = {}


class _Budget(Exception):
    pass


class _TimedSink(pickled.KeepingSink):
    """Counts (and keeps, up to `cap`, for the save that follows) what the pickler writes;
    raises _Budget once past the deadline."""

    __slots__ = ("deadline", "calls", "watch")

    def __init__(self, deadline: float, cap: int = 0, watch: Any = None) -> None:
        super().__init__(cap)
        self.deadline = deadline
        self.calls = 0
        self.watch = watch  # lane.Watch of a background measure: raises Preempted once a cell starts

    def write(self, b: Any) -> int:
        n = super().write(b)
        self.calls += 1
        if self.calls & 15 == 0:
            if time.perf_counter() > self.deadline:
                raise _Budget()
            if self.watch is not None:
                self.watch.check()
        return n


def calibrate() -> dict[str, float]:
    """unpickle/dump time ratio for in-band data, and memcpy bytes/s (once per process).

    Best of three with the garbage collector paused: in a kernel holding millions of objects,
    the allocations of one unpickle can set off a full collection that takes longer than the
    unpickle itself, and a ratio skewed that way (14x was seen) makes every load look too slow
    to the planner. The target's unpickling runs in a fresh kernel with a small heap."""
    if _calibration:
        return _calibration
    try:
        return _calibrate()
    except Exception:  # a cell replaced pickle.dumps or the like: plausible figures, not cached
        return {"load_over_dump": 1.0, "memcpy_bps": 1e9}


def _calibrate() -> dict[str, float]:
    sample = [{"k": i, "s": "x" * (i % 17), "f": i * 0.5, "l": [i, i + 1]} for i in range(5000)]
    ratios = []
    with gc_paused():
        for _ in range(3):
            t0 = time.perf_counter()
            data = pickle.dumps(sample, protocol=5)
            t1 = time.perf_counter()
            pickle.loads(data)
            t2 = time.perf_counter()
            ratios.append((t2 - t1) / max(t1 - t0, 1e-9))
    block = bytearray(32 << 20)  # larger than caches: the rate of copying big arrays
    t0 = time.perf_counter()
    bytes(block)
    copy = len(block) / max(time.perf_counter() - t0, 1e-9)
    _calibration.update(load_over_dump=min(4.0, max(0.2, min(ratios))), memcpy_bps=max(1e8, copy))
    return _calibration


def measure_group(values: dict[str, Any], user_ns: dict[str, Any] | None, budget: float,
                  modules_by_name: bool = False, keep_seq: int | None = None, watch: Any = None) -> dict[str, Any]:
    """Size and speed of pickling `values` as one group. Modules count as unserializable unless
    `modules_by_name`: rerunning the cell that imported them also replays its configuration
    (matplotlib.use, pd.set_option), which importing by name would skip."""
    cal = calibrate()
    oob = [0]
    buffers: list[pickle.PickleBuffer] = []

    def count(pb: pickle.PickleBuffer) -> bool:
        try:
            oob[0] += pb.raw().nbytes
        except BufferError:
            return True
        buffers.append(pb)
        return False

    sink = _TimedSink(time.perf_counter() + budget, pickled.CACHE.room() if keep_seq is not None else 0, watch)
    t0 = time.perf_counter()
    try:
        with Bounded(user_ns, budget):
            try:
                for v in values.values():
                    if modules_by_name and kinds.importable_module(v):
                        continue
                    reason = kinds.unserializable_reason(v)
                    if reason is not None:
                        return {"serializable": False, "reason": reason}
            except Exception as e:  # a hostile object (its __getattribute__ raises): this group only
                return {"serializable": False, "reason": f"{type(e).__name__}: {e}"[:500]}
            serialize.dumps_group(values, user_ns, sink, count)
    except UserCodeOverBudget:
        # Given up, not waited on: what was reached is a lower bound of the cost.
        return _result(sink.n, oob[0], time.perf_counter() - t0, cal, "lower-bound")
    except _Budget:
        return _estimate(values, user_ns, sink, oob[0], time.perf_counter() - t0, cal)
    except RecursionError:
        return {"serializable": False, "reason": "recursion limit while pickling"}
    except Exception as e:
        return {"serializable": False, "reason": f"{type(e).__name__}: {e}"[:500]}
    dump = time.perf_counter() - t0
    if keep_seq is not None and sink.chunks is not None:
        pickled.CACHE.put(values, keep_seq, b"".join(sink.chunks), buffers)
    return _result(sink.n, oob[0], dump, cal, estimate=None)


def _result(inband: float, oob: float, dump: float, cal: dict[str, float], estimate: str | None) -> dict[str, Any]:
    return {
        "serializable": True,
        "bytes": int(inband + oob),
        "inbandBytes": int(inband),
        "oobBytes": int(oob),
        "dumpSec": dump,
        "loadSecEst": dump * cal["load_over_dump"] + oob / cal["memcpy_bps"],
        "estimate": estimate,
    }


def _estimate(values: dict[str, Any], user_ns: dict[str, Any] | None, sink: _TimedSink, oob: int,
              spent: float, cal: dict[str, float]) -> dict[str, Any]:
    big = [v for v in values.values() if isinstance(v, (list, tuple, dict, set, frozenset)) and len(v) > 1000]
    if len(values) == 1 and big:
        v = big[0]
        n = len(v)
        k = 1000
        seq = list(v.items()) if isinstance(v, dict) else list(v) if isinstance(v, (set, frozenset)) else v
        sample = [seq[i * n // k] for i in range(k)]
        s_oob = [0]

        def count(pb: pickle.PickleBuffer) -> bool:
            s_oob[0] += pb.raw().nbytes
            return False

        sink2 = _TimedSink(time.perf_counter() + 60.0)
        t0 = time.perf_counter()
        try:
            with Bounded(user_ns, max(spent, 1.0)):
                serialize.dumps_group({"sample": sample}, user_ns, sink2, count)
        except (UserCodeOverBudget, _Budget):
            return _result(sink.n, oob, spent, cal, "lower-bound")
        except Exception as e:
            return {"serializable": False, "reason": f"{type(e).__name__}: {e}"[:500], "estimate": "sample"}
        scale = n / k
        return _result(sink2.n * scale, s_oob[0] * scale, (time.perf_counter() - t0) * scale, cal, "sample")
    out = _result(sink.n, oob, spent, cal, "lower-bound")
    return out


def _installed(value: Any) -> bool:
    """Not a module, or a module any kernel of this Python imports by name: built in, or from the
    installation (stdlib, site-packages, the user's site-packages)."""
    if not issubclass(type(value), types.ModuleType):  # type(): isinstance would ask a hostile __class__
        return True
    spec = getattr(value, "__spec__", None)
    origin = getattr(spec, "origin", None)
    if origin in ("built-in", "frozen"):
        return True
    if not isinstance(origin, str):
        return False  # a namespace package or a module made in memory: only its cell knows how
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, site.getusersitepackages()}
    path = os.path.realpath(origin)
    return any(path.startswith(os.path.realpath(root) + os.sep) for root in roots)


def _by_name(shim: "Shim", group: list[str], variables: dict[str, Any]) -> bool:
    """May this group's modules be saved by name (re-imported) rather than by rerunning their cell?
    Yes when there is no cell to rerun (bound before the shim attached, or loaded); when the cell
    must not be rerun: it had side effects (they would happen again) or computed values a rerun
    cannot reproduce (they would come back different, or be saved and mixed with new ones); and
    when the cell also computed: rerunning it for a module would rebind its other names, so the
    plan would rerun (or reload after) everything that later changed them. Only an import-only
    cell is left to be rerun: it is cheap, and it also replays its configuration (matplotlib.use,
    pd.set_option), which importing by name skips. Never for a module only this session can import
    (a file the notebook wrote, a directory it put on sys.path): its cell is rerun as before."""
    ns = shim.recorder.ns
    if not all(_installed(ns.get(n)) for n in group):
        return False
    if all(variables[n]["provenance"] != "cell" for n in group):
        return True
    for n in group:
        rec = shim.history.get(variables[n]["writer"]) if variables[n]["writer"] else None
        if rec is None or rec.get("sideEffects") or rec.get("nondeterministic") or not rec.get("importOnly"):
            return True
    return False


def op_measure(shim: "Shim", args: dict[str, Any], bufs: list[memoryview], watch: Any = None) -> tuple[Any, list[bytes]]:
    """`watch`: measuring on the background lane (lane.py)."""
    if shim.background is not None and shim.background.in_flight():
        # The namespace is not whole yet: a checkpoint now would record the names still arriving as gone.
        raise OpError("a restore is still loading variables in the background (background.py); "
                      "checkpoint once it has finished")
    rec = shim.recorder
    reduced.MEMO.start()  # a notebook object's __reduce__ runs once in all passes below
    try:
        with Bounded(rec.ns, float(args.get("budgetSec") or 2.0)), rec.lock:
            rec.sync_pending_outside()  # probes what changed outside cells
        shim.unobserved.check_threads()
        with arraymemo.shared_digests():
            result = _op_measure(shim, args, watch)
        shim.lineage.last_measurement = result[0]  # a checkpoint that commits it pins it (lineage.py)
        return result
    finally:
        reduced.MEMO.stop()


def _op_measure(shim: "Shim", args: dict[str, Any], watch: Any = None) -> tuple[Any, list[bytes]]:
    rec = shim.recorder
    ns = rec.ns
    algo = args.get("algo") or hashing.DEFAULT_ALGO
    if algo not in hashing.available_algos():
        raise OpError(f"hash algorithm {algo!r} not available here")
    want = args.get("names")
    with rec.lock:
        names = sorted(rec.snapshot) if want is None else [n for n in want if n in rec.snapshot]
        reuse = _reuse_of(shim, args, algo)
    budget = float(args.get("budgetSec") or 2.0)
    t_start = time.perf_counter()
    reuse = _reuse_of(shim, args, algo)
    return _measure(shim, ns, names, algo, budget, t_start, reuse, None if reuse else _suspect_of(shim, args, algo), watch)


class _Reuse:
    """An earlier measurement of this kernel and the names written since it: every other name, and
    every group with no written name and the same members, is taken from it as it was."""

    __slots__ = ("variables", "groups", "changed")

    def __init__(self, previous: dict[str, Any], changed: set[str]) -> None:
        self.variables: dict[str, Any] = previous.get("variables") or {}
        self.groups = {tuple(sorted(g["names"])): g for g in previous.get("groups") or []}
        self.changed = changed

    def variable(self, name: str) -> dict[str, Any] | None:
        v = self.variables.get(name)
        return None if name in self.changed or v is None else {k: x for k, x in v.items() if k != "group"}

    def group(self, names: list[str]) -> dict[str, Any] | None:
        if any(n in self.changed for n in names):
            return None
        g = self.groups.get(tuple(sorted(names)))
        return None if g is None else {k: x for k, x in g.items() if k not in ("id", "names")}


def _reuse_of(shim: "Shim", args: dict[str, Any], algo: str) -> _Reuse | None:
    """Reuse only what the coordinator vouches for: `changed` (names written since `previous`, from
    the history up to `since`) and a `previous` of the same algorithm. If the history moved past
    `since` (a change outside cells recorded just now), or anything is missing: measure it all."""
    previous, changed, since = args.get("previous"), args.get("changed"), args.get("since")
    if not isinstance(previous, dict) or not isinstance(changed, list) or since is None:
        return None
    if previous.get("algo") != algo or int(since) != shim.history.last_seq:
        return None
    # Code outside recorded cells ran since (unobserved.py): any name may have changed in place.
    if previous.get("unobserved") != shim.unobserved.count:
        return None
    return _Reuse(previous, set(changed))


def _suspect_of(shim: "Shim", args: dict[str, Any], algo: str) -> _Reuse | None:
    """A `previous` refused only because code outside recorded cells ran since: its fingerprints
    still tell which names that code changed in place (they differ, and no record wrote them)."""
    previous, changed, since = args.get("previous"), args.get("changed"), args.get("since")
    if not isinstance(previous, dict) or not isinstance(changed, list) or since is None:
        return None
    if previous.get("algo") != algo or int(since) != shim.history.last_seq:
        return None
    return _Reuse(previous, set(changed))


def _measure(shim: "Shim", ns: dict[str, Any], names: list[str], algo: str, budget: float,
             t_start: float, reuse: _Reuse | None = None, suspect: _Reuse | None = None,
             watch: Any = None) -> tuple[Any, list[bytes]]:
    """`watch` (lane.Watch): measuring in the background, beside the cells; it stops (Preempted)
    as soon as a cell starts, and the recorder's state is touched only under its lock."""
    rec = shim.recorder
    unobserved = shim.unobserved.count  # as the measure starts: code running during it counts after
    variables: dict[str, Any] = {}
    bound = Bounded(ns, budget)  # per variable: notebook code the probe calls may not block it
    for n in names:  # fresh probes: current fingerprints and current sharing
        kept = reuse.variable(n) if reuse else None
        if kept is not None:  # not written since: its fingerprint and sharing facts still hold
            variables[n] = kept
            continue
        # strong, process-independent digest for verification
        pr = bounded_probe(bound, ns[n], ns, algo) if watch is None else watch.probe(ns[n], ns, algo)
        with rec.lock:
            rec.index.refresh(n, pr.shared)  # and fresh sharing facts for grouping
            rec.reach_known(n)  # once no reach is unknown, the tokens (and their over-grouping) go
            ent = rec.entries.get(n)
        variables[n] = {
            "type": type(ns[n]).__qualname__,
            "module": type(ns[n]).__module__,
            "fingerprint": pr.digest,
            "reliable": pr.reliable,
            # An intact load of it proves its value: verification need not fingerprint it again.
            "faithful": pr.reliable and pr.unfaithful is None,
            "fingerprintSec": pr.seconds,
            "provenance": ent.provenance if ent else "unknown",
            "writer": ent.writer if ent else 0,
        }
    with rec.lock:
        if suspect is not None:
            rec.record_changed_in_place([n for n in names if (was := suspect.variable(n)) is not None and was.get(
                "reliable") and was.get("fingerprint") != variables[n]["fingerprint"]])
        groups = rec.index.groups(names)
    out_groups = []
    pickled.CACHE.clear()  # pickles of an earlier measure are stale by now
    for gid, g in enumerate(groups):
        for n in g:
            variables[n]["group"] = gid
        info = reuse.group(g) if reuse else None
        if info is not None:
            info["reused"] = True
        else:
            by_name = _by_name(shim, g, variables)
            info = measure_group({n: ns[n] for n in g}, ns, budget, modules_by_name=by_name,
                                 keep_seq=shim.history.last_seq, watch=watch)
            if not info["serializable"]:
                part = saveable_part({n: ns[n] for n in g}, measure_group, budget, keep_seq=shim.history.last_seq,
                                     user_ns=ns, modules_by_name=by_name, watch=watch)
                if part is not None:
                    info["saveable"] = part
            info["reused"] = False
        info["id"] = gid
        info["names"] = g
        out_groups.append(info)
    # The state measured is the one after record `seq`: save refuses to run after another record
    # (a cell run meanwhile), so a checkpoint is never a mix of two states.
    return {"algo": algo, "pickler": serialize.pickler_name(), "variables": variables, "groups": out_groups,
            "seq": shim.history.last_seq, "unobserved": unobserved, "calibration": dict(_calibration),
            "seconds": time.perf_counter() - t_start}, []
