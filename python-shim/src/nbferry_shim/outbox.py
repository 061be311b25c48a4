"""Saving a blob to a store the kernel cannot reach (an object store): the coordinator pulls it
chunk by chunk, so neither side ever holds more than the chunks in flight.

`save_open` pickles one group (arrays as zero-copy views, as `save_buffers` does), cuts it into
the store's content-addressed chunks and hashes them, and keeps it under a key; `save_read`
returns one chunk in its reply's buffers; `save_close` forgets the key. The coordinator uploads
each chunk the store lacks under its name and checks its SHA-256 on arrival: a value changed in
place between open and read (a cell ran) shows as a mismatch, never as a wrong blob.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from . import chunksum
from .blobs import _build, _err, _group_values, _groups_arg, _moved_since
from .channel import OpError

if TYPE_CHECKING:
    from .runtime import Shim

_keys = itertools.count(1)


def _outbox(shim: "Shim") -> dict[str, list[list[memoryview]]]:
    box: dict[str, list[list[memoryview]]] | None = getattr(shim, "outbox", None)
    if box is None:
        box = {}
        shim.outbox = box  # type: ignore[attr-defined]
    return box


def op_save_open(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
    """{groups: [names], seq?} -> {key, ok, bytes, checksum, chunks: [hex], sizes: [int]} | {moved}."""
    moved = _moved_since(shim, args)
    if moved is not None:
        return moved, []
    groups = _groups_arg(args)
    if len(groups) != 1:
        raise OpError("save_open takes exactly one group")
    names = groups[0]
    t0 = time.perf_counter()
    try:
        seg = _build(_group_values(shim, names), shim.recorder.ns, shim.history.last_seq)
    except Exception as e:
        return {"names": names, "ok": False, "error": _err(e), "seconds": time.perf_counter() - t0}, []
    pieces = list(chunksum.chunks(seg.parts))
    # Worker threads hash the chunks in parallel (hashlib releases the GIL); threads end with the block.
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="nbferry-sum") as pool:
        digests = list(pool.map(_sha256, pieces))
    key = f"out-{next(_keys)}"
    _outbox(shim)[key] = pieces
    return {
        "names": names,
        "ok": True,
        "key": key,
        "bytes": seg.n,
        "checksum": chunksum.digest_hashes(digests),
        "chunks": [d.hex() for d in digests],
        "sizes": [sum(p.nbytes for p in chunk) for chunk in pieces],
        "seconds": time.perf_counter() - t0,
    }, []


def _sha256(chunk: list[memoryview]) -> bytes:
    h = hashlib.sha256()
    for p in chunk:
        h.update(p)
    return h.digest()


def op_save_read(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[Any]]:
    """{key, index} -> the chunk's bytes in the reply's buffers (views of the values, no copy)."""
    pieces = _outbox(shim).get(str(args.get("key")))
    if pieces is None:
        raise OpError(f"nothing open under {args.get('key')!r}: call save_open first")
    index = args.get("index")
    if not isinstance(index, int) or not 0 <= index < len(pieces):
        raise OpError(f"index must be 0..{len(pieces) - 1}, got {index!r}")
    return {"index": index}, list(pieces[index])


def op_save_close(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
    """{keys?: [key]}: forget these open blobs (default: all)."""
    box = _outbox(shim)
    keys = args.get("keys")
    closed = [k for k in (list(box) if keys is None else keys) if box.pop(str(k), None) is not None]
    return {"closed": closed}, []
