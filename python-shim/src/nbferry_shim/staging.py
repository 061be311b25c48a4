"""Chunked staging: a blob sent to the kernel in several messages, then loaded as one.

A Jupyter Server closes a kernel websocket on any client message of 10 MiB or more (tornado's
websocket_max_message_size), so through a server the coordinator cannot send a large blob in the
buffers of one `load`. It sends it as `stage_chunk` requests of a few MiB each instead, appended in
order under a key, and then `load`s it with `{"staged": key}` in place of `file`/`buffers`.

Staged bytes live in kernel memory until the `load` that uses them (which consumes them, whether
it succeeds or not) or a `stage_drop`.

Fewer copies and no second pass (restore from an object store is bound by them): with `total` at
offset 0 the bytes are written in place into one buffer of that size (no regrowth), `load` uses
that buffer as the blob (no copy), and when the coordinator marks where the blob's chunks end
(`chunkEnd`), each chunk is hashed as it arrives (while the coordinator fetches the next one), so
`load` checks the blob's `sha256-8m`/`sha256-chunks` from those digests instead of hashing again;
with the chunk's name (`digest`), a chunk that does not match is refused as it arrives. (Hashing
in a thread beside the next receive was tried: slower on 2 cores, bench:s3 notes.)
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from . import chunksum
from .channel import OpError

if TYPE_CHECKING:
    from .runtime import Shim


class Staged:
    """Bytes staged under one key, and the SHA-256 of each chunk the coordinator marked."""

    def __init__(self, total: int | None, buffer: Any = None) -> None:
        """`buffer`: the `total` bytes to write into (e.g. fresh_buffer's), instead of a bytearray."""
        self.data = buffer if buffer is not None else bytearray(total) if total is not None else bytearray()
        self.fill = 0
        self.preallocated = total is not None
        self.marked = True  # every piece so far came with `chunkEnd`
        self.digests: list[bytes] = []
        self.sizes: list[int] = []
        self.error: str | None = None
        self._hash: Any = None
        self._hashed = 0

    def append(self, pieces: list[memoryview], chunk_end: Any, digest: Any = None) -> None:
        start = self.fill
        for b in pieces:
            mv = memoryview(b).cast("B")
            end = self.fill + mv.nbytes
            if self.preallocated:
                if end > len(self.data):
                    raise OverflowError(end)
                self.data[self.fill:end] = mv
            else:
                self.data += mv
                if chunk_end is not None and self.marked:
                    self._hash_region(mv, False, None)
            self.fill = end
        if chunk_end is None:
            self.marked = False
        elif not self.marked:
            pass
        elif self.preallocated:
            with memoryview(self.data) as mv:
                self._hash_region(mv[start:self.fill], bool(chunk_end), digest)
        else:
            self._hash_region(memoryview(b""), bool(chunk_end), digest)

    def _hash_region(self, mv: memoryview, chunk_end: bool, digest: Any) -> None:
        if self.error is not None:
            return
        if self._hash is None:
            self._hash = hashlib.sha256()
        self._hash.update(mv)
        self._hashed += mv.nbytes
        if not chunk_end:
            return
        got = self._hash.digest()
        if digest is not None and got.hex() != digest:
            self.error = (f"chunk {digest} ({self._hashed} bytes ending at offset {sum(self.sizes) + self._hashed}) "
                          "does not match its name (sha256 mismatch)")
            return
        self.digests.append(got)
        self.sizes.append(self._hashed)
        self._hash, self._hashed = None, 0

    def checksum(self, algorithm: str | None, chunk_sizes: Any) -> str | None:
        """The blob's checksum from the chunk digests, when they cover it at the boundaries
        `algorithm` sums over; None when it has to be computed from the bytes."""
        if not self.marked or self.error is not None or self._hash is not None or not self.sizes or sum(self.sizes) != self.fill:
            return None
        if algorithm == chunksum.SHA256_CHUNKS and self.sizes == chunk_sizes:
            return chunksum.digest_hashes(self.digests, chunksum.SHA256_CHUNKS)
        if algorithm == chunksum.SHA256_8M and all(n == chunksum.CHUNK for n in self.sizes[:-1]) and self.sizes[-1] <= chunksum.CHUNK:
            return chunksum.digest_hashes(self.digests, chunksum.SHA256_8M)
        return None

    def complete(self) -> bool:
        return self.fill == len(self.data)


def _area(shim: "Shim") -> dict[str, Staged]:
    area: dict[str, Staged] | None = getattr(shim, "staging_area", None)
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
    """{key, offset, total?, chunkEnd?} + buffers: append the buffers to the bytes staged under `key`.

    `offset` must equal the bytes staged so far (0 starts the key over), so a lost or repeated
    chunk is an error rather than a corrupt blob. `total`, when given, is the final size (sent at
    offset 0, the bytes are written in place). `chunkEnd` (bool), sent with every piece: the pieces
    are hashed, and true closes a chunk of the blob (see the module's docstring); `digest` with
    it: the chunk's name, its SHA-256 (a mismatch drops the key and fails the request).
    """
    key = _key(args)
    offset = int(args.get("offset", 0) or 0)
    total = args.get("total")
    area = _area(shim)
    if offset == 0:
        area[key] = Staged(int(total) if total is not None else None)
    staged = area.get(key)
    if staged is None:
        raise OpError(f"nothing staged under {key!r}: send the chunk at offset 0 first")
    if offset != staged.fill:
        raise OpError(f"{key!r} has {staged.fill} bytes staged, got a chunk for offset {offset}")
    incoming = sum(memoryview(b).nbytes for b in bufs)
    if total is not None and staged.fill + incoming > int(total):
        del area[key]
        raise OpError(f"{key!r}: {staged.fill + incoming} bytes staged, more than the announced total {int(total)}; dropped")
    staged.append(list(bufs), args.get("chunkEnd"), args.get("digest"))
    if staged.error is not None:  # damaged on the way or in the store: this blob cannot load
        del area[key]
        raise OpError(f"{key!r}: {staged.error}; dropped")
    return {"key": key, "bytes": staged.fill}, []


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


# The spec key under which op_load hands blobs._read_blob a Staged object (never from JSON: a
# request can only carry plain data, which _read_blob does not take for one).
STAGED_SOURCE = "stagedSource"


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
        if not data.complete():
            missing[i] = {"file": None, "staged": key, "ok": False, "seconds": 0.0,
                          "error": {"kind": "io", "message": f"{key!r} has {data.fill} of {len(data.data)} bytes staged"}}
            continue
        rest = {k: v for k, v in spec.items() if k not in ("staged", "file", "buffers", STAGED_SOURCE)}
        resolved.append({**rest, STAGED_SOURCE: data})  # read in place by blobs._read_blob
    try:
        result, out = blobs_mod.op_load(shim, {**args, "blobs": resolved}, extra)
    finally:
        for key in used:
            area.pop(key, None)
    loaded = iter(result["results"])
    result["results"] = [missing[i] if i in missing else next(loaded) for i in range(len(specs))]
    return result, out
