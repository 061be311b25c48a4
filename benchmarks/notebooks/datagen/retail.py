"""Online-retail-like transactions (UCI "Online Retail II", popular on Kaggle for RFM).

online_retail.csv: Invoice, StockCode, Description, Quantity, InvoiceDate, Price, Customer ID, Country.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .common import pick, rng, write_csv_chunks

SEED = 2011
# (invoice lines, customers, products)
SHAPE = {"small": (8000, 300, 400), "medium": (1_200_000, 6000, 4000), "large": (15_000_000, 60_000, 20_000)}
ADJ = ["WHITE", "RED", "PINK", "BLUE", "VINTAGE", "REGENCY", "JUMBO", "SET OF 3", "PAPER", "GLASS", "HANGING", "LUNCH", "HEART", "RETROSPOT", "SMALL", "LARGE", "WOODEN", "PARTY"]
NOUN = ["T-LIGHT HOLDER", "CAKESTAND", "LANTERN", "BAG", "MUG", "BUNTING", "TEACUP", "CANDLE", "BOTTLE", "DOORMAT", "ALARM CLOCK", "NAPKINS", "BOX", "SIGN", "CUSHION COVER", "PLATE", "CHALKBOARD", "WATER BOTTLE"]
COUNTRIES = ["United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium", "Switzerland", "Portugal", "Australia", "Norway", "Italy", "Channel Islands", "Finland", "Cyprus", "Sweden", "Denmark", "Japan", "Poland", "USA"]
START = np.datetime64("2010-12-01T08:00")


def generate(size: str, out: str) -> list[str]:
    n_lines, n_cust, n_prod = SHAPE[size]
    r = rng(SEED, 0)
    codes = np.array([f"{c}{s}" for c, s in zip(r.integers(10000, 90000, n_prod), pick(r, ["", "", "", "A", "B", "C"], n_prod))], dtype=object)
    codes[0] = "POST"
    codes[1] = "M"
    desc = pick(r, ADJ, n_prod) + " " + pick(r, ADJ, n_prod) + " " + pick(r, NOUN, n_prod)
    desc[0] = "POSTAGE"
    desc[1] = "Manual"
    price = np.round(r.lognormal(np.log(2.5), 0.8, n_prod), 2)
    price[0] = 18.0
    prod_pop = r.zipf(1.6, n_prod).astype(float)
    prod_pop /= prod_pop.sum()
    cust_ids = np.arange(12346, 12346 + n_cust).astype(float)
    cust_country = pick(r, COUNTRIES, n_cust, np.r_[18.0, np.full(len(COUNTRIES) - 1, 0.3)])
    cust_activity = r.gamma(0.6, 1.0, n_cust)
    cust_activity /= cust_activity.sum()
    # customers "churn": last active day
    cust_last = r.integers(30, 374, n_cust)
    n_invoices = max(1, n_lines // 20)
    lines_per_inv = n_lines / n_invoices

    def chunk(i: int, s: int, k: int) -> pd.DataFrame:
        rr = rng(SEED, 1, i)
        n_inv = max(1, int(round(k / lines_per_inv)))
        inv_no = 489434 + (s // int(lines_per_inv)) + np.arange(n_inv)
        inv_cust = rr.choice(n_cust, n_inv, p=cust_activity)
        inv_day = np.minimum(rr.integers(0, 374, n_inv), cust_last[inv_cust])
        inv_time = START + (inv_day * 1440 + rr.integers(0, 600, n_inv)).astype("timedelta64[m]")
        guest = rr.random(n_inv) < 0.2  # no Customer ID
        cancel = rr.random(n_inv) < 0.02
        which = np.sort(rr.integers(0, n_inv, k))
        prod = rr.choice(n_prod, k, p=prod_pop)
        qty = np.maximum(1, rr.geometric(0.25, k) * rr.choice([1, 1, 1, 2, 6, 12], k))
        qty = np.where(cancel[which], -qty, qty)
        unit = np.where(rr.random(k) < 0.03, np.round(price[prod] * rr.uniform(0.5, 1.3, k), 2), price[prod])
        inv_str = np.where(cancel[which], "C", "").astype(object) + inv_no[which].astype(str).astype(object)
        cid = np.where(guest[which], np.nan, cust_ids[inv_cust[which]])
        country = np.where(guest[which], "United Kingdom", cust_country[inv_cust[which]])
        return pd.DataFrame({
            "Invoice": inv_str,
            "StockCode": codes[prod],
            "Description": pd.Series(desc[prod]).where(rr.random(k) > 0.003),
            "Quantity": qty,
            "InvoiceDate": pd.to_datetime(inv_time[which]).strftime("%Y-%m-%d %H:%M:%S"),
            "Price": unit,
            "Customer ID": cid,
            "Country": country,
        })

    write_csv_chunks(os.path.join(out, "online_retail.csv"), n_lines, 200_000, chunk)
    return ["online_retail.csv"]
