"""Regression tests for ElasticNotebook's recording failures (research doc §7.6)."""

from __future__ import annotations

import os
from typing import Any


def _groups(sess: Any) -> list[list[str]]:
    return sess.call("variables")[0]["groups"]  # type: ignore[no-any-return]


def test_f1_shared_object_makes_one_group_and_checkpoints(sess: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np, pandas as pd\na = np.arange(6.0)\ndf = pd.DataFrame({'x': [1, 2]})\npair = [a, df]")
    m = sess.call("measure")[0]
    g = [x for x in m["groups"] if "pair" in x["names"]][0]
    assert g["names"] == ["a", "df", "pair"] and g["serializable"] is True
    saved = sess.call("save", dir=str(tmp_path), groups=[g["names"]])[0]["blobs"][0]
    assert saved["ok"] and os.path.exists(tmp_path / saved["file"])
    for n in ("a", "df", "pair"):
        del sess.ns[n]
    res = sess.call("load", dir=str(tmp_path), blobs=[{"file": saved["file"], "checksum": saved["checksum"]}])[0]
    assert res["results"][0]["ok"]
    assert sess.ns["pair"][0] is sess.ns["a"] and sess.ns["pair"][1] is sess.ns["df"]


def test_f2_generator_stays_unserializable_after_more_cells(sess: Any) -> None:
    r = sess.run("gen = (i for i in range(5))\nnxt = next(gen)")
    assert r["unserializable"] == {"gen": "generator"}
    sess.run("z = 1")
    sess.run("w = z + 1")
    m = sess.call("measure")[0]
    g = [x for x in m["groups"] if x["names"] == ["gen"]][0]
    assert g["serializable"] is False and g["reason"] == "generator"
    assert all(x["serializable"] for x in m["groups"] if x["names"] != ["gen"])
    r = sess.run("more = next(gen)")  # touching it counts as modifying it (cannot fingerprint)
    assert set(r["modified"]) == {"gen"} and r["unknownFingerprint"] == ["gen"]


def test_f4_no_flag_tricks_user_cells_keep_working(sess: Any) -> None:
    sess.run("import pandas as pd, numpy as np\ndf = pd.DataFrame({'a': np.arange(3.0), 'b': [1, 2, 3]})\narr = np.ones(3)")
    flags = [b.values.flags.writeable for b in sess.ns["df"]._mgr.blocks]
    r = sess.run("df['a'] += 1\narr += 1")
    assert r["success"] and set(r["modified"]) == {"df", "arr"}
    assert [b.values.flags.writeable for b in sess.ns["df"]._mgr.blocks] == flags
    assert sess.ns["arr"].flags.writeable is True
    assert list(sess.ns["df"]["a"]) == [1.0, 2.0, 3.0]


def test_f5_string_columns_measure_and_save(sess: Any, tmp_path: Any) -> None:
    sess.run("import pandas as pd\nd = pd.DataFrame({'s': ['x', 'y', None], 'o': [object(), 1, 'z'], 'n': [1, 2, 3]})")
    m = sess.call("measure", names=["d"])[0]
    assert m["groups"][0]["serializable"] is True and m["groups"][0]["bytes"] > 0
    assert sess.call("save", dir=str(tmp_path), groups=[["d"]])[0]["blobs"][0]["ok"]


def test_f6_mmap_is_unserializable(sess: Any, tmp_path: Any) -> None:
    p = tmp_path / "m.bin"
    p.write_bytes(b"\0" * 4096)
    sess.run(f"import mmap\nfh = open({str(p)!r}, 'r+b')\nmm = mmap.mmap(fh.fileno(), 0)")
    m = sess.call("measure")[0]
    reasons = {tuple(g["names"]): g.get("reason") for g in m["groups"]}
    assert reasons[("mm",)] == "mmap" and reasons[("fh",)] == "open file"
    sess.run("mm.close()\nfh.close()")


def test_f7_line_magic_inside_a_cell_runs_and_is_analyzed(sess: Any) -> None:
    sess.run("val = 2")
    r = sess.run("%time out = val * 3\nprint(out)")
    assert sess.ns["out"] == 6 and set(r["read"]) == {"val"} and set(r["created"]) == {"out"}


def test_f8_variable_deleted_outside_recorded_cells(sess: Any) -> None:
    sess.run("keep = 1\ngone = [1]")
    sess.silent("del gone\nsneaky = 5")
    r = sess.run("keep += 1")
    assert set(r["modified"]) == {"keep"} and r["success"]
    outside = [x for x in sess.records() if x["kind"] == "outside"]
    assert len(outside) == 1
    assert outside[0]["deleted"] == ["gone"] and outside[0]["created"] == ["sneaky"]
    assert "sneaky" in sess.call("hello")[0]["unknownProvenance"]
    assert set(sess.run("keep += 1")["modified"]) == {"keep"}  # recording carries on


def test_f9_restored_function_is_followed_without_source(sess: Any, tmp_path: Any) -> None:
    sess.run("offset = 4\ndef add(x):\n    return x + offset")
    saved = sess.call("save", dir=str(tmp_path), groups=[["add"]])[0]["blobs"][0]
    del sess.ns["add"]
    sess.call("load", dir=str(tmp_path), blobs=[{"file": saved["file"], "checksum": saved["checksum"]}])
    r = sess.run("y = add(1)")
    assert sess.ns["y"] == 5 and set(r["read"]) == {"add", "offset"}
    sess.run("offset = 10")
    assert sess.ns["add"](1) == 11  # the restored function reads live globals


def test_f13_numpy_view_linked_and_restored_as_view(sess: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np\na = np.arange(40.0).reshape(5, 8).copy()\nX = a[:, :3]")
    assert ["X", "a"] in _groups(sess)
    saved = sess.call("save", dir=str(tmp_path), groups=[["X", "a"]])[0]["blobs"][0]
    del sess.ns["X"], sess.ns["a"]
    sess.call("load", dir=str(tmp_path), blobs=[{"file": saved["file"], "checksum": saved["checksum"]}])
    X, a = sess.ns["X"], sess.ns["a"]
    assert X.base is a and X.shape == (5, 3)
    a[0, 0] = -1
    assert X[0, 0] == -1


def test_f14_pandas_shallow_copy_and_column_linked(sess: Any, tmp_path: Any) -> None:
    sess.run("import pandas as pd\ndf = pd.DataFrame({'a': [1.0, 2.0]})\ndf2 = df.copy(deep=False)\ns = df['a']")
    assert ["df", "df2", "s"] in _groups(sess)
    saved = sess.call("save", dir=str(tmp_path), groups=[["df", "df2", "s"]])[0]["blobs"][0]
    for n in ("df", "df2", "s"):
        del sess.ns[n]
    sess.call("load", dir=str(tmp_path), blobs=[{"file": saved["file"], "checksum": saved["checksum"]}])
    sess.run("df.loc[0, 'a'] = 50.0")  # copy-on-write semantics survive the round trip
    assert float(sess.ns["s"].iloc[0]) == 1.0 and float(sess.ns["df2"]["a"].iloc[0]) == 1.0


def test_f15_function_reading_primitive_global(sess: Any) -> None:
    sess.run("offset = 10")
    sess.run("def f(x):\n    return x + offset")
    r3 = sess.run("import numpy as np\nbig = np.ones(10) * f(1)")
    assert set(r3["read"]) == {"f", "offset"}
    r4 = sess.run("offset = 20")
    assert set(r4["modified"]) == {"offset"}
