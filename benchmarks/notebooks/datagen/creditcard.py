"""Credit-card-fraud-like data (Kaggle "creditcardfraud"): Time, V1..V28, Amount, Class."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .common import rng, write_csv_chunks

SEED = 2013
ROWS = {"small": 12_000, "medium": 800_000, "large": 10_000_000}
FRAUD_RATE = 0.0035
SHIFT = {1: -1.5, 3: 2.5, 4: -2.0, 7: -1.0, 9: -2.5, 10: -3.0, 11: 2.0, 12: -3.5, 14: -4.0, 16: -2.5, 17: -3.0, 18: -1.0}


def generate(size: str, out: str) -> list[str]:
    n = ROWS[size]
    scales = np.linspace(1.9, 0.35, 28)

    def chunk(i: int, s: int, k: int) -> pd.DataFrame:
        r = rng(SEED, i)
        fraud = r.random(k) < FRAUD_RATE
        V = r.normal(0, 1, (k, 28)) * scales
        for j, sh in SHIFT.items():
            V[fraud, j - 1] += sh * scales[j - 1] * r.uniform(0.5, 1.5, fraud.sum())
        amount = np.round(np.where(fraud, r.lognormal(3.0, 1.6, k), r.lognormal(3.1, 1.3, k)), 2)
        t = np.sort(r.uniform(s, s + k, k)) * (172792 / max(n, 1))
        df = pd.DataFrame(np.round(V, 6), columns=[f"V{j}" for j in range(1, 29)])
        df.insert(0, "Time", np.floor(t))
        df["Amount"] = amount
        df["Class"] = fraud.astype(np.int64)
        return df

    write_csv_chunks(os.path.join(out, "creditcard.csv"), n, 100_000, chunk)
    return ["creditcard.csv"]
