"""Blob checksums (`<algorithm>:<hex>`), computed in worker threads so they overlap the disk I/O.

* `sha256-8m` (what `save` writes): SHA-256 of each consecutive 8 MiB chunk, then SHA-256 over
  those 32-byte digests. Cryptographic (a signed manifest commits to every blob through it), and
  its chunks hash in parallel beside the writes/reads (hashlib releases the GIL on large buffers).
* `sha256-chunks` (what `save` writes into a content-addressed store, format 3): SHA-256 over
  the SHA-256 digests of the blob's chunks in order, where the chunks are the ones the manifest
  lists (`chunkBytes`: cut where cutpoints.py puts boundaries, not every 8 MiB). The same hash
  list as `sha256-8m`, over other boundaries; verifying it from the bytes needs those sizes.
* `crc32-8m` (legacy, still verified on load): zlib.crc32 of each consecutive 8 MiB chunk of the blob (the last may be shorter),
  then SHA-256 over those CRCs as big-endian u32s. The chunks are independent, so their CRCs run in
  parallel and beside the writes/reads (zlib.crc32 and file I/O both release the GIL). Same
  definition as packages/store/src/checksum.ts.
* `sha256`: SHA-256 of the whole blob (legacy; still verified on load, fed in order by one worker).

None is a signature: whoever can rewrite blobs can rewrite sums. The manifest's signature (on the
coordinator's side) is what makes a `sha256-8m` sum trustworthy; a CRC can be forged.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Iterable, Iterator

try:  # optional accelerators: the same CRC-32 (zlib's), with SIMD; both release the GIL
    from isal.isal_zlib import crc32 as _crc32  # type: ignore[import-not-found]
except ImportError:
    try:
        from zlib_ng.zlib_ng import crc32 as _crc32  # type: ignore[import-not-found]
    except ImportError:
        _crc32 = zlib.crc32

CRC32_8M = "crc32-8m"
SHA256 = "sha256"
SHA256_8M = "sha256-8m"
SHA256_CHUNKS = "sha256-chunks"
ALGORITHMS = (SHA256_8M, SHA256_CHUNKS, CRC32_8M, SHA256)
DEFAULT = SHA256_8M
CHUNK = 8 << 20


def _crc(pieces: list[memoryview]) -> int:
    c = 0
    for p in pieces:
        c = _crc32(p, c)
    return c


def _sha(pieces: list[memoryview]) -> bytes:
    h = hashlib.sha256()
    for p in pieces:
        h.update(p)
    return h.digest()


def digest_hashes(digests: Iterable[bytes], algorithm: str = SHA256_8M) -> str:
    """`sha256-8m` (or `sha256-chunks`, the same list hash over other boundaries) from chunk digests."""
    return f"{algorithm}:{hashlib.sha256(b''.join(digests)).hexdigest()}"


def sized(parts: Iterable[memoryview], sizes: list[int]) -> Iterator[list[memoryview]]:
    """Re-cut byte segments into consecutive pieces lists of the given sizes (slices, no copies);
    ValueError unless the sizes add up to the bytes exactly."""
    it = iter(sizes)
    want = next(it, None)
    cur: list[memoryview] = []
    fill = 0
    for mv in parts:
        pos, n = 0, mv.nbytes
        while pos < n:
            if want is None:
                raise ValueError("more bytes than the chunk sizes hold")
            take = min(n - pos, want - fill)
            cur.append(mv[pos : pos + take])
            pos += take
            fill += take
            if fill == want:
                yield cur
                cur, fill, want = [], 0, next(it, None)
    if want is not None:
        raise ValueError("fewer bytes than the chunk sizes say")


def sum_sized(parts: Iterable[memoryview], sizes: list[int]) -> str:
    """`sha256-chunks` of the concatenation of `parts` cut at `sizes`."""
    return digest_hashes((_sha(p) for p in sized(parts, sizes)), SHA256_CHUNKS)


def digest_crcs(crcs: Iterable[int]) -> str:
    crcs = list(crcs)
    return f"{CRC32_8M}:{hashlib.sha256(struct.pack(f'>{len(crcs)}I', *crcs)).hexdigest()}"


def checksum_bytes(data: Any, algorithm: str = DEFAULT) -> str:
    """The checksum of one buffer, in this thread (for tests and small blobs)."""
    mv = memoryview(data).cast("B")
    if algorithm == SHA256:
        return f"{SHA256}:{hashlib.sha256(mv).hexdigest()}"
    if algorithm == SHA256_CHUNKS:
        raise ValueError("sha256-chunks needs the chunk sizes: use sum_sized")
    if algorithm == SHA256_8M:
        return digest_hashes(hashlib.sha256(mv[i : i + CHUNK]).digest() for i in range(0, mv.nbytes, CHUNK))
    return digest_crcs(_crc32(mv[i : i + CHUNK]) for i in range(0, mv.nbytes, CHUNK))


def chunks(parts: Iterable[memoryview]) -> Iterator[list[memoryview]]:
    """Re-cut byte segments into consecutive CHUNK-sized pieces lists (slices, no copies)."""
    cur: list[memoryview] = []
    fill = 0
    for mv in parts:
        pos, n = 0, mv.nbytes
        while pos < n:
            take = min(n - pos, CHUNK - fill)
            cur.append(mv[pos : pos + take] if take != n else mv)
            pos += take
            fill += take
            if fill == CHUNK:
                yield cur
                cur, fill = [], 0
    if cur:
        yield cur


class Summer:
    """Checksums consecutive chunks fed with `add`, in background threads; use as a context manager.

    For `crc32-8m` and `sha256-8m` every add must be one whole CHUNK (except the last); `chunks()` cuts them.
    Threads live only for the `with` block (no idle threads left in the user's kernel)."""

    def __init__(self, algorithm: str = DEFAULT, workers: int | None = None) -> None:
        if algorithm not in ALGORITHMS or algorithm == SHA256_CHUNKS:
            raise ValueError(f"unknown checksum algorithm {algorithm!r}" if algorithm != SHA256_CHUNKS
                             else "sha256-chunks needs the chunk sizes: use sum_sized")
        self.algorithm = algorithm
        if algorithm == SHA256:
            workers = 1  # in order
            self._h = hashlib.sha256()
        elif workers is None:
            workers = max(1, min(4, os.cpu_count() or 1))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nbferry-sum")
        self._futures: list[Future[Any]] = []

    def __enter__(self) -> "Summer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._pool.shutdown(wait=True)

    def add(self, pieces: list[memoryview]) -> None:
        if self.algorithm == SHA256:
            for p in pieces:
                self._futures.append(self._pool.submit(self._h.update, p))
        else:
            self._futures.append(self._pool.submit(_sha if self.algorithm == SHA256_8M else _crc, pieces))

    def hexdigest(self) -> str:
        """`<algorithm>:<hex>`; waits for the pending chunks (and raises what they raised)."""
        results = [f.result() for f in self._futures]
        self._futures = []
        if self.algorithm == SHA256:
            return f"{SHA256}:{self._h.hexdigest()}"
        if self.algorithm == SHA256_8M:
            return digest_hashes(results)
        return digest_crcs(results)


def sum_parts(parts: Iterable[memoryview], algorithm: str = DEFAULT) -> str:
    """The checksum of the concatenation of `parts`, chunks in parallel."""
    with Summer(algorithm) as s:
        for pieces in chunks(parts):
            s.add(pieces)
        return s.hexdigest()


def parse(spec: dict[str, Any]) -> tuple[str, str] | None:
    """(algorithm, hex) from a load spec's `checksum: "<algo>:<hex>"` or legacy `sha256: <hex>`;
    None when neither is given. Raises ValueError on an unknown algorithm or bad form."""
    c = spec.get("checksum")
    if c is not None:
        algo, sep, hexd = str(c).partition(":")
        if not sep or not hexd:
            raise ValueError(f"checksum must be '<algorithm>:<hex>', got {c!r}")
        if algo not in ALGORITHMS:
            raise ValueError(f"unknown checksum algorithm {algo!r} (known: {', '.join(ALGORITHMS)})")
        return algo, hexd.lower()
    if spec.get("sha256") is not None:
        return SHA256, str(spec["sha256"]).lower()
    return None
