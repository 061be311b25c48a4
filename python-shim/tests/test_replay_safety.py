"""RNG states, nondeterminism flags, side effects and external inputs."""

from __future__ import annotations

import os
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
    assert r["nondeterministic"] is True and "clock:time" in r["nondeterminism"]
    r = sess.run("h = hash('nbferry')")
    assert r["nondeterministic"] is True and "hash:str" in r["nondeterminism"]
    assert sess.run("k = len('nbferry')")["nondeterministic"] is False


def test_environment_reads_are_nondeterministic(sess: Any) -> None:
    """pid, hostname, cwd differ in another kernel, and so may environment variables whose reads
    cannot be replayed (envreads.py): worth saving."""
    sess.run("import os, socket, platform")
    for code, mark in [("pid = os.getpid()", "environment:getpid"),
                       ("host = socket.gethostname()", "environment:gethostname"),
                       ("here = os.getcwd()", "environment:getcwd"),
                       ("machine = platform.node()", "environment:node"),
                       # a credential's value would be written into the checkpoint
                       ("tok = os.environ.get('NBF_API_TOKEN')", "environment:environ"),
                       ("pw = os.getenv('DB_PASSWORD', '')", "environment:getenv"),
                       # the whole environment: any variable may have mattered
                       ("env = dict(os.environ)", "environment:environ"),
                       ("n_env = len(os.environ)", "environment:environ"),
                       ("env2 = os.environ.copy()", "environment:environ"),
                       ("text = repr(os.environ)", "environment:environ"),
                       ("hb = os.environb.get(b'HOME')", "environment:environb"),
                       # a cell that changes the environment is not replayed either
                       ("os.environ['NBF_SET'] = '1'\nv = os.environ['NBF_SET']", "environment:environ")]:
        r = sess.run(code)
        assert r["nondeterministic"] is True and mark in r["nondeterminism"], code
        assert r["envReplay"] == [], code
    assert any("credential" in n for n in sess.run("tok2 = os.environ.get('AWS_SECRET_ACCESS_KEY')")["notes"])
    assert sess.run("n = len(os.sep)")["nondeterministic"] is False


def test_environment_lookups_are_replayed(sess: Any, monkeypatch: Any) -> None:
    """A cell whose only nondeterminism is looking up named environment variables is deterministic
    given their values: they are kept with its RNG states, and setting them reproduces its result."""
    import pickle

    monkeypatch.setenv("NBF_DATA_SIZE", "medium")
    monkeypatch.delenv("NBF_UNSET", raising=False)
    sess.run("import os")
    r = sess.run("size = os.environ.get('NBF_DATA_SIZE', 'small')\n"
                 "flag = os.getenv('NBF_UNSET', 'off')\nhas = 'NBF_DATA_SIZE' in os.environ")
    assert r["nondeterministic"] is False and r["nondeterminism"] == []
    assert r["envReplay"] == ["NBF_DATA_SIZE", "NBF_UNSET"] and r["rngSaved"] is True
    state = sess.call("rng_state", seqs=[r["seq"]])[0]["states"][0]
    assert pickle.loads(state["env"]) == {"NBF_DATA_SIZE": "medium", "NBF_UNSET": None}

    # Another kernel's environment: the saved values are set for the rerun, then undone.
    monkeypatch.setenv("NBF_DATA_SIZE", "large")
    monkeypatch.setenv("NBF_UNSET", "on")
    reply = sess.call("set_rng", env=state["env"])[0]
    assert reply["restored"] == ["env"]
    sess.silent("again = (os.environ.get('NBF_DATA_SIZE', 'small'), os.getenv('NBF_UNSET', 'off'))")
    assert sess.ns["again"] == ("medium", "off")
    sess.call("set_rng", env=reply["undo"]["env"])
    assert os.environ["NBF_DATA_SIZE"] == "large" and os.environ["NBF_UNSET"] == "on"

    # Looked up only inside a function the cell defines: nothing was read while it ran.
    assert sess.run("def home_dir():\n    return os.environ['HOME']")["nondeterministic"] is False
    r = sess.run("h = home_dir()")
    assert r["nondeterministic"] is False and r["envReplay"] == ["HOME"], (r["nondeterminism"], r["notes"])


