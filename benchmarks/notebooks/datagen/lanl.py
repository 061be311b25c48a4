"""LANL-earthquake-like lab signal (Kaggle "LANL-Earthquake-Prediction").

train.csv: acoustic_data (int), time_to_failure (float, seconds until the next lab quake).
Quake cycles of varying length; the signal's variance and spikes grow toward failure.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .common import rng, write_csv_chunks

SEED = 2019
ROWS = {"small": 400_000, "medium": 25_000_000, "large": 400_000_000}
N_QUAKES = 16  # like the original training signal, at every size


def generate(size: str, out: str) -> list[str]:
    n = ROWS[size]
    r = rng(SEED, 0)
    # about N_QUAKES cycles of varying length; each lasts 7-16 "seconds" of lab time
    lengths = []
    total = 0
    while total < n:
        L = int(n / N_QUAKES * r.uniform(0.6, 1.4))
        lengths.append(L)
        total += L
    ends = np.cumsum(lengths)
    cycle_sec = r.uniform(7, 16, len(lengths))

    def chunk(i: int, s: int, k: int) -> pd.DataFrame:
        rr = rng(SEED, 1, i)
        idx = np.arange(s, s + k)
        c = np.searchsorted(ends, idx, side="right")
        pos_from_end = ends[c] - idx  # samples until failure
        ttf = pos_from_end / lengths_arr[c] * cycle_sec[c]
        frac = 1.0 - ttf / cycle_sec[c]
        sigma = 3.0 + 4.0 * frac ** 3
        sig = 4.5 + rr.normal(0, 1, k) * sigma
        spike = rr.random(k) < 0.0005 * (1 + 20 * frac ** 4)
        sig = np.where(spike, sig + rr.normal(0, 80, k), sig)
        near = ttf < 0.02
        sig = np.where(near, sig + rr.normal(0, 400, k), sig)
        return pd.DataFrame({"acoustic_data": np.round(sig).astype(np.int16), "time_to_failure": np.round(ttf + 0.0008, 10)})

    lengths_arr = np.asarray(lengths)
    write_csv_chunks(os.path.join(out, "train.csv"), n, 1_000_000, chunk)
    return ["train.csv"]
