"""Transparent per-cell lineage recording through IPython's pre/post_run_cell events.

Per cell:
* pre: detect changes made outside recorded cells (silent executes, other tools) and emit an
  `outside` record; analyze the transformed cell; close the referenced names over user code
  reachable from them; pick modification candidates = those names + variables sharing objects
  with them; make sure each candidate has a pre-cell fingerprint; capture RNG states; open the
  audit window.
* post: diff the namespace (created/deleted/rebound by id), re-fingerprint only the candidates,
  compare, and emit one record.

Cost is proportional to what the cell references, not to the namespace size. Every step is
contained: an internal error degrades to "everything the cell may touch is modified".
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from . import arraysum, budget, cellscan, envreads, idlecheck, importonly, kinds, passes, pickled, pureuse, rng
from .audit import CellAudit
from .history import History, Record
from .namespace import NameFilter
from .probe import RECORD_ALGO, ArrayCache, Probe, probe
from .sharing import SharingIndex
from .userbound import Bounded

STATEFUL_PACKAGES = frozenset({"matplotlib", "seaborn"})  # module-global state (pyplot's figures)
_MAX_RNG_STATES = 2000
SETTLE_WAIT_SEC = 10.0  # a lane request waits this long for the main thread to finish a check


@dataclass
class Entry:
    obj_id: int
    type_name: str
    package: str
    probe: Probe
    provenance: str  # "cell" | "unknown" | "loaded"
    writer: int  # seq of the record that last created/modified it (0: before attach)


@dataclass
class Pending:
    info: Any
    t_start: float
    started_at: float
    before: dict[str, int]
    candidates: set[str]
    direct: set[str]  # referenced by the cell or by user code it reaches (may have been written)
    reads: set[str]
    ana: cellscan.CellAnalysis
    touch_all: bool
    nondet: list[str]
    rng_before: rng.State
    t_exec: float = 0.0
    errors: list[str] = field(default_factory=list)
    pre_hash_sec: float = 0.0  # spent on missing baselines before the cell (counts against its budget)
    drained_sec: float = 0.0  # the previous cell's check, finished in this cell's pre hook
    src: str = ""  # transformed source
    via_code: set[str] = field(default_factory=set)  # names used by user code the cell reaches
    stateful: set[str] = field(default_factory=set)  # matplotlib-style candidates
    own_first: set[str] = field(default_factory=set)  # read only after the cell bound them (assigned_first.py)
    env_reads: envreads.Reads | None = None  # environment lookups while it ran (envreads.py)


def _ipython_dirs(shell: Any) -> list[str]:
    """IPython's own profile dir and history database dir: its writes there are housekeeping."""
    out = []
    for owner, attr in ((getattr(shell, "profile_dir", None), "location"),
                        (getattr(shell, "history_manager", None), "hist_file")):
        v = getattr(owner, attr, None)
        if isinstance(v, (str, os.PathLike)) and str(v) != ":memory:":
            out.append(os.path.dirname(str(v)) if attr == "hist_file" else str(v))
    return out


