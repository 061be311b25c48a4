"""The shim must never fail or alter a user cell; internal problems degrade conservatively."""

from __future__ import annotations

from typing import Any


def test_hostile_objects_do_not_break_cells(sess: Any) -> None:
    code = (
        "class Hostile:\n"
        "    def __reduce_ex__(self, proto):\n"
        "        raise RuntimeError('no pickling for you')\n"
        "class Proxy:\n"
        "    def __getattr__(self, name):\n"
        "        return self\n"
        "h = Hostile()\n"
        "box = [h, 1]\n"
        "px = Proxy()\n"
        "deep = []\n"
        "cur = deep\n"
        "for _ in range(3000):\n"
        "    cur.append([])\n"
        "    cur = cur[0]\n"
    )
    r = sess.run(code)
    assert r["success"] and {"h", "box", "px", "deep"} <= set(r["created"])
    assert "h" in r["unknownFingerprint"] and "box" in r["unknownFingerprint"]
    r = sess.run("box.append(2)")
    assert set(r["modified"]) == {"box", "h"} or set(r["modified"]) == {"box"}
    r = sess.run("deep.append(1)")
    assert r["success"] and "deep" in r["modified"]


def test_internal_error_is_contained(sess: Any, monkeypatch: Any) -> None:
    sess.run("a = [1]\nb = 2")

    def boom(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("shim bug")

    monkeypatch.setattr(sess.shim.recorder, "_closure", boom)
    r = sess.run("a.append(3)")
    assert r["success"] and r["touchAll"] and r["internalErrors"]
    assert set(r["modified"]) == {"a"}  # touchAll: everything was re-fingerprinted, result still exact
    assert sess.ns["a"] == [1, 3]


def test_lost_post_run_cell_is_recovered(sess: Any) -> None:
    rec = sess.shim.recorder

    class Info:
        raw_cell = "x = 1"
        transformed_cell = "x = 1\n"
        store_history = True
        cell_id = "lost"

    rec.pre_run_cell(Info())
    assert sess.shell.run_cell("y = 2", store_history=True).success
    lost, r = [x for x in sess.records() if x["kind"] == "cell"]
    assert lost["cellId"] == "lost" and lost["success"] is None and "post_run_cell not received" in lost["notes"]
    assert set(r["created"]) == {"y"} and r["success"] is True


def test_user_namespace_untouched_by_shim(sess: Any) -> None:
    before = set(sess.ns)
    sess.run("q = 1")
    sess.call("measure")
    sess.call("variables")
    assert set(sess.ns) - before == {"q"} | {k for k in set(sess.ns) - before if k.startswith("_")}
