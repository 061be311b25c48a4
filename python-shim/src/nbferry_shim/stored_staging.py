"""Staging a blob from a local store's chunks while its source is still writing them.

A fork's children restore one checkpoint as the source writes it. For a big group, the source's
`save` pushes `saved_chunks` as each chunk is stored (blobs.py); the coordinator passes them on to
each child as `stage_stored_chunks`, and the child reads those chunk files into one buffer under a
key (staging.Staged), checking each chunk's SHA-256 against its name itself. When the source's
save reply lists the whole blob, the child's `load {staged: key}` checks the blob's checksum from
the staged digests (no second pass) and unpickles: reading overlaps the source's writing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from . import cas, chunksum
from .channel import OpError
from .fresh_buffer import fresh_buffer
from .staging import Staged, _area, _key

if TYPE_CHECKING:
    from .runtime import Shim


def op_stage_stored_chunks(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
    """{key, chunksDir, bytes, offset, chunks: [hex], chunkBytes: [int]} → {key, bytes} | {key, bytes, error}.

    Reads the chunks, in order, into the bytes staged under `key` at `offset` (which must be the
    bytes staged so far; 0 starts the key over with a buffer of `bytes`). A chunk that is missing,
    of another size or whose SHA-256 is not its name drops the key; the reply's `error` says which
    (`kind`: "checksum" or "io").
    """
    key = _key(args)
    root, total, offset = args.get("chunksDir"), args.get("bytes"), args.get("offset")
    digests, sizes = args.get("chunks"), args.get("chunkBytes")
    if not isinstance(root, str) or not root or type(total) is not int or total < 0 or type(offset) is not int:
        raise OpError("args.chunksDir, args.bytes and args.offset are required")
    if not (isinstance(digests, list) and isinstance(sizes, list) and len(digests) == len(sizes)
            and all(isinstance(d, str) for d in digests) and all(type(n) is int and n > 0 for n in sizes)):
        raise OpError("args.chunks (SHA-256 digests) and args.chunkBytes (their sizes) must be lists of the same length")
    area = _area(shim)
    if offset == 0:
        area[key] = Staged(total, fresh_buffer(total))  # faulted in by the reading threads
    staged = area.get(key)
    if staged is None:
        raise OpError(f"nothing staged under {key!r}: send the chunks at offset 0 first")
    if offset != staged.fill:
        raise OpError(f"{key!r} has {staged.fill} bytes staged, got chunks for offset {offset}")
    if staged.fill + sum(sizes) > len(staged.data):
        del area[key]
        raise OpError(f"{key!r}: {staged.fill + sum(sizes)} bytes, more than the announced {len(staged.data)}; dropped")
    try:
        _read_into(root, staged, digests, sizes)
    except cas.ChunkError as e:
        del area[key]
        return {"key": key, "bytes": 0, "error": {"kind": "checksum", "message": str(e)}}, []
    except Exception as e:  # blobs._LoadError (refused file) or OSError
        del area[key]
        return {"key": key, "bytes": 0, "error": {"kind": getattr(e, "kind", "io"), "message": f"{type(e).__name__}: {e}"}}, []
    return {"key": key, "bytes": staged.fill}, []


def _read_into(root: str, staged: Staged, digests: list[str], sizes: list[int]) -> None:
    """Reads and checks the chunks after the bytes staged so far, then records them. Two threads:
    every child of a fork reads at once."""
    view = memoryview(staged.data)
    cas.read_into(root, digests, sizes, view[staged.fill : staged.fill + sum(sizes)], chunksum.SHA256_CHUNKS,
                  max(1, min(2, os.cpu_count() or 1)))
    del view
    staged.digests.extend(bytes.fromhex(d) for d in digests)
    staged.sizes.extend(sizes)
    staged.fill += sum(sizes)
