"""Titanic-like passengers (Kaggle "titanic"): train.csv (with Survived) and test.csv."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .common import pick, rng, sigmoid, write_csv_chunks

SEED = 1912
# total passengers; 68% go to train.csv like the original 891/1309 split
ROWS = {"small": 1309, "medium": 250_000, "large": 8_000_000}

SURNAMES = [
    "Abbott", "Allen", "Andersson", "Baxter", "Beckwith", "Brown", "Carter", "Cavendish",
    "Chambers", "Connolly", "Davies", "Dean", "Dodge", "Elias", "Fortune", "Ford", "Goodwin",
    "Graham", "Harper", "Hart", "Hays", "Hocking", "Johnson", "Kelly", "Keane", "Lahtinen",
    "Laroche", "Lindqvist", "Moran", "Murphy", "Nasser", "Nicholls", "O'Brien", "Palsson",
    "Panula", "Peter", "Quick", "Rice", "Rosblom", "Ryerson", "Sage", "Sandstrom", "Skoog",
    "Smith", "Strom", "Taussig", "Thayer", "Turpin", "Vander Planke", "Ware", "Webber",
    "West", "Wick", "Williams", "Yasbeck", "Zabour",
]
MALE_FIRST = [
    "John", "William", "James", "George", "Charles", "Thomas", "Henry", "Joseph", "Edward",
    "Frederick", "Arthur", "Albert", "Karl", "Johan", "Patrick", "Michael", "Ernst", "Hans",
]
FEMALE_FIRST = [
    "Mary", "Anna", "Elizabeth", "Margaret", "Alice", "Helen", "Ellen", "Bridget", "Maria",
    "Emily", "Kate", "Edith", "Elin", "Hilda", "Agnes", "Ida", "Sofia", "Marion",
]
RARE_MALE_TITLES = ["Dr", "Rev", "Col", "Major", "Capt", "Don", "Jonkheer", "Sir"]
RARE_FEMALE_TITLES = ["Mlle", "Mme", "Ms", "Lady", "the Countess", "Dona"]
TICKET_PREFIX = ["", "", "", "", "PC ", "C.A. ", "STON/O2. ", "A/5 ", "SOTON/O.Q. ", "W./C. ", "PP ", "SC/PARIS "]


def _chunk(i: int, start: int, n: int, n_train_total: int) -> pd.DataFrame:
    r = rng(SEED, i)
    pclass = r.choice([1, 2, 3], size=n, p=[0.24, 0.21, 0.55])
    female = r.random(n) < np.where(pclass == 1, 0.44, np.where(pclass == 2, 0.41, 0.29))
    age = r.normal(np.choose(pclass - 1, [38.0, 30.0, 25.0]), 13.0)
    child = r.random(n) < 0.08
    age = np.where(child, r.uniform(0.42, 14, n), age)
    age = np.clip(age, 0.42, 80.0)
    age = np.where(age >= 1, np.round(age), np.round(age, 2))
    age_missing = r.random(n) < np.choose(pclass - 1, [0.14, 0.06, 0.28])
    sibsp = r.choice([0, 1, 2, 3, 4, 5, 8], size=n, p=[0.68, 0.235, 0.031, 0.018, 0.02, 0.006, 0.01])
    parch = np.where(child, r.choice([1, 2], size=n), r.choice([0, 1, 2, 3, 4, 5, 6], size=n, p=[0.76, 0.13, 0.09, 0.006, 0.006, 0.006, 0.002]))

    # names: "Surname, Title. First" and married women "Surname, Mrs. Husband (First Surname)"
    surname = pick(r, SURNAMES, n)
    mfirst = pick(r, MALE_FIRST, n)
    ffirst = pick(r, FEMALE_FIRST, n)
    married = female & (age > 18) & (r.random(n) < 0.6)
    title = np.where(female, np.where(married, "Mrs", "Miss"), np.where(age < 13, "Master", "Mr")).astype(object)
    rare = r.random(n) < 0.025
    title = np.where(rare & ~female, pick(r, RARE_MALE_TITLES, n), title)
    title = np.where(rare & female, pick(r, RARE_FEMALE_TITLES, n), title)
    first = np.where(female, ffirst, mfirst)
    s = pd.Series(surname)
    name = s + ", " + pd.Series(title) + ". " + pd.Series(first)
    name = name.where(~(married & (title == "Mrs")), s + ", Mrs. " + pd.Series(mfirst) + " (" + pd.Series(ffirst) + " " + s + ")")

    ticket = pd.Series(pick(r, TICKET_PREFIX, n)) + pd.Series(r.integers(1000, 3_500_000, n).astype(str))
    base_fare = np.choose(pclass - 1, [60.0, 15.0, 8.0])
    fare = np.round(base_fare * r.lognormal(0.0, 0.55, n) * (1 + 0.35 * (sibsp + parch)), 4)
    fare = np.where(r.random(n) < 0.01, 0.0, fare)

    deck_p = {1: [0.08, 0.22, 0.30, 0.17, 0.17, 0.04, 0.0, 0.02], 2: [0, 0, 0, 0.25, 0.35, 0.35, 0.05, 0], 3: [0, 0, 0, 0, 0.2, 0.5, 0.3, 0]}
    deck = np.empty(n, dtype=object)
    for c, p in deck_p.items():
        m = pclass == c
        deck[m] = pick(r, list("ABCDEFGT"), int(m.sum()), p)
    cabin = pd.Series(deck) + pd.Series(r.integers(2, 150, n).astype(str))
    multi = r.random(n) < 0.05
    cabin = cabin.where(~multi, cabin + " " + pd.Series(deck) + pd.Series(r.integers(2, 150, n).astype(str)))
    has_cabin = r.random(n) < np.choose(pclass - 1, [0.81, 0.09, 0.025])
    cabin = cabin.where(has_cabin)

    embarked = pd.Series(pick(r, ["S", "C", "Q"], n, [0.72, 0.19, 0.09])).where(r.random(n) > 0.002)

    fam = sibsp + parch
    logit = (
        -1.95 + 2.7 * female - 0.95 * (pclass - 2) - 0.022 * (age - 30) + 1.2 * (age < 10)
        + 0.35 * (fam >= 1) * (fam <= 3) - 0.9 * (fam >= 5) + 0.004 * fare + 0.4 * has_cabin
        + 0.3 * (embarked.fillna("S").to_numpy() == "C")
    )
    survived = (r.random(n) < sigmoid(logit)).astype(np.int64)

    df = pd.DataFrame({
        "PassengerId": np.arange(start + 1, start + n + 1),
        "Survived": survived,
        "Pclass": pclass,
        "Name": name,
        "Sex": np.where(female, "female", "male"),
        "Age": np.where(age_missing, np.nan, age),
        "SibSp": sibsp,
        "Parch": parch,
        "Ticket": ticket,
        "Fare": fare,
        "Cabin": cabin,
        "Embarked": embarked,
    })
    return df


def generate(size: str, out: str) -> list[str]:
    n = ROWS[size]
    n_train = int(round(n * 891 / 1309))
    chunk = 250_000
    write_csv_chunks(os.path.join(out, "train.csv"), n_train, chunk, lambda i, s, k: _chunk(i, s, k, n_train))

    def test_chunk(i, s, k):
        df = _chunk(100_000 + i, n_train + s, k, n_train).drop(columns="Survived")
        if i == 0:
            df.loc[min(152, k - 1), "Fare"] = np.nan  # the famous single missing test Fare
        return df

    write_csv_chunks(os.path.join(out, "test.csv"), n - n_train, chunk, test_chunk)
    # gender_submission.csv: the Kaggle baseline (all women survive)
    return ["train.csv", "test.csv"]
