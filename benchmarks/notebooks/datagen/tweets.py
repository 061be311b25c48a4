"""Disaster-tweets-like text (Kaggle "nlp-getting-started"): id, keyword, location, text, target."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .common import pick, rng, write_csv_chunks

SEED = 7613
ROWS = {"small": 2400, "medium": 150_000, "large": 6_000_000}

KEYWORDS = [
    "ablaze", "accident", "aftershock", "airplane%20accident", "ambulance", "annihilated",
    "armageddon", "bioterror", "blaze", "bleeding", "blew%20up", "body%20bags", "bombed",
    "bridge%20collapse", "buildings%20burning", "burning", "casualties", "collapse", "crash",
    "debris", "deluge", "derailment", "desolation", "destroy", "disaster", "drought",
    "drowned", "earthquake", "electrocuted", "emergency", "evacuate", "explode", "famine",
    "fatalities", "fire", "flames", "flood", "hailstorm", "hazard", "hurricane", "injury",
    "inundated", "landslide", "lava", "lightning", "meltdown", "mudslide", "nuclear%20disaster",
    "panic", "quarantine", "rescue", "riot", "rubble", "sandstorm", "screaming", "sinkhole",
    "siren", "storm", "suicide%20bomb", "sunk", "survivors", "terrorism", "thunderstorm",
    "tornado", "tragedy", "trapped", "tsunami", "twister", "typhoon", "volcano", "wildfire",
    "windstorm", "wreck", "wreckage",
]
PLACES = ["USA", "New York", "London", "California", "Los Angeles, CA", "Nigeria", "India",
          "Mumbai", "Canada", "Washington, DC", "Kenya", "Australia", "Chicago, IL", "Earth",
          "Worldwide", "Everywhere", "ss", "in my head", "Texas", "Philippines", "Jakarta", "Lagos"]
REAL_SUBJ = ["Forest fire", "Massive flood", "Earthquake of magnitude 6.1", "Train derailment", "Bridge collapse",
             "Hurricane", "Wildfire", "Tornado", "Explosion", "Landslide", "Chemical spill", "Bus crash",
             "Building fire", "Volcano eruption", "Typhoon", "Flash flooding", "Plane crash"]
REAL_VERB = ["reported near", "hits", "kills at least {n} in", "forces evacuation of", "destroys homes in",
             "leaves {n} injured in", "spreading fast near", "confirmed in", "displaces thousands in", "strikes"]
REAL_TAIL = ["#breaking", "#news", "emergency crews on scene", "stay safe everyone", "more updates soon",
             "police say", "via @NewsDesk", "#earthquake", "#wildfire", "rescue teams deployed", "death toll rising"]
FAKE_OPEN = ["I'm", "lol I'm", "my mixtape is", "this game is", "that outfit is", "the new album is",
             "my phone is", "honestly I'm", "our team got", "the crowd went", "this song is", "my inbox is"]
FAKE_MID = ["on fire", "a total disaster", "a trainwreck", "blowing up", "dying of laughter", "drowning in homework",
            "getting wrecked", "an absolute catastrophe", "exploding", "in ruins", "literally burning", "ablaze"]
FAKE_TAIL = ["😂", "lol", "#mood", "smh", "can't wait for the weekend", "who's coming?", "#blessed",
             "need coffee", "@bestie you have to see this", "#music", "10/10 would recommend", "omg"]
TOKENS = ["http://t.co/", "https://t.co/"]


def _chunk(i: int, start: int, n: int, with_target: bool) -> pd.DataFrame:
    r = rng(SEED, i)
    target = (r.random(n) < 0.43).astype(np.int64)
    real = target == 1
    # 8% of tweets use the "wrong" vocabulary (label noise / ambiguity)
    swap = r.random(n) < 0.08
    style_real = real ^ swap
    nums = pd.Series(r.integers(2, 300, n).astype(str))
    verb = pd.Series(pick(r, REAL_VERB, n)).str.replace("{n}", "", regex=False)
    verb = verb.where(~verb.str.contains("  "), verb)
    real_text = (pd.Series(pick(r, REAL_SUBJ, n)) + " " + pd.Series(pick(r, REAL_VERB, n)) + " " + pd.Series(pick(r, PLACES, n))
                 + " " + pd.Series(pick(r, REAL_TAIL, n)))
    real_text = pd.Series([t.replace("{n}", k) for t, k in zip(real_text, nums)]) if n <= 50_000 else real_text.str.replace("{n}", "12", regex=False)
    fake_text = (pd.Series(pick(r, FAKE_OPEN, n)) + " " + pd.Series(pick(r, FAKE_MID, n)) + " " + pd.Series(pick(r, FAKE_TAIL, n)))
    text = real_text.where(style_real, fake_text)
    url = r.random(n) < np.where(real, 0.65, 0.35)
    link = pd.Series(pick(r, TOKENS, n)) + pd.Series(r.integers(10**9, 10**10, n).astype(str))
    text = text.where(~url, text + " " + link)
    shout = r.random(n) < 0.05
    text = text.where(~shout, text.str.upper())
    keyword = pd.Series(pick(r, KEYWORDS, n)).where(r.random(n) > 0.008)
    location = pd.Series(pick(r, PLACES, n)).where(r.random(n) > 0.33)
    df = pd.DataFrame({"id": np.arange(start, start + n) * 3 + 1, "keyword": keyword, "location": location, "text": text})
    if with_target:
        df["target"] = target
    return df


def generate(size: str, out: str) -> list[str]:
    n = ROWS[size]
    n_train = int(n * 0.7)
    write_csv_chunks(os.path.join(out, "train.csv"), n_train, 200_000, lambda i, s, k: _chunk(i, s, k, True))
    write_csv_chunks(os.path.join(out, "test.csv"), n - n_train, 200_000, lambda i, s, k: _chunk(50_000 + i, n_train + s, k, False))
    return ["train.csv", "test.csv"]
