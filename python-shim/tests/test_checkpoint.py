"""Phase 2: measure / save / load / fingerprint round trips, in-process with a fresh namespace."""

from __future__ import annotations

import io
import os
from typing import Any

import numpy.random  # noqa: F401  (imported before any recorded cell: see the round-trip test)
import pytest

SETUP = """
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
rs = np.random.RandomState(0)
arr = rs.rand(50, 4)
view = arr[::2, 1:3]
rev = arr[::-1]
empty = np.zeros((0, 3))
scalar0 = np.array(3.5)
ints = np.arange(10, dtype=np.int32)
ro = np.arange(4.0); ro.flags.writeable = False
df = pd.DataFrame({'x': rs.rand(20), 's': [f'r{i}' for i in range(20)], 'c': pd.Categorical(['a', 'b'] * 10)})
model = LogisticRegression().fit(arr, (arr[:, 0] > 0.5).astype(int))
factor = 3
class Point:
    def __init__(self, x):
        self.x = x
    def scaled(self):
        return self.x * factor
def helper(v):
    return v * factor
def make_counter():
    n = [0]
    def inc():
        n[0] += 1
        return n[0]
    return inc
counter = make_counter()
counter()
sq = lambda t: t * t + factor
pts = [Point(1), Point(2)]
nested = {'a': [1, {2, 3}], 'b': (4, 'five'), 'set': {'x', 'y', 'z'}}
alias = nested['a']
"""


def _save_all(sess: Any, d: str) -> tuple[dict[str, Any], dict[str, Any]]:
    m = sess.call("measure")[0]
    groups = [g["names"] for g in m["groups"] if g["serializable"]]
    saved = sess.call("save", dir=d, groups=groups)[0]
    assert all(b["ok"] for b in saved["blobs"]), saved
    return m, saved


def _fresh(shell: Any) -> Any:
    import nbferry_shim
    from conftest import Session

    nbferry_shim.detach()
    shell.reset(new_session=False)
    return Session(shell, nbferry_shim.attach(shell))


def test_round_trip_into_fresh_namespace(sess: Any, shell: Any, tmp_path: Any) -> None:
    sess.run(SETUP)
    m, saved = _save_all(sess, str(tmp_path))
    unser = {tuple(g["names"]): g["reason"] for g in m["groups"] if not g["serializable"]}
    # SETUP imports and computes: its modules are saved by name (re-imported on load), so a restore
    # need not rerun the cell for them and clobber what it computed.
    assert unser == {}
    assert [g for g in m["groups"] if "view" in g["names"]][0]["names"] == ["arr", "rev", "view"]
    assert [g for g in m["groups"] if "alias" in g["names"]][0]["names"] == ["alias", "nested"]
    assert [g for g in m["groups"] if "pts" in g["names"]][0]["names"] == ["Point", "pts"]
    for g in m["groups"]:
        if g["serializable"]:
            assert g["bytes"] > 0 and g["dumpSec"] >= 0 and g["loadSecEst"] >= 0
    expected = {n: v["fingerprint"] for n, v in m["variables"].items()}

    s2 = _fresh(shell)
    s2.run("import numpy as np, pandas as pd")
    blobs = [{"file": b["file"], "checksum": b["checksum"], "names": b["names"], "bytes": b["bytes"]} for b in saved["blobs"]]
    res = s2.call("load", dir=str(tmp_path), blobs=blobs, fingerprints=True)[0]["results"]
    assert all(r["ok"] for r in res), res
    got = {n: fp for r in res for n, fp in r["fingerprints"].items()}
    assert got == {n: expected[n] for n in got} and len(got) == len(expected)
    assert got["np"] == expected["np"]
    fps = s2.call("fingerprint", names=sorted(got))[0]["fingerprints"]
    assert {n: v["digest"] for n, v in fps.items()} == got

    ns = s2.ns
    assert ns["view"].base is ns["arr"] and ns["rev"].base is ns["arr"]
    ns["arr"][0, 1] = -7.0
    assert ns["view"][0, 0] == -7.0 and ns["rev"][-1, 1] == -7.0
    assert ns["ro"].flags.writeable is False and ns["scalar0"] == 3.5 and ns["empty"].shape == (0, 3)
    assert ns["alias"] is ns["nested"]["a"]
    assert isinstance(ns["pts"][0], ns["Point"]) and ns["pts"][1].scaled() == 6
    assert ns["helper"](2) == 6 and ns["sq"](2) == 7 and ns["counter"]() == 2
    assert ns["model"].predict(ns["arr"][:3]).shape == (3,)
    s2.run("factor = 10")
    assert ns["helper"](2) == 20 and ns["pts"][0].scaled() == 10  # live globals of the new kernel
    assert ns["helper"].__globals__ is ns
    loads = [r for r in s2.records() if r["kind"] == "load"]
    assert len(loads) == 1 and set(loads[0]["created"]) | {"np", "pd"} == set(got)  # one record per load request
    assert s2.call("hello")[0]["unknownProvenance"] == []


