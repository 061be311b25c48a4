"""Which checkpoint this kernel's state continues, per store: kept in the kernel so that every
coordinator process that attaches (each CLI command is one) finds it.

A coordinator sets the point when it commits a checkpoint of this kernel or restores one into it:
the store's identity, the checkpoint id and the history record (`seq`) its state is at. With it the
shim keeps the measurement of that state (its own last `measure`, pinned by `pinLast`, or one the
coordinator sends), so the next coordinator's incremental checkpoint measures only what changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .channel import OpError

if TYPE_CHECKING:
    from .runtime import Shim


class Lineage:
    def __init__(self) -> None:
        self.points: dict[str, dict[str, Any]] = {}  # store identity -> {id, seq, unobserved}
        self.measurements: dict[str, dict[str, Any]] = {}  # store identity -> measurement at the point
        self.last_measurement: dict[str, Any] | None = None  # the last `measure` result (pinLast)
        # History position of the last restore or checkout into this kernel: a checkpoint measured
        # before it (committing late, from another coordinator) describes a state that is gone.
        self.replaced_at = 0


def op_lineage(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
    """{set: {store, id, seq, unobserved?, measurement?, pinLast?, exclusive?}} records a point; {store} reads it back."""
    lineage = shim.lineage
    point = args.get("set")
    if isinstance(point, dict):
        store, cid, seq = point.get("store"), point.get("id"), point.get("seq")
        if not isinstance(store, str) or not isinstance(cid, str) or not isinstance(seq, int):
            raise OpError("lineage set needs store (str), id (str) and seq (int)")
        if point.get("exclusive"):  # a restore or checkout: the state no longer continues other stores' points
            lineage.points.clear()
            lineage.measurements.clear()
            lineage.replaced_at = seq
        elif seq < lineage.replaced_at:
            return {"ok": False, "stale": True}, []
        lineage.points[store] = {"id": cid, "seq": seq}
        if isinstance(point.get("unobserved"), int):
            lineage.points[store]["unobserved"] = point["unobserved"]
        measurement = point.get("measurement")
        last = lineage.last_measurement
        if not isinstance(measurement, dict) and point.get("pinLast") and last is not None and last.get("seq") == seq:
            measurement = last
        if isinstance(measurement, dict) and measurement.get("seq") == seq:
            lineage.measurements[store] = measurement
        else:
            lineage.measurements.pop(store, None)
        return {"ok": True}, []
    store = args.get("store")
    if not isinstance(store, str):
        raise OpError("lineage needs store (str) or set")
    found = lineage.points.get(store)
    want = bool(args.get("withMeasurement", True))
    return {
        "point": found,
        "measurement": lineage.measurements.get(store) if found is not None and want else None,
        "lastSeq": shim.history.last_seq,
        "unobserved": shim.unobserved.count,
    }, []
