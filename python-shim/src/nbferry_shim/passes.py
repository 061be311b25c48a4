"""The fingerprint passes around a cell, within the hashing budget (budget.py): missing
baselines before it, candidates after it, then what becomes of variables left unhashed and of
variables the cell provably only inspected (pureuse.py). Functions of the Recorder's state.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from . import budget, kinds, pinned, pureuse, quickreach
from .probe import Probe

if TYPE_CHECKING:
    from .recorder import Entry, Pending, Recorder


def baselines(rec: Recorder, cands: set[str], errors: list[str]) -> None:
    """Before the cell: fingerprint candidates that have none yet, cheapest first, within
    PRE_SEC (the cell's length is not known yet). The rest compare as modified, as do
    variables whose last fingerprint was unreliable (a baseline would not help them)."""
    ns = rec.ns
    todo = sorted((quickreach.likely(ns[n]), rec.estimate(n, ns[n]), n) for n in cands
                  if n in ns and not rec.has_baseline(n) and _may_be_reliable(rec, n))
    deadline = time.perf_counter() + budget.PRE_SEC
    for _, est, n in todo:
        t0 = time.perf_counter()
        small = budget.trivial(ns[n])
        if t0 + est > deadline and not small:
            continue
        try:
            if rec.probe_into(n, ns[n], deadline=None if small else deadline) is None:
                _back_off(rec, n, 2 * max(est, time.perf_counter() - t0))
        except Exception as e:
            errors.append(f"pre-probe {n}: {type(e).__name__}")


def _may_be_reliable(rec: Recorder, name: str) -> bool:
    e = rec.entries.get(name)
    return e is None or not e.probe.digested or not e.probe.opaque


def _back_off(rec: Recorder, name: str, estimate: float) -> None:
    """A pass over `name` ran past its deadline: expect at least this long next time."""
    e = rec.entries.get(name)
    if e is not None and not e.probe.digested:
        e.probe = dataclasses.replace(e.probe, estimate=min(budget.MAX_ESTIMATE_SEC, estimate))


def order(rec: Recorder, names: set[str]) -> list[str]:
    """The order a pass takes `names` in (as after_cell does): cheapest first, arrays and frames last."""
    ns = rec.ns
    return [n for _, _, n in sorted((quickreach.likely(ns[n]), rec.estimate(n, ns[n]), n) for n in names)]


def after_cell(rec: Recorder, first: set[str], partners: set[str], rebound: set[str], created: set[str],
               olds: dict[str, Entry | None], deadline: float, fresh: set[int], spent: dict[str, float],
               modified: set[str], unreliable: list[str], errors: list[str], resumable: bool = False) -> None:
    """Fingerprint after the cell. Touched variables first, cache off (collecting `fresh`),
    then mere sharing partners, which may reuse cached array digests unless a touched
    variable went unhashed (its arrays are then unknown). Cheapest first within each, until
    the deadline; trivial values always. Unhashed names go to `spent` with their next
    estimate (doubled when a pass ran over). Arrays and frames go last: left unhashed they
    only count as modified, while an object of unknown structure also needs a token."""
    ns = rec.ns
    for group in (first, partners):
        use_cache = group is partners and not spent
        for _, est, n in sorted((quickreach.likely(ns[n]), rec.estimate(n, ns[n]), n) for n in group):
            old = olds[n]
            e = None
            t0 = time.perf_counter()
            small = budget.trivial(ns[n])
            tried = small or t0 + est <= deadline
            # Over its estimate, a pass may still pin some of its text columns before the
            # deadline (pinned.py): the next pass starts from there. Tried with what is left,
            # for values with text, or for any value after a cell long enough for the attempt
            # to stay a small part of it (`resumable`); until an attempt pins nothing more.
            resume = (not tried and deadline - t0 >= budget.RESUME_SEC
                      and rec.stalled.get(n) != id(ns[n]) and (resumable or pinned.pinnable(ns[n])))
            pins_before = rec.cache.objects.added
            if tried or resume:
                try:
                    e = rec.probe_into(n, ns[n], use_cache=use_cache, fresh=fresh,
                                       deadline=None if small else deadline)
                except Exception as ex:
                    errors.append(f"probe {n}: {type(ex).__name__}")
                    rec.forget(n)
                    modified.add(n)
                    continue
            if e is None:
                if resume:
                    spent[n] = est
                    if rec.cache.objects.added == pins_before:
                        rec.stalled[n] = id(ns[n])
                else:
                    spent[n] = 2 * max(est, time.perf_counter() - t0) if tried else est
                if n not in created:
                    modified.add(n)
                continue
            rec.stalled.pop(n, None)
            if not e.probe.reliable:
                unreliable.append(n)
            if n in created:
                continue
            if (n in rebound or old is None or not old.probe.reliable or not e.probe.reliable
                    or old.probe.digest != e.probe.digest):
                modified.add(n)


def inspected_only(rec: Recorder, p: Pending, first: set[str], rebound: set[str], after: dict[str, int]
                   ) -> dict[str, set[str]]:
    """Names the cell provably left unchanged (pureuse), with the names bound to results that
    may share their memory. Not for names used by user code the cell reaches, nor for one
    that shares an object with a name the cell used in any other way."""
    ana = p.ana
    if p.touch_all or ana.reads_all or ana.star_import:
        return {}
    if (pureuse.CONSUMER_FUNCS | pureuse.INSPECT_FUNCS) & after.keys():
        return {}  # `len`, `print`, ... rebound by the notebook
    occs = pureuse.occurrences(p.src)
    if not occs:
        return {}
    ns = rec.ns

    def scalar_once(t: str) -> bool:
        return len(occs.get(t, ())) == 1 and t in ns and type(ns[t]) in pureuse.SCALARS

    out: dict[str, set[str]] = {}
    for n in (p.direct & first) - rebound - p.via_code:
        if n in p.before and n in occs:
            ok, targets = pureuse.proves_unchanged(ns[n], occs[n], scalar_once)
            if ok:
                out[n] = targets
    changed = True
    while changed and out:  # a name the cell loads, sharing an object with it, could change it
        impure = p.reads - out.keys()
        changed = False
        for n in list(out):
            if rec.index.partners({n}) & impure:
                del out[n]
                changed = True
    return out


def unhash(rec: Recorder, names: dict[str, float], p: Pending, cands: set[str],
           olds: dict[str, Entry | None]) -> None:
    """Variables not fingerprinted after the cell: no baseline (the next cell that touches them
    sees them as modified, until a pass fits), array digests the cell may have outdated are
    dropped. Their reach (and code facts) are recomputed when that is cheap (quickreach, within
    REACH_SEC); otherwise the reach is unknown: a token ties them to everything the cell could
    touch, and they get the code facts of everything it could touch (they may now hold that
    code)."""
    ns = rec.ns
    cn: set[str] = set()
    cl: set[str] = set()
    dyn = False
    for c in cands:
        for ent in (olds.get(c), rec.entries.get(c)):
            if ent is not None and (ent.probe.code_names or ent.probe.code_dynamic):
                cn |= ent.probe.code_names
                cl |= ent.probe.code_loads
                dyn |= ent.probe.code_dynamic
    if p.ana.makes_code:
        cn |= p.ana.code_names
        cl |= p.ana.code_loads
        dyn |= p.ana.code_dynamic
    own: dict[str, frozenset[int]] = {}
    walk_deadline = time.perf_counter() + budget.REACH_SEC
    for n in sorted(names, key=lambda n: names[n]):
        value = ns[n]
        old = rec.entries.get(n)
        prev = old.probe if old is not None else None
        if prev is not None:
            rec.cache.drop(prev.arrays)
        same = old is not None and old.obj_id == id(value)
        known: frozenset[int] | None = quickreach.reach(value)  # arrays, frames, scalars: no code
        code: tuple[frozenset[str], frozenset[str], bool] = (frozenset(), frozenset(), False)
        if known is None and time.perf_counter() < walk_deadline:
            w = quickreach.walk(value, ns, budget.WALK_LIMIT, walk_deadline)
            if w is not None:
                known, code = w.ids, (w.code_names, w.code_loads, w.code_dynamic)
        if known is None:  # unknown reach: it may now hold anything the cell could touch
            code = ((prev.code_names if prev else frozenset()) | cn, (prev.code_loads if prev else frozenset()) | cl,
                    (prev.code_dynamic if prev else False) or dyn)
        pr = Probe(
            digest=None,
            code_names=code[0],
            code_loads=code[1],
            code_dynamic=code[2],
            nondet=prev.nondet if prev else (),
            unserializable=kinds.unserializable_reason(value) or (prev.unserializable if same and prev else None),
            has_views=prev.has_views if prev else False,
            estimate=min(budget.MAX_ESTIMATE_SEC, names[n]),
            digested=False,
            arrays=prev.arrays if prev else frozenset(),
        )
        rec.store(n, value, pr)
        if known is not None:
            rec.index.refresh(n, known | {id(value)})
            rec.reach_known(n)
            continue
        own[n] = frozenset({id(value)})
        rec.unknown_reach.add(n)
    if own:  # modules, scalars, library classes: nothing there to share, no token
        rec.index.link({c for c in cands | set(names) if c in ns and not quickreach.unshareable(ns[c])},
                        extra=own)
