"""Chunked staging: a blob sent to the kernel in several messages, then loaded as one.

A Jupyter Server closes a kernel websocket on any client message of 10 MiB or more (tornado's
websocket_max_message_size), so through a server the coordinator cannot send a large blob in the
buffers of one `load`. It sends it as `stage_chunk` requests of a few MiB each instead, appended in
order under a key, and then `load`s it with `{"staged": key}` in place of `file`/`buffers`.

Staged bytes live in kernel memory until the `load` that uses them (which consumes them, whether
it succeeds or not) or a `stage_drop`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .channel import OpError

if TYPE_CHECKING:
    from .runtime import Shim


def _area(shim: "Shim") -> dict[str, bytearray]:
    area: dict[str, bytearray] | None = getattr(shim, "staging_area", None)
    if area is None:
        area = {}
        shim.staging_area = area  # type: ignore[attr-defined]
    return area


def _key(args: dict[str, Any]) -> str:
    key = args.get("key")
    if not isinstance(key, str) or not key:
        raise OpError("args.key must be a non-empty string")
    return key


def op_stage_chunk(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
    """{key, offset, total?} + buffers: append the buffers to the bytes staged under `key`.

    `offset` must equal the bytes staged so far (0 starts the key over), so a lost or repeated
    chunk is an error rather than a corrupt blob. `total`, when given, is the final size.
    """
    key = _key(args)
    offset = int(args.get("offset", 0) or 0)
    total = args.get("total")
    area = _area(shim)
    if offset == 0:
        area[key] = bytearray()
    staged = area.get(key)
    if staged is None:
        raise OpError(f"nothing staged under {key!r}: send the chunk at offset 0 first")
    if offset != len(staged):
        raise OpError(f"{key!r} has {len(staged)} bytes staged, got a chunk for offset {offset}")
    for b in bufs:
        staged += b
    if total is not None and len(staged) > int(total):
        del area[key]
        raise OpError(f"{key!r}: {len(staged)} bytes staged, more than the announced total {int(total)}; dropped")
    return {"key": key, "bytes": len(staged)}, []


def op_stage_drop(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
    """{keys?: string[]}: forget the staged bytes of these keys (default: all)."""
    area = _area(shim)
    keys = args.get("keys")
    if keys is None:
        keys = list(area)
    if not isinstance(keys, list):
        raise OpError("args.keys must be a list of keys")
    dropped = [k for k in keys if area.pop(k, None) is not None]
    return {"dropped": dropped}, []


def op_load(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
    """`load` (blobs.op_load), where a blob may also name `staged: key` as its source."""
    from . import blobs as blobs_mod

    specs = args.get("blobs")
    if not isinstance(specs, list) or not any(isinstance(s, dict) and "staged" in s for s in specs):
        return blobs_mod.op_load(shim, args, bufs)
    area = _area(shim)
    extra = list(bufs)
    resolved: list[dict[str, Any]] = []
    missing: dict[int, dict[str, Any]] = {}
    used: list[str] = []
    for i, spec in enumerate(specs):
        if not (isinstance(spec, dict) and "staged" in spec):
            resolved.append(spec)
            continue
        key = spec["staged"]
        data = area.get(key) if isinstance(key, str) else None
        if data is None:
            missing[i] = {"file": None, "staged": key, "ok": False, "seconds": 0.0,
                          "error": {"kind": "io", "message": f"nothing staged under {key!r}"}}
            continue
        used.append(key)
        rest = {k: v for k, v in spec.items() if k not in ("staged", "file", "buffers")}
        resolved.append({**rest, "buffers": [len(extra), 1]})
        extra.append(memoryview(data))
    try:
        result, out = blobs_mod.op_load(shim, {**args, "blobs": resolved}, extra)
    finally:
        for key in used:
            area.pop(key, None)
    loaded = iter(result["results"])
    result["results"] = [missing[i] if i in missing else next(loaded) for i in range(len(specs))]
    return result, out
