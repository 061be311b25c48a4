"""Checkpoints without cloudpickle/dill: the shim's own reducers handle notebook code."""

from __future__ import annotations

import pickle
from typing import Any


def test_round_trip_with_plain_pickle(sess: Any, shell: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from nbferry_shim import serialize

    monkeypatch.setattr(serialize, "_base_pickler", lambda: pickle.Pickler)
    assert serialize.pickler_name() == "pickle"
    sess.run("k = 2\ndef f(x):\n    return x * k\nsq = lambda v: v * v\n"
             "def mk():\n    c = [0]\n    def inc():\n        c[0] += 1\n        return c[0]\n    return inc\n"
             "inc = mk()\nclass P:\n    __slots__ = ('v',)\n    def __init__(self, v):\n        self.v = v\n"
             "    def get(self):\n        return self.v + k\np = P(1)")
    m = sess.call("measure")[0]
    groups = [g["names"] for g in m["groups"]]
    assert all(g["serializable"] for g in m["groups"]), m["groups"]
    saved = sess.call("save", dir=str(tmp_path), groups=groups)[0]["blobs"]
    assert all(b["ok"] for b in saved)
    import nbferry_shim
    from conftest import Session

    nbferry_shim.detach()
    shell.reset(new_session=False)
    s2 = Session(shell, nbferry_shim.attach(shell))
    res = s2.call("load", dir=str(tmp_path), blobs=[{"file": b["file"], "checksum": b["checksum"]} for b in saved],
                  fingerprints=True)[0]["results"]
    assert all(r["ok"] for r in res)
    got = {n: d for r in res for n, d in r["fingerprints"].items()}
    assert got == {n: v["fingerprint"] for n, v in m["variables"].items()}
    ns = s2.ns
    assert ns["f"](3) == 6 and ns["sq"](3) == 9 and ns["inc"]() == 1 and ns["p"].get() == 3
    assert isinstance(ns["p"], ns["P"])
