"""Fingerprints of equal values must be equal across processes (verification after a restore)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from typing import Any

SRC = os.path.join(os.path.dirname(__file__), "..", "src")

BUILD = """
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
rs = np.random.RandomState(0)
X = rs.rand(60, 3)
y = (X[:, 0] > 0.5).astype(int)
scaler = StandardScaler()  # also reachable from `grid`: shared in this process only
grid = GridSearchCV(Pipeline([("s", scaler), ("m", LogisticRegression())]), {"m__C": [0.1, 1.0]}, cv=2).fit(X, y)
masked = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])
ext = {"k": 1}  # reachable from `box` and, in this process only, from the namespace
inner = [1, 2]
box = {"c": [ext], "a": inner, "b": (inner, "x")}
"""

SAVE = """
import pickle, sys, json
sys.path.insert(0, {src!r})
from nbferry_shim import serialize
from nbferry_shim.probe import probe
import __main__
ns = __main__.__dict__
exec({build!r}, ns)
names = ["grid", "masked", "box"]
data, bufs = serialize.to_bytes({{n: ns[n] for n in names}}, ns)
with open({path!r}, "wb") as f:
    pickle.dump((data, [bytes(b.raw()) for b in bufs]), f)
print(json.dumps({{n: probe(ns[n], ns, algo="sha256").digest for n in names}}))
"""

LOAD = """
import pickle, sys, json
sys.path.insert(0, {src!r})
from nbferry_shim import serialize
from nbferry_shim.probe import probe
with open({path!r}, "rb") as f:
    data, bufs = pickle.load(f)
values = serialize.loads_group(data, bufs)
print(json.dumps({{n: probe(v, {{}}, algo="sha256").digest for n, v in values.items()}}))
"""


def _run(code: str, seed: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_loaded_objects_fingerprint_equal_in_another_process(tmp_path: Any) -> None:
    path = str(tmp_path / "group.pkl")
    src = _run(SAVE.format(src=SRC, build=BUILD, path=path), "1")
    dst = _run(LOAD.format(src=SRC, path=path), "2")
    assert all(src.values()) and dst == src


def test_masked_array_fingerprint_ignores_lazy_fill_value(sess: Any) -> None:
    sess.run("import numpy as np\nm = np.ma.masked_array([1.0, 2.0], mask=[0, 1])\nplain = np.ma.masked_array([1.0, 2.0])")
    before = sess.call("fingerprint", names=["m", "plain"])[0]["fingerprints"]
    assert sess.run("fv = m.fill_value\nmk = plain.mask")["modified"] == []  # reads cache defaults
    after = sess.call("fingerprint", names=["m", "plain"])[0]["fingerprints"]
    assert after == before and after["m"]["reliable"]
    assert sess.run("m[0] = 5.0")["modified"] == ["m"]
    assert sess.run("m.mask = [1, 1]")["modified"] == ["m"]
    assert sess.run("m.fill_value = -1.0")["modified"] == ["m"]


def test_masked_view_is_grouped_with_its_base(sess: Any) -> None:
    sess.run("import numpy as np\nbase = np.arange(6.0)\nmv = np.ma.masked_array(base[:3], mask=[0, 1, 0])")
    assert ["base", "mv"] in sess.call("variables")[0]["groups"]
    assert set(sess.run("base[0] = 9.0")["modified"]) == {"base", "mv"}


def test_matplotlib_figures_are_unreliable_and_not_advanced(sess: Any) -> None:
    sess.run("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])")
    gen = sess.ns["fig"]._callbacks._cid_gen
    start = next(gen)
    fps = sess.call("fingerprint", names=["fig", "ax"])[0]["fingerprints"]
    assert fps["fig"]["reliable"] is False and fps["ax"]["reliable"] is False
    assert fps["fig"]["opaque"] == ["matplotlib artist: figure state has no comparable fingerprint"]
    assert next(gen) == start + 1  # fingerprinting did not pickle (and advance) the registry
    m = sess.call("measure", names=["fig", "ax"])[0]
    assert m["groups"][0]["names"] == ["ax", "fig"] and m["groups"][0]["serializable"] is True
    sess.run("plt.close('all')")


def test_figures_are_grouped_with_their_axes_and_never_hashed(sess: Any) -> None:
    """plt.subplots' figure and array of axes share a group; a second figure is its own; a cell
    that plots marks the figures it could touch modified (unknown), without a hashing pass."""
    sess.run("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
             "x = np.arange(10.0)\nfig, axes = plt.subplots(1, 2)\nfig2, ax2 = plt.subplots()")
    m = sess.call("measure", names=["fig", "axes", "fig2", "ax2", "x"])[0]
    groups = sorted(sorted(g["names"]) for g in m["groups"])
    assert groups == [["ax2", "fig2"], ["axes", "fig"], ["x"]]
    rec = sess.run("axes[0].plot(x)")
    assert {"axes", "fig"} <= set(rec["modified"]) and "x" not in rec["modified"]
    assert rec["unhashed"] == []
    sess.run("plt.close('all')")


def test_string_columns_digest_fast_and_unambiguously() -> None:
    """Object arrays of strings are digested by joining them with NUL (probe.text_digest): a
    changed element changes the digest, and strings holding a NUL, or items that are not strings,
    go the pickling way, so ["a\\x00b"] and ["a", "b"] never collide."""
    import numpy as np
    import pandas as pd

    sys.path.insert(0, SRC)
    from nbferry_shim.probe import probe, text_digest

    words = [f"w{i % 7}" for i in range(1000)]
    assert text_digest(words, "sha256") == text_digest(list(words), "sha256")
    assert text_digest(words, "sha256") != text_digest(words[:-1] + ["w0"], "sha256")
    assert text_digest(["a\x00b"], "sha256") is None and text_digest(["a", 1], "sha256") is None
    # Hashed a chunk at a time, yet the bytes of one whole join: the same digest across chunk
    # boundaries, whether given an array or a list, and a bad item in a later chunk is still seen.
    from nbferry_shim.probe import TEXT_CHUNK

    many = [f"s{i}" for i in range(2 * TEXT_CHUNK + 5)]
    whole = hashlib.sha256(b"%d\x00" % len(many) + "\x00".join(many).encode()).hexdigest()
    assert text_digest(np.array(many, dtype=object), "sha256") == text_digest(many, "sha256") == whole
    assert text_digest(np.array(many[:-1] + [None], dtype=object), "sha256") is None
    assert text_digest(many[:-1] + ["x\x00"], "sha256") is None

    def digest(items: list[Any]) -> str | None:
        return probe(np.array(items * 40, dtype=object), None, algo="sha256").digest

    assert digest(["a\x00b", "c"]) != digest(["a", "b\x00c"]) != digest(["a", "b", "c"])
    frame = pd.DataFrame({"kind": pd.array(words, dtype="str")})
    before = probe(frame, None, algo="sha256").digest
    frame.loc[500, "kind"] = "changed"
    assert probe(frame, None, algo="sha256").digest != before
