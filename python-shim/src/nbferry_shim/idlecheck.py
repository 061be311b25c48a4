"""A cell's post-run read checks, finished while the kernel is idle.

After a cell, the recorder must fingerprint the names the cell referenced (and their sharing
partners) to tell which it changed in place. That pass used to run inside post_run_cell, so the cell's
reply waited for it (up to the hashing budget, 50 ms on a cell of 1 ms). Now post_run_cell only
diffs the namespace and plans the pass (a `Check`); the fingerprints are taken one name per step on
the kernel's event loop, after the reply, while nothing else runs on the main thread. Same budget,
same order, same verdicts as before: only the moment moves.

Why the main thread's event loop, and not the lane's subshell thread: hashing calls notebook code
(`__reduce__`, `__getstate__`), which is time-bounded only on the main thread (userbound.py) and need
not be thread-safe; records published from a subshell thread would go to the lane's comm; and on
the main thread nothing can change the namespace between two steps except what the drain points
below catch first.

Nothing relies on a check before it is finished: it is drained (run to its end) before the next
cell's hooks record anything (pre_execute, pre_run_cell), before any nbferry request on the main
thread (measure, save, history, ...), before a comm message of notebook code (a widget callback), and
at detach; a lane request waits for the main thread to finish it. The cell's record is emitted only
when its check is finished, so record order and `seq` are unchanged. Where no event loop runs the
hooks (a plain InteractiveShell), the pass runs inside post_run_cell as before.

A cell that arrives while a check is pending waits for at most the name being hashed, then drains
the rest in its own pre_run_cell: that time is counted in its `overheadSec` (it delays that cell).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .recorder import Entry, Pending

Scheduler = Callable[[Callable[[], None]], bool]


def on_event_loop(step: Callable[[], None]) -> bool:
    """Runs `step` on the running asyncio loop (the kernel's, when called from a cell hook) once
    the current handler yields; False where no loop runs (then the caller checks at once)."""
    try:
        asyncio.get_running_loop().call_soon(step)
    except RuntimeError:  # no running loop (or a closed one)
        return False
    return True


def waited_for_steps(shell: Any, steps: list[tuple[float, float]]) -> float:
    """Seconds the request being handled waited for idle steps: the parts of their wall-clock spans
    after its client sent it (its header's date; the same clock on one machine). 0 when unknown.
    The steps' work is the last cell's, but the wait delays this one."""
    if not steps:
        return 0.0
    try:
        kernel = getattr(shell, "kernel", None)
        date = (kernel.get_parent("shell") or {}).get("header", {}).get("date") if kernel is not None else None
        sent = date.timestamp() if hasattr(date, "timestamp") else None
    except Exception:
        return 0.0
    if sent is None:
        return 0.0
    return sum(max(0.0, end - max(sent, start)) for start, end in steps)


@dataclass
class Check:
    """One cell's planned fingerprint pass and what the record needs after it."""

    p: Pending
    result: Any
    lost: bool
    after: dict[str, int]
    created: list[str]
    deleted: list[str]
    rebound: set[str]
    first: set[str]
    partners: set[str]
    inspected: dict[str, set[str]]
    olds: dict[str, Entry | None]
    effects: list[Any]
    inputs: list[Any]
    rng_after: Any
    t_post: float
    budget_sec: float  # hashing time left for this cell's pass (its allowance)
    todo: list[tuple[str, bool]]  # (name, is sharing partner), in the order the pass takes them
    inline: bool = False  # the whole pass ran inside post_run_cell (no event loop, or nothing to hash)
    sync_sec: float = 0.0  # spent inside post_run_cell
    later_sec: float = 0.0  # spent after the reply (idle steps, or a drain)
    fresh: set[int] = field(default_factory=set)
    spent: dict[str, float] = field(default_factory=dict)
    modified: set[str] = field(default_factory=set)
    unreliable: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