def test_lru_cached_functions_load_without_their_cell(sess: Any, shell: Any, tmp_path: Any) -> None:
    """@functools.lru_cache pickles by name, which a new kernel lacks until the defining cell runs
    again: the load failed and the restore fell back to rerunning that cell. Saved as the function
    and its cache settings, it loads on its own (with an empty cache)."""
    sess.run("import functools\nscale = 3\n"
             "@functools.lru_cache(maxsize=64, typed=True)\ndef total(u):\n    return u * scale\n"
             "@functools.cache\ndef square(v):\n    return v * v\n"
             "first = total(2), square(4)")
    _save_all(sess, str(tmp_path))
    saved = sess.call("save", dir=str(tmp_path), groups=[["total"], ["square"]])[0]["blobs"]

    s2 = _fresh(shell)
    s2.run("scale = 10")
    blobs = [{"file": b["file"], "checksum": b["checksum"], "names": b["names"], "bytes": b["bytes"]} for b in saved]
    res = s2.call("load", dir=str(tmp_path), blobs=blobs)[0]["results"]
    assert all(r["ok"] for r in res), res
    ns = s2.ns
    assert ns["total"](2) == 20 and ns["square"](5) == 25  # live globals of the new kernel
    assert ns["total"].cache_parameters() == {"maxsize": 64, "typed": True}
    assert ns["square"].cache_parameters() == {"maxsize": None, "typed": False}
    assert ns["total"].cache_info().hits == 0 and ns["total"].__wrapped__.__globals__ is ns


def test_save_buffers_and_load_from_buffers(sess: Any, shell: Any) -> None:
    from nbferry_shim.chunksum import checksum_bytes

    sess.run("import numpy as np\nbig = np.arange(3_000_000, dtype=np.float64)\nsmall = {'k': [1, 2]}")
    out, chunks = sess.call("save_buffers", groups=[["big"], ["small"]], chunkBytes=4 << 20)
    b0, b1 = out["blobs"]
    assert b0["ok"] and b0["buffers"][1] >= 6 and all(len(memoryview(c)) <= 4 << 20 for c in chunks)
    joined = b"".join(bytes(c) for c in chunks[b0["buffers"][0]: sum(b0["buffers"])])
    assert len(joined) == b0["bytes"] and checksum_bytes(joined) == b0["checksum"]
    s2 = _fresh(shell)
    blobs = [{"buffers": b["buffers"], "checksum": b["checksum"], "names": b["names"]} for b in (b0, b1)]
    res = s2.call("load", blobs=blobs, _buffers=[bytes(c) for c in chunks])[0]["results"]
    assert [r["ok"] for r in res] == [True, True]
    assert float(s2.ns["big"][-1]) == 2_999_999.0 and s2.ns["small"] == {"k": [1, 2]}


