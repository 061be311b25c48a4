"""Where a blob is cut into content-addressed chunks (store format 3, checksum `sha256-chunks`).

Format 2 cut every blob into fixed 8 MiB chunks from its start. Any change of length early in a
blob (the pickle stream of a frame gaining a column, one more small object in the group) then moved
every later byte across those boundaries, and whole unchanged arrays were written again under new
chunk names (measured on the corpus: packages/store/README.md). So boundaries now follow content:

* An out-of-band buffer of at least OWN_MIN bytes (an array's or a frame block's raw data, pickle
  protocol 5) gets chunks of its own: a boundary at its start and at its end, fixed MAX-byte
  chunks from its start. An unchanged buffer gives the same chunk names whatever changed before it
  in the blob; an in-place change of a slice rewrites the one chunk it falls in.
* The bytes between such buffers (the pickle stream with the in-band data, small buffers, padding,
  the footer) are cut content-defined: a boundary after a byte where a gear hash of the last WINDOW
  bytes has its top BITS bits zero, chunks at least MIN and at most MAX bytes. An insertion or a
  change of length there moves the boundaries near it only.

Boundaries are a pure function of the bytes (and of which buffers are out of band): the numpy
version (vectorised per block, an accelerator) and the stdlib version give the same cuts; only
speed differs. Chunks are at most MAX bytes (comm buffers are at most 8 MiB too).
"""

from __future__ import annotations

import hashlib
import sys
from typing import Any, Iterator

MAX = 8 << 20
OWN_MIN = 512 << 10  # = MIN: a buffer never makes a chunk smaller than a content-defined one (one file and fsync per chunk)
MIN = 512 << 10
BITS = 20  # a boundary every ~1 MiB of candidates after MIN: chunks of ~1.5 MiB on average
WINDOW = 64
_BLOCK = 256 << 10
_K = 0x9E3779B97F4A7C15  # spreads the window sum's low bits into the top ones
_MASK = (1 << 64) - 1
# Fixed forever: chunk names (and so dedupe across kernels and versions) depend on it.
GEAR = tuple(int.from_bytes(hashlib.sha256(b"nbferry-gear" + bytes([i])).digest()[:8], "little") for i in range(256))


def cut(parts: list[memoryview], own: list[bool]) -> Iterator[list[memoryview]]:
    """The blob given as segments, as chunks (each a list of slices, no copies of big buffers).
    `own[i]`: segment i is an out-of-band buffer that gets chunks of its own."""
    run: list[memoryview] = []
    for mv, alone in zip(parts, own):
        if alone and mv.nbytes >= OWN_MIN:
            yield from _content_defined(run)
            run = []
            for i in range(0, mv.nbytes, MAX):
                yield [mv[i : i + MAX]]
        else:
            run.append(mv)
    yield from _content_defined(run)


def _content_defined(run: list[memoryview]) -> Iterator[list[memoryview]]:
    if not run:
        return
    data = run[0] if len(run) == 1 else memoryview(b"".join(run))
    last = 0
    for end in boundaries(data):
        yield [data[last:end]]
        last = end


def boundaries(data: Any) -> list[int]:
    """End offsets of the content-defined chunks of `data` (the last one is its length)."""
    mv = memoryview(data).cast("B")
    np = sys.modules.get("numpy")
    find = _first_numpy(np, mv) if np is not None else _first_python(mv)
    n = mv.nbytes
    ends: list[int] = []
    last = 0
    while n - last > MIN:
        limit = min(last + MAX, n)
        end = find(last + MIN, limit)
        ends.append(end if end is not None else limit)
        last = ends[-1]
    if last < n:
        ends.append(n)
    return ends


def _first_python(mv: memoryview) -> Any:
    def find(start: int, limit: int) -> int | None:
        """The first end offset p in [start, limit) whose window [p-WINDOW, p) hashes to a boundary."""
        s = 0
        for b in mv[start - WINDOW : start]:
            s += GEAR[b]
        shift = 64 - BITS
        for p in range(start, limit):
            if (((s & _MASK) * _K) & _MASK) >> shift == 0:
                return p
            s += GEAR[mv[p]] - GEAR[mv[p - WINDOW]]
        return None

    return find


def _first_numpy(np: Any, mv: memoryview) -> Any:
    arr = np.frombuffer(mv, dtype=np.uint8)
    gear = np.array(GEAR, dtype=np.uint64)
    k = np.uint64(_K)
    shift = np.uint64(64 - BITS)
    zero = np.zeros(1, dtype=np.uint64)

    def find(start: int, limit: int) -> int | None:
        pos = start
        while pos < limit:
            end = min(pos + _BLOCK, limit)
            # Candidates p in [pos, end) need bytes [pos-WINDOW, end-1); sums wrap mod 2^64 as in Python.
            c = np.cumsum(gear[arr[pos - WINDOW : end - 1]], dtype=np.uint64)
            win = c[WINDOW - 1 :] - np.concatenate((zero, c[: c.size - WINDOW]))
            hits = np.flatnonzero(((win * k) >> shift) == 0)
            if hits.size:
                return pos + int(hits[0])
            pos = end
        return None

    return find
