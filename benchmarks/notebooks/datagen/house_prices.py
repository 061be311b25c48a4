"""House-prices-like data (Kaggle "house-prices-advanced-regression-techniques")."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .common import pick, rng, write_csv_chunks

SEED = 2006
ROWS = {"small": 2919, "medium": 120_000, "large": 3_000_000}

NEIGHBORHOODS = {  # name: price multiplier
    "NAmes": 0.85, "CollgCr": 1.05, "OldTown": 0.72, "Edwards": 0.75, "Somerst": 1.22,
    "NridgHt": 1.65, "Gilbert": 1.05, "Sawyer": 0.80, "NWAmes": 1.02, "SawyerW": 1.0,
    "BrkSide": 0.70, "Crawfor": 1.10, "Mitchel": 0.90, "NoRidge": 1.75, "Timber": 1.30,
    "IDOTRR": 0.60, "ClearCr": 1.15, "StoneBr": 1.70, "SWISU": 0.78, "Blmngtn": 1.05,
    "MeadowV": 0.55, "BrDale": 0.62, "Veenker": 1.30, "NPkVill": 0.80, "Blueste": 0.78,
}
QUAL = ["Po", "Fa", "TA", "Gd", "Ex"]


def _qual_from(score: np.ndarray, r) -> np.ndarray:
    idx = np.clip(np.round(score + r.normal(0, 0.5, len(score))), 0, 4).astype(int)
    return np.asarray(QUAL, dtype=object)[idx]


def _chunk(i: int, start: int, n: int, with_price: bool) -> pd.DataFrame:
    r = rng(SEED, i)
    nb_names = list(NEIGHBORHOODS)
    nb_mult = np.array([NEIGHBORHOODS[k] for k in nb_names])
    nb_idx = r.choice(len(nb_names), n, p=np.linspace(2, 0.3, len(nb_names)) / np.linspace(2, 0.3, len(nb_names)).sum())
    mult = nb_mult[nb_idx]
    qual = np.clip(np.round(r.normal(4.2 + 2.2 * (mult - 0.6), 1.1)), 1, 10).astype(int)
    year_built = np.clip(np.round(r.normal(1940 + 45 * (mult - 0.55) + 4 * (qual - 5), 22)), 1872, 2010).astype(int)
    remod = np.where(r.random(n) < 0.5, year_built, np.minimum(2010, year_built + r.integers(0, 60, n)))
    yr_sold = r.integers(2006, 2011, n)
    year_built = np.minimum(year_built, yr_sold)
    remod = np.minimum(np.maximum(remod, year_built), yr_sold)
    two_story = r.random(n) < 0.4
    first_flr = np.round(r.normal(850 + 80 * qual, 250)).clip(334, 4692).astype(int)
    second_flr = np.where(two_story, np.round(first_flr * r.uniform(0.6, 1.05, n)), 0).astype(int)
    gr_liv = first_flr + second_flr + np.where(r.random(n) < 0.02, r.integers(50, 500, n), 0)
    has_bsmt = r.random(n) > 0.025
    bsmt_sf = np.where(has_bsmt, np.round(first_flr * r.uniform(0.7, 1.05, n)), 0).astype(int)
    lot_area = np.round(r.lognormal(np.log(9500), 0.45, n)).astype(int)
    lot_frontage = np.round(np.sqrt(lot_area) * r.uniform(0.5, 0.9, n))
    garage_cars = np.clip(np.round(r.normal(0.6 + 0.25 * qual, 0.7)), 0, 4).astype(int)
    has_garage = garage_cars > 0
    garage_area = np.where(has_garage, garage_cars * r.normal(260, 40, n), 0).round().astype(int)
    fireplaces = r.choice([0, 1, 2, 3], n, p=[0.47, 0.45, 0.075, 0.005])
    full_bath = np.clip(1 + (gr_liv > 1500) + (r.random(n) < 0.1), 0, 3)
    half_bath = (r.random(n) < 0.38).astype(int)
    bedrooms = np.clip(np.round(gr_liv / 520 + r.normal(0, 0.6, n)), 0, 8).astype(int)
    tot_rms = np.clip(bedrooms + 2 + full_bath // 2 + r.integers(0, 3, n), 2, 14)
    cond = np.clip(np.round(r.normal(5.6, 1.0, n)), 1, 9).astype(int)
    mas_type = pick(r, ["BrkFace", "Stone", "BrkCmn", None], n, [0.30, 0.09, 0.01, 0.60])
    mas_area = np.where(pd.isna(mas_type), 0.0, np.round(r.gamma(2.0, 110.0, n)))
    pool = r.random(n) < 0.005
    cent_air = r.random(n) < np.where(year_built > 1950, 0.98, 0.8)
    age = yr_sold - year_built

    price = (
        np.exp(11.05 + 0.11 * qual + 0.04 * cond)
        * (gr_liv / 1500) ** 0.65 * mult ** 0.9
        * (1 + 0.06 * garage_cars) * (1 + 0.00008 * bsmt_sf)
        * np.exp(-0.0025 * age) * (1 + 0.05 * fireplaces.clip(0, 1)) * (1 + 0.06 * cent_air)
        * (lot_area / 9500) ** 0.08 * r.lognormal(0, 0.12, n)
    )
    # partial sales / abnormal sales
    sale_cond = pick(r, ["Normal", "Partial", "Abnorml", "Family", "Alloca", "AdjLand"], n, [0.82, 0.085, 0.07, 0.014, 0.008, 0.003])
    price = np.where(sale_cond == "Abnorml", price * 0.85, price)
    price = np.where(sale_cond == "Partial", price * 1.12, price)
    # a few huge cheap houses (the well-known outliers)
    outlier = r.random(n) < 0.0015
    gr_liv = np.where(outlier, gr_liv + 2500, gr_liv)

    df = pd.DataFrame({
        "Id": np.arange(start + 1, start + n + 1),
        "MSSubClass": np.where(two_story, pick(r, [60, 70, 75, 160], n, [0.7, 0.15, 0.05, 0.1]), pick(r, [20, 30, 50, 85, 90, 120, 190], n, [0.6, 0.08, 0.12, 0.03, 0.05, 0.09, 0.03])),
        "MSZoning": pick(r, ["RL", "RM", "FV", "RH", "C (all)"], n, [0.79, 0.15, 0.045, 0.01, 0.007]),
        "LotFrontage": np.where(r.random(n) < 0.17, np.nan, lot_frontage),
        "LotArea": lot_area,
        "Street": pick(r, ["Pave", "Grvl"], n, [0.996, 0.004]),
        "Alley": pick(r, [None, "Grvl", "Pave"], n, [0.937, 0.035, 0.028]),
        "LotShape": pick(r, ["Reg", "IR1", "IR2", "IR3"], n, [0.63, 0.33, 0.03, 0.01]),
        "Neighborhood": np.asarray(nb_names, dtype=object)[nb_idx],
        "BldgType": pick(r, ["1Fam", "TwnhsE", "Duplex", "Twnhs", "2fmCon"], n, [0.83, 0.08, 0.035, 0.03, 0.02]),
        "HouseStyle": np.where(two_story, pick(r, ["2Story", "1.5Fin", "2.5Unf"], n, [0.85, 0.13, 0.02]), pick(r, ["1Story", "SLvl", "SFoyer"], n, [0.85, 0.1, 0.05])),
        "OverallQual": qual,
        "OverallCond": cond,
        "YearBuilt": year_built,
        "YearRemodAdd": remod,
        "RoofStyle": pick(r, ["Gable", "Hip", "Flat", "Gambrel", "Mansard"], n, [0.78, 0.196, 0.01, 0.008, 0.006]),
        "Exterior1st": pick(r, ["VinylSd", "HdBoard", "MetalSd", "Wd Sdng", "Plywood", "CemntBd", "BrkFace", "Stucco"], n, [0.35, 0.15, 0.15, 0.14, 0.07, 0.04, 0.04, 0.02]),
        "MasVnrType": mas_type,
        "MasVnrArea": np.where(r.random(n) < 0.005, np.nan, mas_area),
        "ExterQual": _qual_from(qual / 2.5, r),
        "Foundation": np.where(year_built > 1980, "PConc", pick(r, ["CBlock", "BrkTil", "PConc", "Slab", "Stone"], n, [0.55, 0.25, 0.12, 0.05, 0.03])),
        "BsmtQual": np.where(has_bsmt, _qual_from(qual / 2.4, r), None),
        "TotalBsmtSF": bsmt_sf,
        "CentralAir": np.where(cent_air, "Y", "N"),
        "1stFlrSF": first_flr,
        "2ndFlrSF": second_flr,
        "GrLivArea": gr_liv,
        "FullBath": full_bath,
        "HalfBath": half_bath,
        "BedroomAbvGr": bedrooms,
        "KitchenQual": _qual_from(qual / 2.5, r),
        "TotRmsAbvGrd": tot_rms,
        "Fireplaces": fireplaces,
        "FireplaceQu": np.where(fireplaces > 0, _qual_from(qual / 2.6, r), None),
        "GarageType": np.where(has_garage, pick(r, ["Attchd", "Detchd", "BuiltIn", "Basment", "CarPort"], n, [0.63, 0.28, 0.065, 0.015, 0.01]), None),
        "GarageYrBlt": np.where(has_garage, np.maximum(year_built, year_built + r.integers(-1, 3, n)), np.nan),
        "GarageCars": garage_cars,
        "GarageArea": garage_area,
        "PoolArea": np.where(pool, r.integers(400, 800, n), 0),
        "PoolQC": np.where(pool, pick(r, ["Ex", "Gd", "Fa"], n), None),
        "Fence": pick(r, [None, "MnPrv", "GdPrv", "GdWo", "MnWw"], n, [0.81, 0.11, 0.04, 0.035, 0.005]),
        "MiscFeature": pick(r, [None, "Shed", "Gar2", "Othr"], n, [0.963, 0.034, 0.002, 0.001]),
        "MoSold": r.choice(np.arange(1, 13), n, p=np.array([4, 5, 7, 9, 12, 14, 13, 9, 6, 6, 5, 4]) / 94),
        "YrSold": yr_sold,
        "SaleType": pick(r, ["WD", "New", "COD", "ConLD", "ConLI", "ConLw", "CWD", "Oth"], n, [0.87, 0.08, 0.03, 0.006, 0.004, 0.004, 0.003, 0.003]),
        "SaleCondition": sale_cond,
    })
    if with_price:
        df["SalePrice"] = np.round(price).astype(np.int64)
    return df


def generate(size: str, out: str) -> list[str]:
    n = ROWS[size]
    n_train = int(round(n * 1460 / 2919))
    chunk = 100_000
    write_csv_chunks(os.path.join(out, "train.csv"), n_train, chunk, lambda i, s, k: _chunk(i, s, k, True))
    write_csv_chunks(os.path.join(out, "test.csv"), n - n_train, chunk, lambda i, s, k: _chunk(50_000 + i, n_train + s, k, False))
    return ["train.csv", "test.csv"]
