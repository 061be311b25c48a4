"""Modules: rerun their import cell when it only imports; saved by name when there is no cell, or
when the cell also computed (rerunning it for the module would rebind its other names)."""

from __future__ import annotations

import pickle
import types
from typing import Any


def _groups(sess: Any) -> dict[str, dict[str, Any]]:
    res, _ = sess.call("measure")
    return {n: g for g in res["groups"] for n in g["names"]}


def test_module_imported_in_a_recorded_cell_is_left_to_its_cell(sess: Any) -> None:
    sess.run("import json as js")
    group = _groups(sess)["js"]
    assert group["serializable"] is False
    assert group["reason"] == "module"


def test_module_of_a_cell_that_also_computes_is_saved_by_name(sess: Any) -> None:
    sess.run("import json as js_mixed\npayload = js_mixed.dumps([1, 2])")
    groups = _groups(sess)
    assert groups["js_mixed"]["serializable"] is True
    assert groups["payload"]["serializable"] is True


def test_module_from_before_recording_is_saved_by_name_and_loads_by_import(sess: Any, tmp_path: Any) -> None:
    sess.silent("import json as js_outside")  # bound outside any recorded cell: no cell to rerun
    group = _groups(sess)["js_outside"]
    assert group["serializable"] is True
    res, _ = sess.call("save", dir=str(tmp_path), groups=[["js_outside"]])
    blob = res["blobs"][0]
    assert blob["ok"], blob
    sess.silent("del js_outside")
    spec = {"file": blob["file"], "names": ["js_outside"]}
    spec.update({"checksum": blob["checksum"]} if "checksum" in blob else {"sha256": blob["sha256"]})
    loaded, _ = sess.call("load", dir=str(tmp_path), blobs=[spec])
    assert loaded["results"][0]["ok"], loaded
    import json

    assert sess.ns["js_outside"] is json


def test_hand_made_module_stays_unserializable(sess: Any) -> None:
    sess.silent("import types as _t\nghost = _t.ModuleType('ghost_nbf')\ndel _t")
    group = _groups(sess)["ghost"]
    assert group["serializable"] is False
    assert group["reason"] == "module"


def test_pickler_refuses_a_module_without_a_spec() -> None:
    from nbferry_shim import kinds

    assert kinds.importable_module(pickle) is True
    assert kinds.importable_module(types.ModuleType("nowhere")) is False


def test_datetime_columns_and_arrays_round_trip(sess: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np, pandas as pd\n"
             "when = pd.DataFrame({'d': pd.date_range('2024-01-01', periods=5), 'x': range(5)})\n"
             "stamps = np.array(['2024-01-01', '2024-02-01'], dtype='datetime64[D]')\n"
             "gaps = np.array([1, 2], dtype='timedelta64[s]')")
    groups = {n: g for g in sess.call("measure")[0]["groups"] for n in g["names"]}
    assert all(groups[n]["serializable"] for n in ("when", "stamps", "gaps")), groups
    res, _ = sess.call("save", dir=str(tmp_path), groups=[["when"], ["stamps"], ["gaps"]])
    assert all(b["ok"] for b in res["blobs"]), res
    expected = {n: repr(sess.ns[n]) for n in ("when", "stamps", "gaps")}
    sess.silent("del when, stamps, gaps")
    specs = [{"file": b["file"], "names": b["names"], "checksum": b["checksum"]} for b in res["blobs"]]
    loaded, _ = sess.call("load", dir=str(tmp_path), blobs=specs)
    assert all(r["ok"] for r in loaded["results"]), loaded
    assert {n: repr(sess.ns[n]) for n in expected} == expected


def test_only_installed_modules_are_saved_by_name(tmp_path: Any, monkeypatch: Any) -> None:
    """A module the notebook wrote (or put on sys.path) is importable only in this session: its
    cell is rerun, never re-imported by name in a kernel that lacks the file or the path."""
    import importlib
    import json
    import sys
    import types

    from nbferry_shim.measure import _installed

    (tmp_path / "written_by_notebook.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    written = importlib.import_module("written_by_notebook")
    assert _installed(json) and _installed(sys) and _installed(42)
    assert not _installed(written)
    assert not _installed(types.ModuleType("made_in_memory"))