def test_corrupted_blob_is_rejected_and_namespace_unchanged(sess: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np\nkeep = np.arange(100.0)\nother = [1, 2, 3]")
    saved = sess.call("save", dir=str(tmp_path), groups=[["keep"], ["other"]])[0]["blobs"]
    path = tmp_path / saved[0]["file"]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    sess.run("keep = 'sentinel'")
    res = sess.call("load", dir=str(tmp_path), blobs=[{"file": b["file"], "checksum": b["checksum"]} for b in saved])[0]
    r0, r1 = res["results"]
    assert r0["ok"] is False and r0["error"]["kind"] == "checksum" and "sha256-8m mismatch" in r0["error"]["message"]
    assert r1["ok"] is True
    assert sess.ns["keep"] == "sentinel"


def test_unpickle_error_is_precise(sess: Any, tmp_path: Any) -> None:
    sess.run("class Fragile:\n    def __setstate__(self, st):\n        raise RuntimeError('nope')\nfr = Fragile()\nfr.v = 1")
    saved = sess.call("save", dir=str(tmp_path), groups=[["Fragile", "fr"]])[0]["blobs"][0]
    del sess.ns["fr"]
    res = sess.call("load", dir=str(tmp_path), blobs=[{"file": saved["file"], "checksum": saved["checksum"]}])[0]
    err = res["results"][0]["error"]
    assert err["kind"] == "unpickle" and "RuntimeError: nope" in err["message"]
    assert "fr" not in sess.ns


def test_unserializable_kinds_flagged(sess: Any, tmp_path: Any) -> None:
    p = tmp_path / "f.txt"
    p.write_text("x")
    sess.run(f"import threading, sqlite3\ngen = (i for i in range(3))\nfh = open({str(p)!r})\nlock = threading.Lock()\n"
             "db = sqlite3.connect(':memory:')\nholder = {'g': gen}\nfine = 1")
    m = sess.call("measure")[0]
    by = {tuple(g["names"]): (g["serializable"], g.get("reason")) for g in m["groups"]}
    assert by[("fh",)] == (False, "open file") and by[("lock",)] == (False, "lock")
    assert by[("db",)] == (False, "database connection") and by[("gen", "holder")][0] is False
    assert by[("fine",)] == (True, None)
    r = sess.call("save", dir=str(tmp_path), groups=[["fh"], ["fine"]])[0]["blobs"]
    assert r[0]["ok"] is False and r[0]["error"]["kind"] == "unserializable" and r[1]["ok"] is True
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]  # no half-written files
    sess.run("fh.close()\ndb.close()")


def test_measure_splits_off_the_members_that_pickle(sess: Any, tmp_path: Any, monkeypatch: Any) -> None:
    """A lock in a group of shared arrays: the arrays are measured apart as `saveable`, their
    pickle kept for the save; a group none of whose members pickles alone has no `saveable`."""
    from nbferry_shim import serialize

    sess.run("import threading\nimport numpy as np\nrows = np.arange(1000.0)\nview = rows[::2]\n"
             "state = {'rows': rows, 'lock': threading.Lock()}\ngen = (i for i in range(3))\nholder = {'g': gen}")
    m = sess.call("measure")[0]
    g = next(g for g in m["groups"] if "rows" in g["names"])
    assert g["serializable"] is False and {"rows", "state", "view"} <= set(g["names"])
    part = g["saveable"]
    assert sorted(part["names"]) == ["rows", "view"] and part["bytes"] >= 8000 and part["serializable"] is True
    assert "saveable" not in next(g for g in m["groups"] if "holder" in g["names"])
    calls: list[int] = []
    real = serialize.to_bytes
    monkeypatch.setattr(serialize, "to_bytes", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    saved = sess.call("save", dir=str(tmp_path), groups=[part["names"]])[0]["blobs"]
    assert saved[0]["ok"] and calls == []


def test_measure_budget_sampling(sess: Any) -> None:
    sess.run("rows = [{'i': i, 's': str(i)} for i in range(300_000)]")
    m = sess.call("measure", names=["rows"], budgetSec=0.01)[0]
    g = m["groups"][0]
    assert g["estimate"] == "sample" and g["serializable"] is True
    exact = sess.call("measure", names=["rows"], budgetSec=30)[0]["groups"][0]
    assert exact["estimate"] is None
    assert 0.5 < g["bytes"] / exact["bytes"] < 2.0


def test_fingerprint_algo_mismatch_is_an_error(sess: Any) -> None:
    sess.run("v = 1")
    assert "not available" in sess.call_err("fingerprint", names=["v"], algo="xxh3-999")
    fp = sess.call("fingerprint", names=["v", "missing"], algo="sha256")[0]["fingerprints"]
    assert fp["v"]["digest"].startswith("sha256:") and fp["missing"]["error"] == "not defined"


@pytest.mark.parametrize("value", ["{3, 1, 2}", "frozenset({'b', 'a'})", "[{'k': {1, 2}}]"])
def test_set_fingerprints_do_not_depend_on_hash_seed(value: str, tmp_path: Any) -> None:
    import json
    import subprocess
    import sys

    code = ("import sys, json; sys.path.insert(0, %r)\nfrom nbferry_shim.probe import probe\n"
            "print(probe(%s, {}, algo='sha256').digest)") % (os.path.join(os.path.dirname(__file__), "..", "src"), value)
    outs = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)
    assert len(outs) == 1, json.dumps(sorted(outs))


