"""Deferred reruns (reruns.py): a background restore's reruns after the hand-over run on the main
thread, in order, when the coordinator asks (`rerun_step`) or just before a cell that needs them."""

from __future__ import annotations

from typing import Any


def _queue(sess: Any, cells: list[dict[str, Any]], strays: list[str] | None = None) -> dict[str, Any]:
    specs = [{"code": c["code"], "reads": c.get("reads", []), "writes": c.get("writes", []),
              "names": c.get("reads", []) + c.get("writes", []), "verify": c.get("verify", c.get("writes", []))}
             for c in cells]
    result, _ = sess.call("load_background", blobs=[], reruns={"cells": specs, "strays": strays or []})
    assert result["started"] is True
    return result  # type: ignore[no-any-return]


CHAIN = [
    {"code": "order = ['a']\nprint('not shown')", "writes": ["order"]},
    {"code": "order.append('b')\ntmp = 1\nb_done = True", "reads": ["order"], "writes": ["order", "tmp", "b_done"]},
    {"code": "c_done = len(order)", "reads": ["order"], "writes": ["c_done"]},
]


def test_a_cell_runs_the_reruns_it_needs_first_in_order_and_no_more(sess: Any, capsys: Any) -> None:
    _queue(sess, CHAIN, strays=["tmp"])
    sess.run("seen = b_done")  # needs the second rerun: the first and second run, in order
    assert sess.ns["order"] == ["a", "b"] and sess.ns["seen"] is True
    assert "c_done" not in sess.ns  # the third is not needed yet
    assert "not shown" not in capsys.readouterr().out
    result, _ = sess.call("rerun_step", index=1)  # already run by the cell: its result
    assert result["ok"] is True and "order" in result["fingerprints"]
    result, _ = sess.call("rerun_step", index=2)
    assert result["ok"] is True and sess.ns["c_done"] == 2
    assert "tmp" not in sess.ns  # strays go after the last rerun


def test_globals_waits_for_every_rerun(sess: Any) -> None:
    _queue(sess, CHAIN)
    sess.run("names = sorted(globals())")
    assert {"order", "b_done", "c_done"} <= set(sess.ns["names"])


def test_a_failed_rerun_is_reported_and_those_that_need_it_are_skipped(sess: Any) -> None:
    _queue(sess, [
        {"code": "gone = open('/nonexistent/nbferry-file').read()", "writes": ["gone"]},
        {"code": "uses = gone.upper()", "reads": ["gone"], "writes": ["uses"]},
        {"code": "other = 3", "writes": ["other"]},
    ])
    first, _ = sess.call("rerun_step", index=0)
    assert first["ok"] is False and "FileNotFoundError" in first["error"]
    second, _ = sess.call("rerun_step", index=1)
    assert second["ok"] is False and second["skipped"] is True and "gone" in second["error"]
    third, _ = sess.call("rerun_step", index=2)
    assert third["ok"] is True and sess.ns["other"] == 3


def test_a_second_queue_is_refused_while_reruns_are_pending(sess: Any) -> None:
    _queue(sess, CHAIN)
    error = sess.call_err("load_background", blobs=[], reruns={"cells": []})
    assert "pending" in error
    sess.call("rerun_step", index=2)


def test_a_cell_that_only_uses_a_module_a_rerun_reads_does_not_wait_for_it(sess: Any) -> None:
    sess.run("import os")
    _queue(sess, [{"code": "sep_seen = os.sep", "reads": ["os"], "writes": ["sep_seen"]}])
    sess.run("mine = os.sep")
    assert "sep_seen" not in sess.ns
    sess.run("again = sep_seen")
    assert sess.ns["again"] == sess.ns["mine"]


def test_a_cell_a_rerun_runs_itself_does_not_run_later_reruns(sess: Any) -> None:
    _queue(sess, [
        {"code": "%%capture\nfirst = 1\nprint(second_marker if 'second_marker' in dir() else 0)", "writes": ["first"]},
        {"code": "second_marker = first + 1", "reads": ["first"], "writes": ["second_marker"]},
    ])
    result, _ = sess.call("rerun_step", index=0)
    assert result["ok"] is True, result
    assert "second_marker" not in sess.ns
    result, _ = sess.call("rerun_step", index=1)
    assert result["ok"] is True and sess.ns["second_marker"] == 2
