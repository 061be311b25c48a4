"""MovieLens-like ratings: ratings.csv (userId, movieId, rating, timestamp) and movies.csv."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .common import pick, rng, write_csv_chunks

SEED = 1995
# (users, movies, ratings)
SHAPE = {"small": (300, 500, 12_000), "medium": (8000, 5000, 2_000_000), "large": (160_000, 50_000, 50_000_000)}
GENRES = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
          "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]
WORDS = ["Love", "Night", "Man", "Girl", "Return", "Dark", "Star", "Story", "City", "King", "Last", "Blood", "Dream",
         "Lost", "Time", "House", "Wild", "Secret", "War", "Summer", "Ghost", "Heart", "River", "Game"]
K = 8


def generate(size: str, out: str) -> list[str]:
    n_users, n_movies, n_ratings = SHAPE[size]
    r = rng(SEED, 0)
    years = r.integers(1920, 2019, n_movies)
    titles = pick(r, ["The ", "", "", "A "], n_movies) + pick(r, WORDS, n_movies) + pick(r, [""] + [" " + w for w in WORDS] + [" II", " 2"], n_movies)
    genre_mat = r.random((n_movies, len(GENRES))) < np.linspace(0.25, 0.02, len(GENRES))[r.permutation(len(GENRES))]
    genre_mat[np.arange(n_movies), r.integers(0, len(GENRES), n_movies)] = True
    genres = ["|".join(np.asarray(GENRES)[row]) for row in genre_mat]
    movie_ids = np.sort(r.choice(np.arange(1, n_movies * 4), n_movies, replace=False))
    movies = pd.DataFrame({"movieId": movie_ids, "title": [f"{t} ({y})" for t, y in zip(titles, years)], "genres": genres})
    movies.to_csv(os.path.join(out, "movies.csv"), index=False)

    U = r.normal(0, 0.45, (n_users, K))
    V = r.normal(0, 0.45, (n_movies, K)) + 0.4 * genre_mat[:, :K]
    bu = r.normal(0, 0.35, n_users)
    bi = r.normal(0, 0.45, n_movies) - 0.3 * genre_mat[:, GENRES.index("Horror")]
    pop = r.zipf(1.3, n_movies).astype(float) ** 0.7
    pop /= pop.sum()
    act = r.lognormal(0, 1.1, n_users)
    act /= act.sum()

    def chunk(i: int, s: int, k: int) -> pd.DataFrame:
        rr = rng(SEED, 1, i)
        u = rr.choice(n_users, k, p=act)
        m = rr.choice(n_movies, k, p=pop)
        score = 3.55 + bu[u] + bi[m] + (U[u] * V[m]).sum(1) + rr.normal(0, 0.55, k)
        rating = np.clip(np.round(score * 2) / 2, 0.5, 5.0)
        ts = 946684800 + (rr.random(k) * 6e8).astype(np.int64)
        return pd.DataFrame({"userId": u + 1, "movieId": movie_ids[m], "rating": rating, "timestamp": ts})

    write_csv_chunks(os.path.join(out, "ratings.csv"), n_ratings, 1_000_000, chunk)
    return ["movies.csv", "ratings.csv"]
