"""Helpers shared by the generators: seeded RNG streams and chunked CSV writing."""

from __future__ import annotations

import os
from typing import Callable

import numpy as np
import pandas as pd

# Bump when any generator's output changes, so cached data is regenerated.
GENERATOR_VERSION = 1


def rng(seed: int, *keys: int) -> np.random.Generator:
    """An independent, reproducible stream for (seed, *keys)."""
    return np.random.default_rng([seed, *keys])


def write_csv_chunks(
    path: str,
    n_rows: int,
    chunk_rows: int,
    make_chunk: Callable[[int, int, int], pd.DataFrame],
) -> None:
    """Write ``n_rows`` rows produced by ``make_chunk(chunk_index, start, count)``.

    Each chunk must be generated from its own RNG stream (``rng(seed, chunk_index)``)
    so the output does not depend on memory limits or on anything but the size.
    """
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        for i, start in enumerate(range(0, n_rows, chunk_rows)):
            df = make_chunk(i, start, min(chunk_rows, n_rows - start))
            df.to_csv(f, header=(i == 0), index=False, lineterminator="\n")
    os.replace(tmp, path)


def save_npy(path: str, arr: np.ndarray) -> None:
    tmp = path + ".tmp.npy"
    np.save(tmp, arr)
    os.replace(tmp, path)


def pick(r: np.random.Generator, values, n: int, p=None) -> np.ndarray:
    """``n`` draws from ``values`` as an object array (for string columns)."""
    values = np.asarray(values, dtype=object)
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    return values[r.choice(len(values), size=n, p=p)]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def chunk_size(n_cols: int) -> int:
    """Rows per chunk so a chunk stays around 50-100 MB in memory."""
    return max(10_000, 4_000_000 // max(1, n_cols))
