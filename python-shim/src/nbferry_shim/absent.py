"""Placeholders for names a rerun deletes: `del old` raises NameError unless `old` is bound, and
any value will do. A restore that reruns such a cell without having brought `old` back (it was
deleted at checkpoint, nothing else needs it) binds a placeholder first, and removes whatever
placeholder the rerun left (a deletion that did not happen this time)."""

from __future__ import annotations

from typing import Any


class _Absent:
    def __repr__(self) -> str:
        return "<nbferry placeholder for a name a rerun deletes>"


ABSENT = _Absent()


def bind(ns: dict[str, Any], names: list[str]) -> list[str]:
    """Binds the placeholder to each of `names` not bound; returns those."""
    missing = [n for n in names if isinstance(n, str) and n not in ns]
    for n in missing:
        ns[n] = ABSENT
    return missing


def clear(ns: dict[str, Any], names: list[str]) -> None:
    for n in names:
        if ns.get(n) is ABSENT:
            del ns[n]


def op_placeholders(shim: Any, args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
    """{bind?: names} binds placeholders for the unbound ones; {clear?: names} removes those left."""
    ns = shim.recorder.ns
    with shim.recorder.lock:
        clear(ns, list(args.get("clear") or []))
        bound = bind(ns, list(args.get("bind") or []))
    return {"bound": bound}, []