class Recorder:
    def __init__(self, shell: Any, history: History, on_record: Callable[[Record], None],
                 algo: str | None = None) -> None:
        self.shell = shell
        self.history = history
        self.on_record = on_record
        self.algo = algo or RECORD_ALGO  # in-kernel change detection; measure uses a strong hash
        self.cache = ArrayCache()
        # Names whose pass, tried over its estimate, was cut off without pinning anything more
        # (passes.after_cell): by object id, tried again only for another object.
        self.stalled: dict[str, int] = {}
        self.filter = NameFilter(getattr(shell, "user_ns_hidden", None))
        self.entries: dict[str, Entry] = {}
        self.index = SharingIndex()
        self.unknown: set[str] = set()
        self.unknown_reach: set[str] = set()  # unhashed since their last probe: tied by tokens
        self.snapshot: dict[str, int] = {}
        self.pending: list[Pending] = []
        self.nested = 0
        self.audit = CellAudit(_ipython_dirs(shell))
        self.env_reads = envreads.Tracker()
        self.rng_states: OrderedDict[int, rng.State] = OrderedDict()
        self.exec_thread = threading.get_ident()
        self.enabled = True
        # Background operations (lane.py) run on a subshell thread beside the cells: `generation`
        # moves when a cell starts (before anything else in its hook), so they can tell that the
        # namespace may be changing under them; `lock` keeps them out of the recorder's state
        # while a hook updates it (and the hooks out while they read it).
        self.generation = 0
        self.lock = threading.RLock()
        # The last cell's fingerprint pass, when it runs after the reply (idlecheck.py); `settled`
        # is notified when it is done (lane requests wait for it).
        self.check: idlecheck.Check | None = None
        self.schedule: idlecheck.Scheduler = idlecheck.on_event_loop
        self.settled = threading.Condition(self.lock)
        self._drained_sec = 0.0  # drained by this execute's pre_execute: counts against its cell
        self._steps: list[tuple[float, float]] = []  # wall-clock spans of idle steps since the last execute

    @property
    def ns(self) -> dict[str, Any]:
        return self.shell.user_ns  # type: ignore[no-any-return]

    # -- entries -------------------------------------------------------------------------------
    def probe_into(self, name: str, value: Any, *, digest: bool = True, provenance: str | None = None,
                   writer: int | None = None, use_cache: bool = True, fresh: set[int] | None = None,
                   deadline: float | None = None) -> Entry | None:
        """Probe and store the facts; None (nothing stored) if the pass ran past `deadline`."""
        pr = probe(value, self.ns, algo=self.algo, digest=digest, cache=self.cache, use_cache=use_cache,
                   fresh=fresh, deadline=deadline)
        if pr.aborted:
            return None
        self.store(name, value, pr, provenance, writer)
        self.index.refresh(name, pr.shared)
        self.reach_known(name)
        return self.entries[name]

    def store(self, name: str, value: Any, pr: Probe, provenance: str | None = None,
              writer: int | None = None) -> None:
        """Record `pr` as the facts of `name` (the sharing index is the caller's business)."""
        old = self.entries.get(name)
        self.entries[name] = Entry(id(value), type(value).__qualname__, kinds.top_package(value) if not isinstance(
            value, type) else (value.__module__ or "").split(".")[0], pr,
            provenance or (old.provenance if old else "cell"),
            writer if writer is not None else (old.writer if old else 0))

    def reach_known(self, name: str) -> None:
        """`name` has exact sharing facts again; once no variable's reach is unknown, every fact in
        the index is exact and the tokens standing for unknown reach can go."""
        if name in self.unknown_reach:
            self.unknown_reach.discard(name)
            if not self.unknown_reach:
                self.index.clear_tokens()

    def forget(self, name: str) -> None:
        self.entries.pop(name, None)
        self.stalled.pop(name, None)
        self.index.drop(name)
        self.unknown.discard(name)
        self.reach_known(name)

    def scan_existing(self) -> None:
        """At attach: reach-only probes (no hashing) of variables of unknown provenance."""
        arraysum.warm()
        ns = self.ns
        snap = self.filter.snapshot(ns)
        for name in snap:
            try:
                self.probe_into(name, ns[name], digest=False, provenance="unknown", writer=0)
            except Exception:
                pass
        self.unknown = set(snap)
        self.snapshot = snap

    def has_baseline(self, name: str) -> bool:
        e = self.entries.get(name)
        return e is not None and e.probe.digested and e.obj_id == self.snapshot.get(name, e.obj_id)

    def estimate(self, name: str, value: Any) -> float:
        """Seconds a full pass over `name` should take: its last pass over this object, the
        backed-off estimate of an unhashed entry, else a structural guess."""
        e = self.entries.get(name)
        last = None
        if e is not None and e.obj_id == id(value):
            last = e.probe.seconds if e.probe.digested else e.probe.estimate
        return budget.estimate(value, last)

    def sync_snapshot(self, names: list[str] | None = None) -> None:
        """Accept current bindings as known (after the coordinator's own loads)."""
        snap = self.filter.snapshot(self.ns)
        if names is None:
            self.snapshot = snap
        else:
            for n in names:
                if n in snap:
                    self.snapshot[n] = snap[n]
                else:
                    self.snapshot.pop(n, None)

    def sync_pending_outside(self) -> None:
        """Between cells (coordinator requests): record changes made outside recorded cells."""
        self.settle()
        if not self.pending:
            self._reconcile(self.filter.snapshot(self.ns))

    # -- IPython events ------------------------------------------------------------------------
    def pre_run_cell(self, info: Any) -> None:
        if not self.enabled or threading.get_ident() != self.exec_thread:
            return  # subshell threads: their effects show up as "outside" changes later
        self.generation += 1
        with self.lock:
            t0 = time.perf_counter()
            self.settle()
            drained = self._drained_sec + time.perf_counter() - t0
            self._drained_sec = 0.0
            self._pre_run_cell(info)
            if self.pending and not self.nested:
                self.pending[-1].t_start -= drained  # the previous cell's check delayed this one
                self.pending[-1].drained_sec = drained

    def pre_execute(self) -> None:
        """Any execute (silent ones too, which run code that may change variables): the last
        cell's check first."""
        if threading.get_ident() != self.exec_thread:
            return
        t0 = time.perf_counter()
        waited = idlecheck.waited_for_steps(self.shell, self._steps)
        self._steps = []
        self.settle()
        self._drained_sec = waited + time.perf_counter() - t0

    # -- the check after the reply (idlecheck.py) ------------------------------------------------
    def settle(self) -> bool:
        """Finish the last cell's check: now on the main thread; elsewhere (a lane request) wait up
        to SETTLE_WAIT_SEC for the main thread to. False if it is still pending."""
        if threading.get_ident() != self.exec_thread:
            with self.settled:
                return self.settled.wait_for(lambda: self.check is None, timeout=SETTLE_WAIT_SEC)
        with self.lock:
            while self.check is not None:
                self._advance(None)
        return True

    def idle_step(self) -> None:
        """One name of the pending check, then yield to the event loop (requests, the next cell)."""
        if self.check is None or self.pending or threading.get_ident() != self.exec_thread:
            return  # done, or a cell started (it drained the check first)
        t0 = time.time()
        with self.lock:
            self._advance(1)
        self._steps.append((t0, time.time()))
        del self._steps[:-64]  # only the last few can overlap a request just sent
        if self.check is not None and not self.schedule(self.idle_step):
            self.settle()

    def _advance(self, count: int | None) -> None:
        c = self.check
        if c is None:
            return
        t0 = time.perf_counter()
        try:
            with budget.gc_paused():
                self._check_step(c, count)
                if c.todo:
                    c.later_sec += time.perf_counter() - t0
                    return
                c.later_sec += time.perf_counter() - t0
                rec = self._post_end(c)
        except Exception:
            self.audit.active = False
            self.env_reads.active = False
            rec = self._fallback_record(c.p, c.result, traceback.format_exc(limit=3))
        self.check = None
        self._emit(rec, writes=rec.get("created", []) + rec.get("modified", []))
        self.settled.notify_all()

    def _pre_run_cell(self, info: Any) -> None:
        pickled.CACHE.clear()  # a measure's pickles are stale once a cell runs (and hold memory)
        if self.pending:
            if getattr(info, "store_history", False):  # a post_run_cell was lost
                self._finish(self.pending.pop(), None, lost=True)
                self.nested = 0
            else:  # %%capture and friends run nested cells: the outer record covers them
                self.nested += 1
                return
        try:
            with budget.gc_paused():
                p = self._pre(info)
        except Exception:
            p = self._fallback_pending(info, traceback.format_exc(limit=3))
        self.pending.append(p)
        p.t_exec = time.perf_counter()
        self.audit.start()
        self.env_reads.start()

    def post_run_cell(self, result: Any) -> None:
        if not self.enabled or threading.get_ident() != self.exec_thread or not self.pending:
            return
        with self.lock:
            self._post_run_cell(result)

    def _post_run_cell(self, result: Any) -> None:
        info = getattr(result, "info", None)
        if info is not self.pending[-1].info:
            if self.nested:
                self.nested -= 1
            return
        p = self.pending.pop()
        self._finish(p, result)

    # -- pre -----------------------------------------------------------------------------------
    def _transform(self, src: str) -> str:
        return self.shell.transform_cell(src)  # type: ignore[no-any-return]

    def _pre(self, info: Any) -> Pending:
        t0 = time.perf_counter()
        ns = self.ns
        snap = self.filter.snapshot(ns)
        self._reconcile(snap)
        src = getattr(info, "transformed_cell", None)
        if src is None:
            src = self._transform(info.raw_cell)
        ana = cellscan.analyze(src, self._transform)
        names, loads, dynamic, nondet, via_code, code_loads = self._closure(ana, snap)
        touch_all = ana.touch_all or dynamic
        stateful: set[str] = set()
        if touch_all:
            cands = direct = set(snap)
        else:
            direct = names & snap.keys()
            stateful = self._stateful(direct, snap)
            cands = direct | self.index.partners(direct) | stateful
        reads = set(snap) if (ana.reads_all or dynamic) else (loads & snap.keys())
        # A name the cell binds before reading it is not read from earlier cells, unless code of an
        # earlier cell's function it calls reads it too (at a moment the cell's order cannot tell).
        own_first = set() if (ana.reads_all or dynamic) else ana.assigned_first - code_loads
        errors: list[str] = []
        t_hash = time.perf_counter()
        passes.baselines(self, cands, errors)
        return Pending(info, t0, time.time(), snap, cands, direct, reads, ana, touch_all, nondet,
                       rng.capture(), errors=errors, pre_hash_sec=time.perf_counter() - t_hash, src=src,
                       via_code=via_code, stateful=stateful, own_first=own_first)

    def _fallback_pending(self, info: Any, err: str) -> Pending:
        try:
            snap = self.filter.snapshot(self.ns)
        except Exception:
            snap = dict(self.snapshot)
        ana = cellscan.CellAnalysis(reads_all=True, touch_all=True)
        return Pending(info, time.perf_counter(), time.time(), snap, set(snap), set(snap), set(snap), ana, True,
                       [], rng.capture(), errors=[err])

    def _closure(self, ana: cellscan.CellAnalysis, snap: dict[str, int]
                 ) -> tuple[set[str], set[str], bool, list[str], set[str], set[str]]:
        """Add names used by user functions/classes reachable from referenced variables (F15).
        Also returns the names that came from that user code, and the names it loads."""
        names, loads = set(ana.names), set(ana.loads)
        via_code: set[str] = set()
        code_loads: set[str] = set()
        nondet = list(ana.nondet)
        dynamic = False
        stack = [n for n in names if n in snap]
        seen: set[str] = set()
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            e = self.entries.get(n)
            if e is None or not e.probe.code_names:
                continue
            pr = e.probe
            via_code |= pr.code_names
            names |= pr.code_names
            loads |= pr.code_loads
            code_loads |= pr.code_loads
            dynamic |= pr.code_dynamic
            nondet.extend(x for x in pr.nondet if x not in nondet)
            stack.extend(x for x in pr.code_names if x in snap and x not in seen)
        return names, loads, dynamic, nondet, via_code, code_loads

    def _stateful(self, direct: set[str], snap: dict[str, int]) -> set[str]:
        """pyplot-style libraries mutate figures through module state: include their objects."""
        if not STATEFUL_PACKAGES & sys.modules.keys():
            return set()
        ns = self.ns
        for n in direct:
            v = ns.get(n)
            mod = v.__name__ if isinstance(v, type(sys)) else getattr(v, "__module__", None) or ""
            if isinstance(mod, str) and mod.split(".")[0] in STATEFUL_PACKAGES:
                return {m for m in snap if (e := self.entries.get(m)) is not None and e.package in STATEFUL_PACKAGES}
        return set()

    def _reconcile(self, snap: dict[str, int]) -> None:
        """Changes between the last record and now were made outside recorded cells (F8)."""
        old = self.snapshot
        if old == snap:
            return
        created = sorted(n for n in snap if n not in old)
        deleted = sorted(n for n in old if n not in snap)
        rebound = sorted(n for n in snap if n in old and old[n] != snap[n])
        ns = self.ns
        for n in deleted:
            self.forget(n)
        for n in created + rebound:
            try:
                self.probe_into(n, ns[n], digest=False, provenance="unknown")
            except Exception:
                pass
            self.unknown.add(n)
        self.snapshot = dict(snap)
        rec: Record = {"kind": "outside", "created": created, "modified": rebound, "deleted": deleted,
                       "rebound": rebound, "startedAt": time.time()}
        self._emit(rec, writes=created + rebound)

    def record_changed_in_place(self, names: list[str]) -> None:
        """`measure` found these names changed in place since its previous measurement, and no record
        wrote them: code outside recorded cells did (a thread, a callback). Recorded as an `outside`
        change, so that no plan rebuilds them by rerunning the cell that last wrote them."""
        if not names:
            return
        rec: Record = {"kind": "outside", "created": [], "modified": sorted(names), "deleted": [],
                       "rebound": [], "startedAt": time.time()}
        self._emit(rec, writes=sorted(names))

    # -- post ----------------------------------------------------------------------------------
    def _finish(self, p: Pending, result: Any, lost: bool = False) -> None:
        """The namespace diff now; the fingerprint pass after the reply when an event loop will
        run it (not for a lost post_run_cell: the next cell is starting), else now."""
        t0 = time.perf_counter()
        try:
            with budget.gc_paused():
                c = self._post_start(p, result, lost)
        except Exception:
            self.audit.active = False
            self.env_reads.active = False
            rec = self._fallback_record(p, result, traceback.format_exc(limit=3))
            self._emit(rec, writes=rec.get("created", []) + rec.get("modified", []))
            return
        self.check = c
        # Now, not when the pass ends: a background load may bind names between its steps
        # (under the lock) and add them to the snapshot itself.
        self.snapshot = c.after
        c.sync_sec = time.perf_counter() - t0
        if lost or not c.todo or not self.schedule(self.idle_step):
            c.inline = True
            self._advance(None)

    def _post_start(self, p: Pending, result: Any, lost: bool) -> idlecheck.Check:
        """What must be read right after the cell (namespace diff, audit, RNG), and the plan of
        the fingerprint pass (idlecheck.py)."""
        t_post = time.perf_counter()
        effects, inputs = self.audit.stop() if self.audit.active else ([], [])
        p.env_reads = self.env_reads.stop() if self.env_reads.active else None
        ns = self.ns
        after = self.filter.snapshot(ns)
        before = p.before
        created = [n for n in after if n not in before]
        deleted = [n for n in before if n not in after]
        rebound = {n for n in after if n in before and after[n] != before[n]}
        first = (p.direct & after.keys()) | rebound | set(created)
        partners = (p.candidates & after.keys()) - first
        olds = {n: self.entries.get(n) for n in first | partners}
        allowance = max(0.0, budget.allowance(t_post - p.t_exec) - p.pre_hash_sec)
        inspected: dict[str, set[str]] = {}
        # A proof that the cell only inspected a value is exact and costs less than a
        # millisecond; hashing the value again is worth it only when that is cheaper still.
        if (sum(self.estimate(n, ns[n]) for n in first | partners) > min(budget.INSPECT_SEC, allowance)
                and any(pureuse.family(ns[n]) for n in (p.direct & first) - rebound)):
            inspected = passes.inspected_only(self, p, first, rebound, after)
            if inspected:  # unchanged, exactly; so are partners reachable only through them
                first = first - inspected.keys()
                partners = partners & (self.index.partners(first) | p.stateful)
        todo = [(n, False) for n in passes.order(self, first)] + [(n, True) for n in passes.order(self, partners)]
        spent_so_far = time.perf_counter() - t_post
        return idlecheck.Check(p, result, lost, after, created, deleted, rebound, first, partners, inspected, olds,
                               effects, inputs, rng.capture(), t_post, allowance - spent_so_far, todo,
                               errors=list(p.errors))

    def _check_step(self, c: idlecheck.Check, count: int | None) -> None:
        """Fingerprint the next `count` names of the pass (all: None) within its remaining budget.
        Notebook code that hashing calls (a __reduce__ that sleeps) is given up once past the
        budget, instead of holding the kernel: that variable is then not fingerprinted (modified)."""
        t0 = time.perf_counter()
        take = c.todo[:] if count is None else c.todo[:count]
        del c.todo[:len(take)]
        deadline = t0 + c.budget_sec
        resumable = c.t_post - c.p.t_exec >= budget.RESUME_WALL_SEC
        with Bounded(self.ns, max(c.budget_sec, budget.USER_HOOK_FLOOR_SEC)):
            for n, partner in take:
                one = {n}
                passes.after_cell(self, set() if partner else one, one if partner else set(), c.rebound,
                                  set(c.created), c.olds, deadline, c.fresh, c.spent, c.modified, c.unreliable,
                                  c.errors, resumable)
        c.budget_sec -= time.perf_counter() - t0

    def _post_end(self, c: idlecheck.Check) -> Record:
        p, result, lost = c.p, c.result, c.lost
        created, deleted, rebound, inspected = c.created, c.deleted, c.rebound, c.inspected
        spent, modified, unreliable, errors = c.spent, c.modified, c.unreliable, c.errors
        t_post = c.t_post
        unhashed = list(spent)
        if unhashed:
            passes.unhash(self, spent, p, c.first | c.partners, c.olds)
        for n, targets in inspected.items():  # results bound to names may share its memory
            if targets:
                self.index.set(n, self.index.ids(n).union(*(self.index.ids(t) for t in targets)))
        for n in deleted:
            self.forget(n)
        for n in created + sorted(rebound):
            self.unknown.discard(n)
            if n in self.entries:
                self.entries[n].provenance = "cell"
        consumed = rng.consumed(p.rng_before, c.rng_after)
        nondet = list(p.nondet) + self._dynamic_nondet(created + sorted(modified), p, consumed)
        env, env_note = self._env_replay(nondet, p)
        if env is not None:
            nondet = [x for x in nondet if x not in envreads.REPLAYABLE_REASONS]
        info = p.info
        err = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        success = None if result is None else bool(getattr(result, "success", err is None))
        writes = set(created) | modified
        unser = {n: self.entries[n].probe.unserializable for n in sorted(writes)
                 if n in self.entries and self.entries[n].probe.unserializable}
        rec: Record = {
            "kind": "cell",
            "executionCount": getattr(result, "execution_count", None),
            "cellId": getattr(info, "cell_id", None),
            "code": getattr(info, "raw_cell", ""),
            "startedAt": p.started_at,
            "wallSec": t_post - p.t_exec,
            "success": success,
            "error": {"ename": type(err).__name__, "evalue": str(err)[:500]} if err is not None else None,
            "read": sorted(p.reads - p.own_first),
            "created": sorted(created),
            "modified": sorted(modified),
            "deleted": sorted(deleted),
            "rebound": sorted(rebound),
            "readsAll": p.ana.reads_all or (p.touch_all and not p.ana.touch_all),
            "touchAll": p.touch_all,
            "unserializable": unser,
            "unknownFingerprint": sorted(unreliable),
            "unhashed": sorted(unhashed),
            "inspectedOnly": sorted(inspected),
            "importOnly": self._binds_modules(created + sorted(rebound)) and importonly.import_only(p.src),
            "rngConsumed": sorted(k for k, v in consumed.items() if v),
            # Clock reads count too: a rerun gives other values, so their outputs are worth saving.
            "nondeterministic": bool(nondet),
            "nondeterminism": nondet,
            "sideEffects": c.effects,
            "inputs": c.inputs,
            "envReplay": sorted(env or ()),
            "notes": list(p.ana.notes) + ([env_note] if env_note else []) + (["post_run_cell not received"] if lost else []),
            "internalErrors": errors,
        }
        # What delayed this cell: its pre hook (with any drain of the previous cell's check) and its
        # post hook; the part of its check that ran after its reply is `deferredSec`.
        post = time.perf_counter() - t_post if c.inline else c.sync_sec
        rec["overheadSec"] = (p.t_exec - p.t_start) + post
        rec["deferredSec"] = 0.0 if c.inline else c.later_sec
        rec["drainedSec"] = p.drained_sec  # part of overheadSec: the previous cell's check
        rec["_rng_before"] = {k: v for k, v in p.rng_before.items() if consumed.get(k)}
        if env:
            rec["_rng_before"]["env"] = env
        return rec

    @staticmethod
    def _env_replay(nondet: list[str], p: Pending) -> tuple[dict[str, str | None] | None, str | None]:
        """The environment values to replay when the cell reruns, if reading them is all that made
        it nondeterministic and they can be replayed (envreads.py); else None, and why not."""
        if not any(x in envreads.REPLAYABLE_REASONS for x in nondet):
            return None, None
        why = "its lookups were not observed" if p.env_reads is None else envreads.replay_verdict(p.env_reads)
        if why is not None:
            return None, f"environment reads not replayable: {why}"
        assert p.env_reads is not None
        return p.env_reads.values, None

    def _binds_modules(self, names: list[str]) -> bool:
        ns = self.ns
        return any(isinstance(ns.get(n), type(sys)) for n in names)

    def _dynamic_nondet(self, written: list[str], p: Pending, consumed: dict[str, bool]) -> list[str]:
        out: list[str] = []
        npr = sys.modules.get("numpy.random")
        if npr is not None:
            ns = self.ns
            for n in written:
                v = ns.get(n)
                bitgen = getattr(v, "bit_generator", None) if isinstance(v, getattr(npr, "Generator", ())) else None
                seq = getattr(bitgen, "seed_seq", None)
                ent = getattr(seq, "entropy", None)
                if isinstance(ent, int) and ent >= 1 << 64:
                    out.append(f"unseeded:{n} (OS entropy)")
            if "numpy" not in p.rng_before and rng.numpy_global_drawn(rng.capture(), p.ana.attrs | p.ana.loads):
                out.append("unseeded:numpy.random (first use in this cell)")
        return [x for x in out if x not in p.nondet]

    def _fallback_record(self, p: Pending, result: Any, err: str) -> Record:
        try:
            after = self.filter.snapshot(self.ns)
        except Exception:
            after = dict(p.before)
        self.snapshot = after
        names = sorted(set(after) | set(p.before))
        return {"kind": "cell", "executionCount": getattr(result, "execution_count", None),
                "cellId": getattr(p.info, "cell_id", None), "code": getattr(p.info, "raw_cell", ""),
                "startedAt": p.started_at, "wallSec": None, "success": getattr(result, "success", None),
                "error": None, "read": names, "created": sorted(set(after) - set(p.before)),
                "modified": sorted(set(after) & set(p.before)), "deleted": sorted(set(p.before) - set(after)),
                "rebound": [], "readsAll": True, "touchAll": True, "unserializable": {},
                "unknownFingerprint": [], "rngConsumed": [], "nondeterministic": False,
                "nondeterminism": [], "envReplay": [], "sideEffects": [], "inputs": [], "notes": [],
                "internalErrors": [err]}

    def _emit(self, rec: Record, writes: list[str]) -> None:
        rng_before = rec.pop("_rng_before", None)
        self.history.append(rec)
        seq = rec["seq"]
        for n in writes:
            e = self.entries.get(n)
            if e is not None:
                e.writer = seq
        if rng_before:
            self.rng_states[seq] = rng_before
            rec["rngSaved"] = True
            while len(self.rng_states) > _MAX_RNG_STATES:
                self.rng_states.popitem(last=False)
        elif rec.get("kind") == "cell":
            rec["rngSaved"] = False
        try:
            self.on_record(rec)
        except Exception:
            pass
