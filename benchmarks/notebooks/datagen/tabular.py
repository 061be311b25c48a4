"""Tabular-playground-like binary classification (Kaggle "TPS" style).

id, f_00..f_24 continuous, f_25..f_31 integer counts, cat_0..cat_5 categorical, target.
The target depends on nonlinear interactions, so boosted trees beat linear models.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .common import rng, sigmoid, write_csv_chunks

SEED = 2022
ROWS = {"small": (3000, 1000), "medium": (120_000, 30_000), "large": (5_000_000, 1_250_000)}
N_CONT, N_INT, N_CAT = 25, 7, 6
CAT_CARD = [3, 4, 7, 12, 26, 50]


def _chunk(i: int, start: int, n: int, with_target: bool) -> pd.DataFrame:
    r = rng(SEED, i)
    X = r.normal(0, 1, (n, N_CONT))
    X[:, 3] = np.exp(X[:, 3] * 0.8)  # skewed
    X[:, 7] = X[:, 7] * 3 + 10
    X[:, 11] = np.abs(X[:, 11]) * 100
    X[:, 12] = X[:, 0] * 0.7 + r.normal(0, 0.5, n)  # correlated pair
    ints = r.poisson([1, 2, 3, 1, 5, 2, 8], (n, N_INT))
    cats = [r.integers(0, k, n) for k in CAT_CARD]
    cat_eff = [rng(SEED, 999, j).normal(0, 0.6, k) for j, k in enumerate(CAT_CARD)]
    logit = (
        0.9 * X[:, 0] - 0.7 * X[:, 1] + 0.5 * X[:, 2] * X[:, 4] + 0.8 * np.sin(2 * X[:, 5])
        + 0.6 * (X[:, 6] > 0.5) * X[:, 8] - 0.4 * np.log1p(X[:, 3]) + 0.2 * (X[:, 7] - 10)
        + 0.3 * (ints[:, 0] - 1) - 0.15 * (ints[:, 4] - 5) + 0.6 * np.abs(X[:, 9]) - 0.5
        + sum(e[c] for e, c in zip(cat_eff, cats))
    )
    df = pd.DataFrame(np.round(X, 6), columns=[f"f_{j:02d}" for j in range(N_CONT)])
    for j in range(N_INT):
        df[f"f_{N_CONT + j:02d}"] = ints[:, j]
    for j, (k, c) in enumerate(zip(CAT_CARD, cats)):
        labels = np.array([chr(65 + a % 26) + (chr(65 + a // 26) if a >= 26 else "") for a in range(k)], dtype=object)
        df[f"cat_{j}"] = labels[c]
    # ~1% missing in a few continuous columns
    for j in (2, 10, 20):
        df.loc[r.random(n) < 0.01, f"f_{j:02d}"] = np.nan
    df.insert(0, "id", np.arange(start, start + n))
    if with_target:
        df["target"] = (r.random(n) < sigmoid(logit)).astype(np.int64)
    return df


def generate(size: str, out: str) -> list[str]:
    n_train, n_test = ROWS[size]
    write_csv_chunks(os.path.join(out, "train.csv"), n_train, 100_000, lambda i, s, k: _chunk(i, s, k, True))
    write_csv_chunks(os.path.join(out, "test.csv"), n_test, 100_000, lambda i, s, k: _chunk(10_000 + i, n_train + s, k, False))
    return ["train.csv", "test.csv"]
