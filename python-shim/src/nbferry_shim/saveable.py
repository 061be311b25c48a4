"""The members of an unserializable group that can be saved apart from the others.

One generator, lock or open file in a group of shared objects made the whole group
unserializable, so a restore reran every cell that produced any member: a rerun cascade, and new
values for an unseeded draw. Here each member is pickled on its own; those that pickle are
measured together as the group's `saveable` part. The coordinator plans them as a group of their
own (the planner's split groups): it may load them and recompute only the others, from cells that
read the loaded objects, which keeps the objects shared. A member that pickles only together with
another (a weakref to another member's object) counts as unsaveable: the split stays on the safe side.
"""

from __future__ import annotations

import time
from typing import Any, Callable

Measure = Callable[..., "dict[str, Any]"]


def saveable_part(values: dict[str, Any], measure: Measure, budget: float, keep_seq: int | None = None,
                  **options: Any) -> dict[str, Any] | None:
    """`measure` is measure.measure_group. None when no member, or every member, pickles on its
    own, or the budget (for the whole search) ran out."""
    if len(values) < 2:
        return None
    deadline = time.perf_counter() + budget
    names = []
    for name, value in values.items():
        left = deadline - time.perf_counter()
        if left <= 0:
            return None
        alone = measure({name: value}, budget=left, **options)
        if alone["serializable"] and alone.get("estimate") != "lower-bound":
            names.append(name)
    if not names or len(names) == len(values):
        return None
    left = deadline - time.perf_counter()
    if left <= 0:
        return None
    part = measure({n: values[n] for n in names}, budget=left, keep_seq=keep_seq, **options)
    if not part["serializable"]:
        return None
    return {"names": names, **part}