def test_numpy_first_use_is_nondeterministic_only_when_drawn() -> None:
    """The cell that first imports numpy.random: the legacy global state, seeded from the OS, makes
    it nondeterministic only if something drew from it (a seeded generator does not)."""
    import numpy.random as npr

    from nbferry_shim import rng

    fresh = {"numpy": npr.RandomState().get_state(legacy=True)}
    assert rng.numpy_global_drawn(fresh, {"np", "random", "default_rng"}) is False
    assert rng.numpy_global_drawn(fresh, {"np", "random", "rand"}) is True  # a legacy draw by name
    assert rng.numpy_global_drawn(fresh, {"np", "random", "rand", "seed"}) is False  # seeded first
    drawn = npr.RandomState()
    drawn.randint(0, 10)  # one 32-bit draw, as a library might make
    assert rng.numpy_global_drawn({"numpy": drawn.get_state(legacy=True)}, {"np"}) is True
    gauss = npr.RandomState()
    gauss.standard_normal()
    assert rng.numpy_global_drawn({"numpy": gauss.get_state(legacy=True)}, set()) is True


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


def _effects(r: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["kind"], e["detail"]) for e in r["sideEffects"]]


def test_python_caches_are_not_side_effects(sess: Any, tmp_path: Any, monkeypatch: Any) -> None:
    import sys

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    (tmp_path / "nbf_cached_mod.py").write_text("VALUE = 3\n")
    r = sess.run(f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport nbf_cached_mod\nv = nbf_cached_mod.VALUE")
    assert (tmp_path / "__pycache__").is_dir()  # the import did write its bytecode cache
    assert r["sideEffects"] == []
    # the local module's source is an input; the import system's directory scans are not
    assert [i["path"] for i in r["inputs"]] == [str(tmp_path / "nbf_cached_mod.py")]
    sess.run(f"sys.path.remove({str(tmp_path)!r})")


def test_internal_rules_for_library_dirs(tmp_path: Any, monkeypatch: Any) -> None:
    from nbferry_shim.internal import InternalRules

    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    rules = InternalRules([str(tmp_path / "ipy")])
    assert rules.cache_path("file-write", str(tmp_path / "mpl" / "fontlist-v390.json"))
    assert rules.cache_path("dir-create", str(tmp_path))  # an ancestor os.makedirs creates first
    assert not rules.cache_path("file-write", str(tmp_path / "data.csv"))
    assert rules.cache_path("database", str(tmp_path / "ipy" / "history.sqlite"))
    assert rules.cache_path("file-write", str(tmp_path / "pkg" / "__pycache__" / "m.cpython-311.pyc"))
    assert not rules.cache_path("file-write", str(tmp_path / "mplx" / "f"))


def test_parallel_workers_and_their_temp_files_are_internal(sess: Any) -> None:
    r = sess.run("import numpy as np\nfrom joblib import Parallel, delayed\nbig = np.ones(400_000)\n"
                 "sums = Parallel(n_jobs=2, max_nbytes='1M')(delayed(np.sum)(big) for _ in range(4))")
    assert sess.ns["sums"] == [400_000.0] * 4 and r["sideEffects"] == []
    r = sess.run("import multiprocessing as mp\nwith mp.get_context('fork').Pool(2) as pool:\n"
                 "    out = pool.map(abs, [-1, -2])")
    assert sess.ns["out"] == [1, 2] and r["sideEffects"] == []
    # joblib keeps its worker pool (and its manager threads) for reuse: stop it, so later tests in
    # this process do not see a live notebook thread (test_unobserved.py).
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)


def test_real_side_effects_are_kept(sess: Any, tmp_path: Any) -> None:
    import shutil

    target = tmp_path / "from_thread.txt"
    sess.run(f"from joblib import Parallel, delayed\ndef write(i):\n    open({str(target)!r} + str(i), 'w').close()")
    r = sess.run("Parallel(n_jobs=2, backend='threading')(delayed(write)(i) for i in range(2))")
    assert sorted(_effects(r)) == [("file-write", f"{target}0"), ("file-write", f"{target}1")]
    r = sess.run("import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'pass'])")
    assert [k for k, _ in _effects(r)] == ["subprocess"]
    r = sess.run(f"import os\nos.makedirs({str(tmp_path / 'new')!r}, exist_ok=True)")
    assert _effects(r) == [("dir-create", str(tmp_path / "new"))]
    r = sess.run(f"os.makedirs({str(tmp_path / 'new')!r}, exist_ok=True)")
    assert r["sideEffects"] == []  # it already exists: mkdir does nothing
    if shutil.which("lscpu"):
        assert sess.run("p = subprocess.run(['lscpu'], capture_output=True)")["sideEffects"] == []
        r = sess.run(f"p = subprocess.run('lscpu > {tmp_path / 'cpu.txt'}', shell=True)")
        assert [k for k, _ in _effects(r)] == ["subprocess"]


def test_package_metadata_scans_are_not_inputs(sess: Any) -> None:
    r = sess.run("import importlib.metadata as md\nv = md.version('numpy')")  # lists sys.path dirs
    assert r["inputs"] == [] and r["sideEffects"] == []
