"""Deterministic synthetic data generators for the nbferry benchmark notebook corpus.

Each module in this package reproduces the schema of a well-known public dataset
(Kaggle-style) with seeded random data, at three sizes: ``small`` (CI), ``medium``
and ``large``. Only the standard library, numpy and pandas are used; outputs are
CSV and ``.npy`` files.

Usage (from the repository root)::

    PYTHONPATH=benchmarks/notebooks python -m datagen titanic --size small --out benchmarks/notebooks/data/small
    PYTHONPATH=benchmarks/notebooks python -m datagen all --size small

Files for dataset ``<name>`` are written to ``<out>/<name>/``. The default ``--out``
is ``benchmarks/notebooks/data/<size>``, which is where the notebooks look by default.
"""

from __future__ import annotations

import importlib

DATASETS = (
    "titanic",
    "house_prices",
    "store_sales",
    "tweets",
    "digits",
    "tabular",
    "retail",
    "movielens",
    "creditcard",
    "lanl",
    "tricky",
)

SIZES = ("small", "medium", "large")


def get_module(name: str):
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return importlib.import_module(f"{__name__}.{name}")