def test_load_bind_subset_keeps_group_identity(sess: Any, tmp_path: Any) -> None:
    sess.run("a = [1, 2]\npair = [a, 'x']\nother = {'k': a}")
    saved = sess.call("save", dir=str(tmp_path), groups=[["a", "other", "pair"]])[0]["blobs"][0]
    sess.run("a = 'later'\ndel pair")
    spec = {"file": saved["file"], "checksum": saved["checksum"], "names": ["a", "other", "pair"]}
    before = sess.shim.history.last_seq
    res = sess.call("load", dir=str(tmp_path), blobs=[{**spec, "bind": ["pair", "other"]}], fingerprints=True)[0]
    r = res["results"][0]
    assert r["ok"] and sorted(r["names"]) == ["other", "pair"] and r["created"] == ["pair"]
    assert sorted(r["fingerprints"]) == ["other", "pair"]
    ns = sess.ns
    assert ns["a"] == "later" and ns["pair"][0] is ns["other"]["k"]  # decoded whole, bound in part
    loads = [x for x in sess.records(before) if x["kind"] == "load"]
    assert len(loads) == 1 and loads[0]["created"] == ["pair"] and loads[0]["modified"] == ["other"]
    assert sess.call("variables")[0]["variables"]["a"]["provenance"] == "cell"
    # names outside the blob are refused and change nothing
    bad = sess.call("load", dir=str(tmp_path), blobs=[{**spec, "bind": ["a", "nope"]}])[0]["results"][0]
    assert bad["ok"] is False and bad["error"]["kind"] == "names" and ns["a"] == "later"
    # `names` is still checked against the whole blob
    bad = sess.call("load", dir=str(tmp_path), blobs=[{**spec, "names": ["pair"], "bind": ["pair"]}])[0]
    assert bad["results"][0]["error"]["kind"] == "names"
    full = sess.call("load", dir=str(tmp_path), blobs=[spec])[0]["results"][0]
    assert sorted(full["names"]) == ["a", "other", "pair"] and ns["pair"][0] is ns["a"]


def test_closed_files_round_trip_without_touching_the_file(sess: Any, shell: Any, tmp_path: Any) -> None:
    log, raw, rw = tmp_path / "log.txt", tmp_path / "raw.bin", tmp_path / "rw.bin"
    r = sess.run(f"with open({str(log)!r}, 'a', encoding='latin-1') as f:\n    f.write('x')\n"
                 f"with open({str(raw)!r}, 'wb', buffering=0) as fr:\n    pass\n"
                 f"with open({str(rw)!r}, 'w+b') as frw:\n    pass\nf.tag = 'mine'\nholder = [f]")
    assert r["unserializable"] == {} and r["unknownFingerprint"] == []
    m = sess.call("measure")[0]
    assert all(g["serializable"] for g in m["groups"]), m["groups"]
    want = {n: m["variables"][n]["fingerprint"] for n in ("f", "fr", "frw", "holder")}
    saved = sess.call("save", dir=str(tmp_path), groups=[["f", "holder"], ["fr"], ["frw"]])[0]["blobs"]
    for p in (log, raw, rw):
        p.unlink()
    s2 = _fresh(shell)
    res = s2.call("load", dir=str(tmp_path), fingerprints=True,
                  blobs=[{"file": b["file"], "checksum": b["checksum"]} for b in saved])[0]["results"]
    assert all(x["ok"] for x in res), res
    assert {n: d for x in res for n, d in x["fingerprints"].items()} == want
    assert not log.exists() and not raw.exists() and not rw.exists()  # nothing opened by path
    f, fr, frw = s2.ns["f"], s2.ns["fr"], s2.ns["frw"]
    assert type(f) is io.TextIOWrapper and f.closed and f.name == str(log) and f.mode == "a"
    assert f.encoding == "latin-1" and f.tag == "mine" and s2.ns["holder"][0] is f
    assert type(f.buffer) is io.BufferedWriter and f.buffer.closed and f.buffer.raw.closed
    assert type(fr) is io.FileIO and fr.closed and fr.name == str(raw) and fr.mode == "wb"
    assert type(frw) is io.BufferedRandom and frw.closed and frw.mode == "rb+"
    with pytest.raises(ValueError):
        f.write("again")


