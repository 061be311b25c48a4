"""Small inputs for the notebooks in tricky/: an event log CSV and a binary blob for mmap."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .common import pick, rng, save_npy, write_csv_chunks

SEED = 42
ROWS = {"small": 5000, "medium": 2_000_000, "large": 40_000_000}
BLOB = {"small": 1 << 16, "medium": 64 << 20, "large": 1 << 30}


def generate(size: str, out: str) -> list[str]:
    n = ROWS[size]

    def chunk(i, s, k):
        r = rng(SEED, i)
        return pd.DataFrame({
            "event_id": np.arange(s, s + k),
            "user": r.integers(0, max(10, n // 50), k),
            "kind": pick(r, ["view", "click", "cart", "buy"], k, [0.7, 0.2, 0.07, 0.03]),
            "value": np.round(r.gamma(2.0, 10.0, k), 3),
            "ts": 1_700_000_000 + np.sort(r.integers(0, 86400 * 30, k)),
        })

    write_csv_chunks(os.path.join(out, "events.csv"), n, 500_000, chunk)
    r = rng(SEED, 99)
    blob = np.empty(BLOB[size] // 8, dtype=np.float64)
    step = 1 << 22
    for i, s in enumerate(range(0, len(blob), step)):
        blob[s:s + step] = rng(SEED, 100, i).normal(0, 1, min(step, len(blob) - s))
    blob.tofile(os.path.join(out, "blob.f64"))
    save_npy(os.path.join(out, "matrix.npy"), r.normal(0, 1, (200, 50)))
    return ["events.csv", "blob.f64", "matrix.npy"]
