"""Store-sales-like data (Kaggle "store-sales-time-series-forecasting", Favorita).

Files: train.csv, test.csv, stores.csv, oil.csv, holidays_events.csv, transactions.csv.
train.csv rows are sorted by date, store_nbr, family, like the original.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .common import pick, rng, write_csv_chunks

SEED = 2017
# (stores, families, training days)
SHAPE = {"small": (6, 8, 240), "medium": (54, 33, 700), "large": (160, 33, 1684)}
TEST_DAYS = 16
START = pd.Timestamp("2013-01-01")

FAMILIES = [
    "AUTOMOTIVE", "BABY CARE", "BEAUTY", "BEVERAGES", "BOOKS", "BREAD/BAKERY", "CELEBRATION",
    "CLEANING", "DAIRY", "DELI", "EGGS", "FROZEN FOODS", "GROCERY I", "GROCERY II", "HARDWARE",
    "HOME AND KITCHEN I", "HOME AND KITCHEN II", "HOME APPLIANCES", "HOME CARE", "LADIESWEAR",
    "LAWN AND GARDEN", "LINGERIE", "LIQUOR,WINE,BEER", "MAGAZINES", "MEATS", "PERSONAL CARE",
    "PET SUPPLIES", "PLAYERS AND ELECTRONICS", "POULTRY", "PREPARED FOODS", "PRODUCE",
    "SCHOOL AND OFFICE SUPPLIES", "SEAFOOD",
]
# typical daily unit sales per store; the small size keeps the 8 biggest + a sparse one
FAMILY_LEVEL = {
    "AUTOMOTIVE": 6, "BABY CARE": 0.1, "BEAUTY": 3.5, "BEVERAGES": 2400, "BOOKS": 0.05,
    "BREAD/BAKERY": 470, "CELEBRATION": 8, "CLEANING": 1070, "DAIRY": 710, "DELI": 265,
    "EGGS": 170, "FROZEN FOODS": 155, "GROCERY I": 3800, "GROCERY II": 20, "HARDWARE": 1.2,
    "HOME AND KITCHEN I": 20, "HOME AND KITCHEN II": 17, "HOME APPLIANCES": 0.5,
    "HOME CARE": 180, "LADIESWEAR": 7, "LAWN AND GARDEN": 6, "LINGERIE": 7,
    "LIQUOR,WINE,BEER": 85, "MAGAZINES": 3, "MEATS": 340, "PERSONAL CARE": 270,
    "PET SUPPLIES": 4, "PLAYERS AND ELECTRONICS": 6, "POULTRY": 350, "PREPARED FOODS": 97,
    "PRODUCE": 1350, "SCHOOL AND OFFICE SUPPLIES": 3, "SEAFOOD": 22,
}
SMALL_FAMILIES = ["GROCERY I", "BEVERAGES", "PRODUCE", "CLEANING", "DAIRY", "BREAD/BAKERY", "POULTRY", "BOOKS"]
CITIES = [("Quito", "Pichincha"), ("Guayaquil", "Guayas"), ("Cuenca", "Azuay"), ("Santo Domingo", "Santo Domingo de los Tsachilas"),
          ("Machala", "El Oro"), ("Manta", "Manabi"), ("Ambato", "Tungurahua"), ("Loja", "Loja"), ("Latacunga", "Cotopaxi"),
          ("Riobamba", "Chimborazo"), ("Ibarra", "Imbabura"), ("Babahoyo", "Los Rios"), ("Esmeraldas", "Esmeraldas"), ("Salinas", "Santa Elena")]


def _stores(n_stores: int) -> pd.DataFrame:
    r = rng(SEED, 1)
    city_idx = r.choice(len(CITIES), n_stores, p=np.r_[0.33, 0.2, np.full(len(CITIES) - 2, 0.47 / (len(CITIES) - 2))])
    return pd.DataFrame({
        "store_nbr": np.arange(1, n_stores + 1),
        "city": [CITIES[k][0] for k in city_idx],
        "state": [CITIES[k][1] for k in city_idx],
        "type": pick(r, list("ABCDE"), n_stores, [0.17, 0.15, 0.28, 0.33, 0.07]),
        "cluster": r.integers(1, 18, n_stores),
    })


def _holidays(days: pd.DatetimeIndex) -> pd.DataFrame:
    rows = []
    for year in sorted(set(days.year)):
        rows += [
            (f"{year}-01-01", "Holiday", "National", "Ecuador", "Primer dia del ano", False),
            (f"{year}-05-01", "Holiday", "National", "Ecuador", "Dia del Trabajo", False),
            (f"{year}-05-24", "Holiday", "National", "Ecuador", "Batalla de Pichincha", year % 2 == 0),
            (f"{year}-08-10", "Holiday", "National", "Ecuador", "Primer Grito de Independencia", year % 3 == 0),
            (f"{year}-10-09", "Holiday", "National", "Ecuador", "Independencia de Guayaquil", False),
            (f"{year}-11-02", "Holiday", "National", "Ecuador", "Dia de Difuntos", False),
            (f"{year}-12-06", "Holiday", "Local", "Quito", "Fundacion de Quito", False),
            (f"{year}-12-24", "Additional", "National", "Ecuador", "Navidad-1", False),
            (f"{year}-12-25", "Holiday", "National", "Ecuador", "Navidad", False),
            (f"{year}-12-26", "Additional", "National", "Ecuador", "Navidad+1", False),
            (f"{year}-07-25", "Holiday", "Local", "Guayaquil", "Fundacion de Guayaquil", False),
            (f"{year}-11-03", "Holiday", "Local", "Cuenca", "Independencia de Cuenca", False),
            (f"{year}-05-12", "Event", "National", "Ecuador", "Dia de la Madre", False),
        ]
    df = pd.DataFrame(rows, columns=["date", "type", "locale", "locale_name", "description", "transferred"])
    df["date"] = pd.to_datetime(df["date"])
    df = df[(df.date >= days.min()) & (df.date <= days.max())].sort_values("date")
    df["date"] = df["date"].dt.strftime("%Y-%m-%d")
    return df.reset_index(drop=True)


def generate(size: str, out: str) -> list[str]:
    n_stores, n_fam, n_days = SHAPE[size]
    families = SMALL_FAMILIES if size == "small" else FAMILIES[:n_fam]
    days = pd.date_range(START, periods=n_days + TEST_DAYS, freq="D")
    stores = _stores(n_stores)
    stores.to_csv(os.path.join(out, "stores.csv"), index=False)

    r = rng(SEED, 2)
    # oil: business days only, random walk, some missing values
    bdays = days[days.dayofweek < 5]
    oil = 95 + np.cumsum(r.normal(0, 1.2, len(bdays))) - np.linspace(0, 50, len(bdays))
    oil = pd.DataFrame({"date": bdays.strftime("%Y-%m-%d"), "dcoilwtico": np.round(np.clip(oil, 26, 110), 2)})
    oil.loc[r.random(len(oil)) < 0.035, "dcoilwtico"] = np.nan
    oil.loc[0, "dcoilwtico"] = np.nan
    oil.to_csv(os.path.join(out, "oil.csv"), index=False)

    hol = _holidays(days)
    hol.to_csv(os.path.join(out, "holidays_events.csv"), index=False)
    hol_dates = set(hol.loc[hol.locale == "National", "date"])

    store_level = r.lognormal(0, 0.45, n_stores) * np.where(stores["type"].to_numpy() == "A", 1.6, 1.0)
    fam_level = np.array([FAMILY_LEVEL[f] for f in families])
    store_fam = r.lognormal(0, 0.3, (n_stores, len(families)))
    opened = np.where(r.random(n_stores) < 0.08, r.integers(0, max(1, n_days // 2), n_stores), 0)
    dow_eff = np.array([0.95, 0.9, 0.92, 0.9, 1.0, 1.25, 1.2])
    n_sf = n_stores * len(families)
    days_per_chunk = max(1, 400_000 // n_sf)
    day_str = days.strftime("%Y-%m-%d").to_numpy()
    fam_arr = np.tile(np.asarray(families, dtype=object), n_stores)
    store_arr = np.repeat(np.arange(1, n_stores + 1), len(families))

    def rows(i: int, d0: int, nd: int, with_sales: bool) -> pd.DataFrame:
        rr = rng(SEED, 10, i, int(with_sales))
        d = np.arange(d0, d0 + nd)
        t = d / 365.25
        date = days[d]
        season = dow_eff[date.dayofweek.to_numpy()] * (1 + 0.08 * np.sin(2 * np.pi * t)) * (1 + 0.12 * t)
        payday = np.where((date.day == 15) | date.is_month_end, 1.1, 1.0)
        xmas = np.where((date.month == 12) & (date.day >= 15) & (date.day <= 24), 1.4, 1.0)
        hol_eff = np.where(np.isin(day_str[d], list(hol_dates)), 1.3, 1.0)
        jan1 = date.dayofyear.to_numpy() == 1
        day_mult = season * payday * xmas * hol_eff
        promo = (rr.random((nd, n_sf)) < 0.12 + 0.05 * t[:, None]) * rr.integers(1, 60, (nd, n_sf))
        promo = np.where(fam_arr[None, :] == "BOOKS", 0, promo)
        if d0 + nd <= n_days and t.max() < 1.2:
            promo = np.where(rr.random((nd, n_sf)) < 0.9, 0, promo)  # promotions rare early on
        mean = (store_level[:, None] * fam_level[None, :] * store_fam).reshape(-1)[None, :] * day_mult[:, None]
        mean = mean * (1 + 0.015 * promo)
        sales = rr.gamma(4.0, mean / 4.0)
        is_int = ~np.isin(fam_arr, ["PRODUCE", "MEATS", "POULTRY", "DELI", "SEAFOOD", "BREAD/BAKERY"])
        sales = np.where(is_int[None, :], np.round(sales), np.round(sales, 3))
        closed = (d[:, None] < opened[store_arr - 1][None, :]) | jan1[:, None]
        sales = np.where(closed, 0.0, sales)
        df = pd.DataFrame({
            "id": np.arange(d0 * n_sf, (d0 + nd) * n_sf),
            "date": np.repeat(day_str[d], n_sf),
            "store_nbr": np.tile(store_arr, nd),
            "family": np.tile(fam_arr, nd),
        })
        if with_sales:
            df["sales"] = sales.reshape(-1)
        df["onpromotion"] = promo.reshape(-1)
        return df

    def train_chunk(i, s, k):
        return rows(i, s // n_sf, k // n_sf, True)

    write_csv_chunks(os.path.join(out, "train.csv"), n_days * n_sf, days_per_chunk * n_sf, train_chunk)
    write_csv_chunks(os.path.join(out, "test.csv"), TEST_DAYS * n_sf, TEST_DAYS * n_sf,
                     lambda i, s, k: rows(10_000 + i, n_days, TEST_DAYS, False))

    # transactions per store and day (open days only)
    rt = rng(SEED, 3)
    tr_days = np.repeat(np.arange(n_days), n_stores)
    tr_store = np.tile(np.arange(1, n_stores + 1), n_days)
    dates = days[tr_days]
    tx = store_level[tr_store - 1] * 1700 * dow_eff[dates.dayofweek.to_numpy()] * rt.lognormal(0, 0.1, len(tr_days))
    keep = (tr_days >= opened[tr_store - 1]) & (dates.dayofyear.to_numpy() != 1)
    pd.DataFrame({"date": day_str[tr_days][keep], "store_nbr": tr_store[keep], "transactions": np.round(tx[keep]).astype(int)}).to_csv(
        os.path.join(out, "transactions.csv"), index=False)
    return ["train.csv", "test.csv", "stores.csv", "oil.csv", "holidays_events.csv", "transactions.csv"]
