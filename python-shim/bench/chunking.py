"""How a blob is cut into content-addressed chunks, three ways, on the blob bytes `save` writes
(pickle protocol 5, out-of-band buffers 64-byte aligned): bytes a second checkpoint must write
after a change, and chunking cost.

* fixed 8 MiB: consecutive 8 MiB slices from the blob's start (store format 2);
* format 3 (cutpoints.py, what `save` writes now): each out-of-band buffer of 512 KiB or more
  chunked on its own (8 MiB from its start), content-defined cuts (~1.5 MiB) between them;
* CDC ~8 MiB: content-defined cuts over the whole blob (the gear hash below).

    ../.venv/bin/python bench/chunking.py [--mib 500]

CDC here: a boundary where a windowed gear sum over the last 64 bytes has its top 23 bits zero
(average 8 MiB), with 2 MiB minimum and 32 MiB maximum chunks. Vectorised with numpy per block.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from nbferry_shim import blobs, chunksum, cutpoints  # noqa: E402

MiB = 1 << 20
WINDOW = 64
BITS = 23
MIN, MAX = 2 * MiB, 32 * MiB
GEAR = np.random.default_rng(12345).integers(0, 2**63, 256, dtype=np.uint64) | np.uint64(1)


def blob_bytes(values: dict) -> tuple[bytes, list[tuple[int, int]], float]:
    """The blob, its format 3 chunks as (offset, length), and the seconds cutting them took."""
    seg = blobs._build(values, None)
    spans, pos = [], 0
    t0 = time.perf_counter()
    for pieces in cutpoints.cut(seg.parts, seg.own):
        n = sum(p.nbytes for p in pieces)
        spans.append((pos, n))
        pos += n
    return b"".join(bytes(p) for p in seg.parts), spans, time.perf_counter() - t0


def fixed(data: bytes) -> list[tuple[int, int]]:
    return [(i, min(chunksum.CHUNK, len(data) - i)) for i in range(0, len(data), chunksum.CHUNK)]


def cdc(data: bytes) -> list[tuple[int, int]]:
    arr = np.frombuffer(data, dtype=np.uint8)
    candidates: list[np.ndarray] = []
    block = 64 * MiB
    for start in range(0, len(arr), block):
        lo = max(0, start - WINDOW)
        g = GEAR[arr[lo : start + block]]
        c = np.cumsum(g, dtype=np.uint64)  # wraps mod 2^64: windowed sums stay exact
        win = c[WINDOW:] - c[:-WINDOW]
        h = win * np.uint64(0x9E3779B97F4A7C15)
        pos = np.nonzero((h >> np.uint64(64 - BITS)) == 0)[0] + lo + WINDOW + 1
        candidates.append(pos[pos > start] if start else pos)
    cands = np.concatenate(candidates) if candidates else np.array([], dtype=np.int64)
    cuts, last = [], 0
    for p in cands.tolist():
        while p - last > MAX:
            cuts.append(last + MAX)
            last += MAX
        if p - last >= MIN:
            cuts.append(p)
            last = p
    while len(arr) - last > MAX:
        cuts.append(last + MAX)
        last += MAX
    bounds = [0, *cuts, len(arr)] if not cuts or cuts[-1] != len(arr) else [0, *cuts]
    return [(a, b - a) for a, b in zip(bounds, bounds[1:]) if b > a]


def digests(data: bytes, spans: list[tuple[int, int]]) -> dict[str, int]:
    mv = memoryview(data)
    return {hashlib.sha256(mv[o : o + n]).hexdigest(): n for o, n in spans}


def compare(label: str, before: dict, after: dict) -> None:
    a, a3, format3_s = blob_bytes(before)
    b, b3, _ = blob_bytes(after)
    for name, chunker in (("fixed 8 MiB", fixed), ("format 3", None), ("CDC ~8 MiB", cdc)):
        t0 = time.perf_counter()
        old = digests(a, chunker(a) if chunker else a3)
        t1 = time.perf_counter()
        if chunker is None:
            t1 += format3_s  # cut before: count it
        new = digests(b, chunker(b) if chunker else b3)
        written = sum(n for d, n in new.items() if d not in old)
        print(f"{label:44s} {name:12s} blob {len(b) / MiB:8.1f} MiB  chunks {len(new):4d}  "
              f"new bytes {written / MiB:8.1f} MiB ({100 * written / len(b):5.1f}%)  chunk+hash {len(a) / MiB / (t1 - t0):6.0f} MiB/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=500)
    args = ap.parse_args()
    n = args.mib * MiB // 8
    big = np.random.default_rng(1).random(n)
    changed = big.copy()
    changed[n // 2 : n // 2 + 1000] = 0.5
    compare(f"{args.mib} MiB array, 1000 elements changed", {"a": big}, {"a": changed})
    del changed
    try:
        import pandas as pd
    except ImportError:
        print("pandas not installed: frame cases skipped")
        return
    rng = np.random.default_rng(2)
    rows = 2_000_000
    df = pd.DataFrame({"a": rng.random(rows), "b": rng.integers(0, 1 << 40, rows), "c": rng.random(rows),
                       "d": rng.random(rows), "e": rng.integers(0, 100, rows)})
    edited = df.copy()
    edited.iloc[[10, 700_000, 1_500_000], 0] = -1.0
    compare(f"frame {rows:,} rows x 5, 3 values changed", {"df": df}, {"df": edited})
    appended = pd.concat([df, df.tail(1000)], ignore_index=True)
    compare(f"frame {rows:,} rows x 5, 1000 rows appended", {"df": df}, {"df": appended})
    widened = df.copy(deep=False)
    widened["f"] = rng.random(rows)
    compare(f"frame {rows:,} rows x 5, a column added", {"df": df}, {"df": widened})
    words = np.array([f"customer {i}" for i in range(50_000)], dtype=object)
    text = df.assign(s=words[rng.integers(0, 50_000, rows)], t=words[rng.integers(0, 50_000, rows)])
    retyped = text.copy(deep=False)
    retyped["a"] = retyped["a"] * 2
    compare(f"frame {rows:,} rows, 2 text columns, 1 float column replaced", {"df": text}, {"df": retyped})


if __name__ == "__main__":
    main()
