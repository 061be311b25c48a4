"""Comm operations. Each handler: (args dict, extra input buffers) -> (result, output buffers).

Phase-2 (checkpoint) handlers import their modules lazily so attaching stays cheap.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import TYPE_CHECKING, Any

from . import arraymemo, hashing, msgpack_codec, rng
from ._version import PROTOCOL, VERSION
from .channel import Handler, OpError

if TYPE_CHECKING:
    from .runtime import Shim


def _features() -> dict[str, bool]:
    def has(mod: str) -> bool:
        if mod in sys.modules:
            return True
        import importlib.util

        try:
            return importlib.util.find_spec(mod) is not None
        except Exception:
            return False

    return {m: has(m) for m in ("cloudpickle", "dill", "xxhash", "msgpack", "numpy", "pandas")}


def build(shim: "Shim") -> dict[str, Handler]:
    rec = shim.recorder

    def hello(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
        return {
            "version": VERSION,
            "protocol": PROTOCOL,
            "instanceId": shim.instance_id,
            "attachedAt": shim.attached_at,
            "python": sys.version.split()[0],
            "implementation": sys.implementation.name,
            "platform": sys.platform,
            "machine": platform.machine(),
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "executable": sys.executable,
            "firstSeq": shim.history.first_seq,
            "lastSeq": shim.history.last_seq,
            "unknownProvenance": sorted(rec.unknown),
            "hashAlgos": hashing.available_algos(),
            "defaultAlgo": hashing.DEFAULT_ALGO,
            "msgpack": msgpack_codec.backend,
            "features": _features(),
        }, []

    def history(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
        since = int(args.get("since", 0) or 0)
        limit = args.get("limit")
        recs = shim.history.since(since, int(limit) if limit else None)
        return {
            "records": recs,
            "firstSeq": shim.history.first_seq,
            "lastSeq": shim.history.last_seq,
            "truncated": since + 1 < shim.history.first_seq,
        }, []

    def variables(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
        rec.sync_pending_outside()
        names = sorted(rec.snapshot)
        groups = rec.index.groups(names)
        gid = {n: i for i, g in enumerate(groups) for n in g}
        out = {}
        for n in names:
            e = rec.entries.get(n)
            out[n] = {
                "type": e.type_name if e else type(rec.ns.get(n)).__qualname__,
                "module": type(rec.ns.get(n)).__module__,
                "provenance": e.provenance if e else "unknown",
                "writer": e.writer if e else 0,
                "group": gid[n],
                "unserializable": e.probe.unserializable if e else None,
            }
        return {"variables": out, "groups": groups, "lastSeq": shim.history.last_seq, "unobserved": shim.unobserved.count}, []

    def bound(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
        """Which of `names` the namespace binds (a restore's presence check, without the user's json)."""
        names = args.get("names")
        if not isinstance(names, list):
            raise OpError("args.names must be a list of names")
        return {"bound": [n for n in names if isinstance(n, str) and n in rec.ns]}, []

    def rng_state(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
        seqs = args.get("seqs")
        items = rec.rng_states.items() if seqs is None else (
            (s, rec.rng_states[s]) for s in seqs if s in rec.rng_states)
        states = [{"seq": s, **rng.dumps(st)} for s, st in items]
        return {"states": states, "current": rng.dumps(rng.capture())}, []

    def set_rng(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
        if "seq" in args:
            st = rec.rng_states.get(int(args["seq"]))
            if st is None:
                raise OpError(f"no saved RNG state for seq {args['seq']}")
            blobs = rng.dumps(st)
        else:
            blobs = {k: bytes(v) for k, v in args.items() if k in rng.KINDS}
        done, undo = rng.restore(blobs)
        # The environment as it was, for the caller to set again once the cell has run.
        return {"restored": done, **({"undo": {"env": rng.dumps({"env": undo})["env"]}} if undo is not None else {})}, []

    def fingerprint(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
        from .probe import bounded_probe
        from .userbound import Bounded

        algo = args.get("algo") or hashing.DEFAULT_ALGO
        if algo not in hashing.available_algos():
            raise OpError(f"hash algorithm {algo!r} not available here")
        names = args.get("names")
        ns = rec.ns
        if names is None:
            names = sorted(rec.filter.snapshot(ns))
        out: dict[str, Any] = {}
        bound = Bounded(ns, float(args.get("budgetSec") or 2.0))
        with arraymemo.shared_digests():
            for n in names:
                if n not in ns:
                    out[n] = {"digest": None, "reliable": False, "error": "not defined"}
                    continue
                pr = bounded_probe(bound, ns[n], ns, algo)
                out[n] = {"digest": pr.digest, "reliable": pr.reliable, "error": pr.error,
                          "opaque": pr.opaque[:5]}
        return {"algo": algo, "fingerprints": out}, []

    def sharing(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
        """Whether each family of names shares objects as one group (probes' sharing facts, as
        `measure` groups them): a restore's check of a split group's halves. None for a family
        with a name not bound."""
        from .probe import bounded_probe
        from .sharing import SharingIndex
        from .userbound import Bounded

        families = args.get("families")
        if not isinstance(families, list) or not all(isinstance(f, list) for f in families):
            raise OpError("args.families must be a list of lists of names")
        ns = rec.ns
        bound = Bounded(ns, float(args.get("budgetSec") or 2.0))
        connected: list[bool | None] = []
        for names in families:
            if not names or any(not isinstance(n, str) or n not in ns for n in names):
                connected.append(None)
                continue
            index = SharingIndex()
            for n in names:
                index.set(n, bounded_probe(bound, ns[n], ns, hashing.DEFAULT_ALGO).shared | {id(ns[n])})
            connected.append(len(index.groups(names)) == 1)
        return {"connected": connected}, []

    handlers: dict[str, Handler] = {
        "hello": hello,
        "history": history,
        "variables": variables,
        "bound": bound,
        "rng_state": rng_state,
        "set_rng": set_rng,
        "fingerprint": fingerprint,
        "sharing": sharing,
    }

    def lazy(modname: str, fn: str) -> Handler:
        def call(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
            import importlib

            mod = importlib.import_module(f"{__package__}.{modname}")
            return getattr(mod, fn)(shim, args, bufs)  # type: ignore[no-any-return]

        return call

    handlers["measure"] = lazy("measure", "op_measure")
    handlers["save"] = lazy("blobs", "op_save")
    handlers["save_buffers"] = lazy("blobs", "op_save_buffers")
    handlers["load"] = lazy("staging", "op_load")  # blobs.op_load, plus `staged` sources
    handlers["load_background"] = lazy("background", "op_load_background")
    handlers["rerun_step"] = lazy("reruns", "op_rerun_step")
    handlers["placeholders"] = lazy("absent", "op_placeholders")
    handlers["stage_chunk"] = lazy("staging", "op_stage_chunk")
    handlers["stage_drop"] = lazy("staging", "op_stage_drop")
    handlers["stage_stored_chunks"] = lazy("stored_staging", "op_stage_stored_chunks")
    handlers["save_open"] = lazy("outbox", "op_save_open")
    handlers["save_read"] = lazy("outbox", "op_save_read")
    handlers["save_close"] = lazy("outbox", "op_save_close")

    def warm_load(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
        """Import what loading needs (the lazy op modules, the pickler: cloudpickle takes
        ~0.5 s), so a target readied during the checkpoint does not pay it in the restore."""
        import importlib

        for modname in ("staging", "stored_staging", "blobs", "serialize"):
            importlib.import_module(f"{__package__}.{modname}")
        from . import serialize

        return {"pickler": serialize.pickler_name()}, []

    handlers["warm_load"] = warm_load
    handlers["lineage"] = lazy("lineage", "op_lineage")

    def preempt(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
        """Stop the background lane's operation in flight (lane.py), as a cell starting would: the
        coordinator sends it when it interrupts the kernel (SIGINT never reaches the lane)."""
        rec.generation += 1
        return {"generation": rec.generation}, []

    handlers["preempt"] = preempt
    return handlers
