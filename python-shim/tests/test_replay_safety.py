"""RNG states, nondeterminism flags, side effects and external inputs."""

from __future__ import annotations

from typing import Any


def test_python_random_state_saved_and_restorable(sess: Any) -> None:
    sess.run("import random\nrandom.seed(1)")
    r = sess.run("v = random.random()")
    assert r["rngConsumed"] == ["python"] and r["rngSaved"] is True and r["nondeterministic"] is False
    st = sess.call("rng_state", seqs=[r["seq"]])[0]["states"][0]
    first = sess.ns["v"]
    sess.run("random.random()")
    sess.call("set_rng", python=st["python"])
    sess.silent("again = random.random()")
    assert sess.ns["again"] == first
    assert sess.run("w = 1")["rngSaved"] is False


def test_numpy_global_rng_restore_by_seq(sess: Any) -> None:
    sess.run("import numpy as np\nnp.random.seed(3)")
    r = sess.run("x = np.random.rand(3)")
    assert "numpy" in r["rngConsumed"] and r["nondeterministic"] is False
    sess.run("np.random.rand(5)")
    sess.call("set_rng", seq=r["seq"])
    sess.silent("y = np.random.rand(3)")
    assert (sess.ns["x"] == sess.ns["y"]).all()


def test_nondeterminism_detection(sess: Any) -> None:
    sess.run("import numpy as np, os, uuid, secrets")
    assert sess.run("g = np.random.default_rng()")["nondeterministic"] is True
    assert sess.run("g0 = np.random.default_rng(0)")["nondeterministic"] is False
    assert sess.run("b = os.urandom(4)")["nondeterministic"] is True
    assert sess.run("u = uuid.uuid4()")["nondeterministic"] is True
    assert sess.run("t = secrets.token_hex(4)")["nondeterministic"] is True
    sess.run("def make():\n    return np.random.default_rng()")
    assert sess.run("g2 = make()")["nondeterministic"] is True  # through a user function
    r = sess.run("import time\nt0 = time.time()")
    assert r["nondeterministic"] is False and "clock:time" in r["nondeterminism"]


def test_side_effects_and_inputs(sess: Any, tmp_path: Any) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    out, moved = tmp_path / "out.txt", tmp_path / "moved.txt"
    r = sess.run(f"data = open({str(src)!r}).read()")
    assert r["sideEffects"] == [] and [i["path"] for i in r["inputs"]] == [str(src)]
    assert r["inputs"][0]["size"] == 4
    r = sess.run(f"with open({str(out)!r}, 'w') as fh:\n    fh.write('x')")
    assert r["sideEffects"] == [{"kind": "file-write", "detail": str(out)}] and r["inputs"] == []
    r = sess.run(f"import os\nos.rename({str(out)!r}, {str(moved)!r})\nos.remove({str(moved)!r})")
    kinds = [e["kind"] for e in r["sideEffects"]]
    assert kinds == ["file-rename", "file-remove"]
    r = sess.run("import subprocess\nsubprocess.run(['true'])")
    assert any(e["kind"] == "subprocess" and "true" in e["detail"] for e in r["sideEffects"])


def test_audit_inactive_outside_user_cells(sess: Any, tmp_path: Any) -> None:
    p = tmp_path / "silent.txt"
    sess.silent(f"open({str(p)!r}, 'w').close()")
    r = sess.run("q = 1")
    assert r["sideEffects"] == [] and r["inputs"] == []