def test_closed_file_fingerprint(sess: Any, tmp_path: Any) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    sess.run(f"fa = open({str(a)!r}, 'w')\nfb = open({str(b)!r}, 'w')")
    fp = sess.call("fingerprint", names=["fa"])[0]["fingerprints"]["fa"]
    assert fp["reliable"] is False  # open: opaque
    r = sess.run("fa.close()\nfb.close()")
    assert set(r["modified"]) == {"fa", "fb"} and r["unknownFingerprint"] == []
    fps = sess.call("fingerprint", names=["fa", "fb"])[0]["fingerprints"]
    assert fps["fa"]["reliable"] and fps["fa"]["digest"] != fps["fb"]["digest"]  # names differ
    assert sess.run("n = fa.name")["modified"] == []  # touching a closed file is not a change
    assert sess.run("fa.note = 1")["modified"] == ["fa"]


def test_save_reuses_the_pickles_of_measure_only_while_they_are_valid(sess: Any, shell: Any, tmp_path: Any) -> None:
    """measure keeps each group's pickle for the save that follows; a cell run in between (even
    one that only mutates in place) or a rebinding makes save pickle afresh."""
    from nbferry_shim import pickled

    sess.run("import numpy as np\nkept = np.arange(5.0)\nmutated = [1, 2]\nrebound = {'v': 1}")
    sess.call("measure", names=["kept", "mutated", "rebound"])
    assert pickled.CACHE.inband > 0
    sess.run("mutated.append(3)")
    shell.user_ns["rebound"] = {"v": 2}  # not through a cell: the object differs
    saved = sess.call("save", dir=str(tmp_path / "a"), groups=[["kept"], ["mutated"], ["rebound"]])[0]["blobs"]
    assert pickled.CACHE.inband == 0  # taken (and dropped) by the save
    fresh = _fresh(shell)
    specs = [{"file": b["file"], "checksum": b["checksum"], "names": b["names"]} for b in saved]
    results = fresh.call("load", dir=str(tmp_path / "a"), blobs=specs)[0]["results"]
    assert all(r["ok"] for r in results), results
    assert fresh.ns["mutated"] == [1, 2, 3] and fresh.ns["rebound"] == {"v": 2}
    assert list(fresh.ns["kept"]) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_save_right_after_measure_pickles_nothing_again(sess: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from nbferry_shim import serialize

    sess.run("import numpy as np\nbig = np.arange(1000.0)\nsmall = {'a': [1, 2]}")
    sess.call("measure", names=["big", "small"])
    calls: list[int] = []
    real = serialize.to_bytes
    monkeypatch.setattr(serialize, "to_bytes", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    saved = sess.call("save", dir=str(tmp_path), groups=[["big"], ["small"]])[0]["blobs"]
    assert all(b["ok"] for b in saved) and calls == []


def test_loading_figures_does_not_draw_them_in_interactive_mode(sess: Any, shell: Any, tmp_path: Any) -> None:
    """A pyplot-managed figure registers itself with pyplot again when unpickled; in interactive
    mode (a kernel's) pyplot would then draw it as stale after the request. The load leaves it
    registered, not stale, and interactive mode as it was."""
    import matplotlib

    sess.run("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
             "fig, ax = plt.subplots()\nax.plot([1, 2, 3])")
    saved = sess.call("save", dir=str(tmp_path), groups=[["ax", "fig"]])[0]["blobs"][0]
    sess.run("plt.close('all')")
    fresh = _fresh(shell)
    was = matplotlib.is_interactive()
    matplotlib.interactive(True)
    try:
        from matplotlib._pylab_helpers import Gcf

        before = set(Gcf.figs)
        spec = {"file": saved["file"], "checksum": saved["checksum"], "names": saved["names"]}
        assert fresh.call("load", dir=str(tmp_path), blobs=[spec])[0]["results"][0]["ok"]
        assert matplotlib.is_interactive()
        new = [m.canvas.figure for n, m in Gcf.figs.items() if n not in before]
        assert new == [fresh.ns["fig"]] and not fresh.ns["fig"].stale
    finally:
        import matplotlib.pyplot as plt

        matplotlib.interactive(was)
        plt.close("all")
