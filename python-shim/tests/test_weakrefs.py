"""Weak references are saved when their target is in the same group (rebuilt to the restored
target) and refused, with the reason, when it is not."""

from __future__ import annotations

import weakref
from typing import Any


def _groups(sess: Any) -> dict[str, dict[str, Any]]:
    res, _ = sess.call("measure")
    return {n: g for g in res["groups"] for n in g["names"]}


def _round_trip(sess: Any, tmp_path: Any, names: list[str]) -> None:
    res, _ = sess.call("save", dir=str(tmp_path), groups=[names])
    blob = res["blobs"][0]
    assert blob["ok"], blob
    sess.silent("del " + ", ".join(names))
    loaded, _ = sess.call("load", dir=str(tmp_path),
                          blobs=[{"file": blob["file"], "names": names, "checksum": blob["checksum"]}])
    assert loaded["results"][0]["ok"], loaded


CURSOR = ("import weakref\n"
          "class Canvas:\n"
          "    def __init__(self):\n"
          "        self.artists = weakref.WeakValueDictionary()\n"
          "class Cursor:\n"
          "    def __init__(self, canvas):\n"
          "        self.canvas = weakref.ref(canvas)\n")


def test_weakrefs_to_objects_of_the_group_are_saved_and_rebuilt_to_the_restored_targets(sess: Any, tmp_path: Any) -> None:
    sess.run(CURSOR)
    sess.run("canvas = Canvas()\nclass Line:\n    points = (1, 2, 3)\nline = Line()\n"
             "canvas.artists['l'] = line\ncursor = Cursor(canvas)\n"
             "owners = weakref.WeakKeyDictionary({canvas: 'main'})\nseen = weakref.WeakSet([line])")
    groups = _groups(sess)
    group = groups["cursor"]
    assert group["serializable"] is True, group
    names = group["names"]
    assert {"canvas", "cursor", "line", "owners", "seen"} <= set(names)
    _round_trip(sess, tmp_path, names)
    ns = sess.ns
    assert ns["cursor"].canvas() is ns["canvas"]
    assert ns["canvas"].artists["l"] is ns["line"]
    assert ns["owners"][ns["canvas"]] == "main"
    assert list(ns["seen"])[0] is ns["line"]


def test_fingerprint_of_a_weakref_holder_is_its_targets_content_and_survives_a_round_trip(sess: Any, tmp_path: Any) -> None:
    sess.run(CURSOR)
    sess.run("canvas = Canvas()\ncanvas.title = 'a'\ncursor = Cursor(canvas)")
    before = sess.call("measure")[0]["variables"]["cursor"]
    assert before["reliable"] is True
    _round_trip(sess, tmp_path, ["canvas", "cursor"])
    after = sess.call("measure")[0]["variables"]["cursor"]
    assert after["fingerprint"] == before["fingerprint"]
    sess.run("canvas.title = 'b'")
    assert sess.call("measure")[0]["variables"]["cursor"]["fingerprint"] != before["fingerprint"]


def test_a_weakref_to_an_object_held_only_outside_the_namespace_is_refused_with_the_reason(sess: Any) -> None:
    sess.run(CURSOR)
    sess.run("import sys\nsys._nbf_test_owner = Canvas()\ncursor = Cursor(sys._nbf_test_owner)")
    try:
        group = _groups(sess)["cursor"]
        assert group["serializable"] is False
        assert "weakref to an object outside its group" in group["reason"]
    finally:
        sess.silent("del sys._nbf_test_owner")


def test_a_matplotlib_figure_with_a_weakref_helper_is_saved_whole(sess: Any, tmp_path: Any) -> None:
    sess.run("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nimport weakref\n"
             "fig, ax = plt.subplots()\nax.plot([1, 2, 3])\n"
             "class Hover:\n    def __init__(self, ax):\n        self.ax = weakref.ref(ax)\n"
             "hover = Hover(ax)")
    group = _groups(sess)["hover"]
    assert group["serializable"] is True, group
    assert {"ax", "fig", "hover"} <= set(group["names"])
    _round_trip(sess, tmp_path, group["names"])
    ns = sess.ns
    assert ns["hover"].ax() is ns["ax"] and ns["ax"].figure is ns["fig"]
    sess.silent("plt.close('all')")


def test_dead_weakref_round_trips_dead() -> None:
    from nbferry_shim import serialize

    class T:
        pass

    r = weakref.ref(T())
    data, bufs = serialize.to_bytes({"r": r}, None)
    assert serialize.loads_group(data, bufs)["r"]() is None
