"""Code run outside recorded cells (silent executes, threads, comm handlers) may change variables in
place with no history record: an incremental `measure` must not reuse earlier facts across it, and
the kernel keeps its lineage point for the next coordinator (`lineage`)."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any


def _measure_since(sess: Any, first: dict[str, Any]) -> dict[str, Any]:
    result, _ = sess.call("measure", previous=first, changed=[], since=sess.shim.history.last_seq)
    return result


def _groups(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: g for g in result["groups"] for n in g["names"]}


def test_recorded_cells_only_reuse(sess: Any) -> None:
    sess.run("import numpy as np\nkept = np.arange(1000)\nother = [1, 2]")
    first, _ = sess.call("measure")
    sess.run("unrelated = 3")
    since, _ = sess.call("measure", previous=first, changed=["unrelated"], since=sess.shim.history.last_seq)
    assert _groups(since)["kept"]["reused"] is True
    assert since["unobserved"] == first["unobserved"]


def test_a_silent_execute_changing_in_place_measures_again(sess: Any) -> None:
    sess.run("import numpy as np\narr = np.zeros(1000)")
    first, _ = sess.call("measure")
    sess.silent("arr[:5] = 9")  # in place, outside any recorded cell: no history record names arr
    assert not [r for r in sess.records(first["seq"]) if "arr" in r.get("modified", [])]
    since = _measure_since(sess, first)
    assert _groups(since)["arr"]["reused"] is False
    assert since["variables"]["arr"]["fingerprint"] != first["variables"]["arr"]["fingerprint"]


def test_a_thread_changing_in_place_measures_again(sess: Any) -> None:
    sess.run("import numpy as np\nbuf = np.zeros(1000)")
    first, _ = sess.call("measure")
    done = threading.Event()
    sess.ns["_done"] = done
    sess.run("import threading\ndef _bump():\n    buf[0] = 1\n    _done.set()\nthreading.Thread(target=_bump).start()")
    assert done.wait(5)
    # The cell that started the thread does not reference `buf` as written, and the thread is gone.
    since, _ = sess.call("measure", previous=first, changed=["_bump"], since=sess.shim.history.last_seq)
    assert _groups(since)["buf"]["reused"] is False
    assert since["variables"]["buf"]["fingerprint"] != first["variables"]["buf"]["fingerprint"]


def test_a_live_notebook_thread_keeps_measures_whole(sess: Any) -> None:
    sess.run("import numpy as np\nlive = np.zeros(10)")
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, name="notebook-worker")
    worker.start()
    try:
        first, _ = sess.call("measure")
        since = _measure_since(sess, first)
        assert _groups(since)["live"]["reused"] is False  # it may be writing right now
    finally:
        stop.set()
        worker.join()
    # Gone since the last check, it may have written in between: once more; then reuse again.
    again = _measure_since(sess, since)
    assert _groups(again)["live"]["reused"] is False
    assert _groups(_measure_since(sess, again))["live"]["reused"] is True


def test_nbferry_internal_silent_requests_do_not_count(sess: Any, monkeypatch: Any) -> None:
    from nbferry_shim.unobserved import INTERNAL_MARK

    code = {"value": ""}
    kernel = SimpleNamespace(get_parent=lambda channel=None: {"content": {"code": code["value"]}})
    monkeypatch.setattr(sess.shell, "kernel", kernel, raising=False)
    before = sess.shim.unobserved.count
    code["value"] = f"{INTERNAL_MARK}\nimport sys"
    sess.silent(code["value"])
    assert sess.shim.unobserved.count == before
    code["value"] = "x_silent = 1"
    sess.silent(code["value"])
    assert sess.shim.unobserved.count == before + 1


def test_comm_messages_for_other_comms_count(sess: Any) -> None:
    from nbferry_shim.unobserved import Unobserved

    calls: list[str] = []
    handlers = {"comm_msg": lambda stream, ident, msg: calls.append(msg["content"]["comm_id"])}
    shell = SimpleNamespace(kernel=SimpleNamespace(shell_handlers=handlers), events=sess.shell.events)
    watch = Unobserved(shell, threading.get_ident(), lambda kind, content: content.get("comm_id") == "ours")
    watch.install()
    try:
        handlers["comm_msg"](None, [], {"content": {"comm_id": "ours"}})
        assert watch.count == 0
        handlers["comm_msg"](None, [], {"content": {"comm_id": "widget-1"}})
        assert watch.count > 0 and calls == ["ours", "widget-1"]
    finally:
        watch.uninstall()
    assert not hasattr(handlers["comm_msg"], "__wrapped__")


def test_lineage_point_and_pinned_measurement(sess: Any) -> None:
    sess.run("v = [1, 2, 3]")
    measured, _ = sess.call("measure")
    seq = measured["seq"]
    sess.call("lineage", set={"store": "/s", "id": "c1", "seq": seq, "pinLast": True, "unobserved": measured["unobserved"]})
    got, _ = sess.call("lineage", store="/s")
    assert got["point"] == {"id": "c1", "seq": seq, "unobserved": measured["unobserved"]}
    assert got["measurement"]["variables"]["v"]["fingerprint"] == measured["variables"]["v"]["fingerprint"]
    assert sess.call("lineage", store="/s", withMeasurement=False)[0]["measurement"] is None
    assert sess.call("lineage", store="/other")[0]["point"] is None
    # A measurement of another state is never pinned to the point.
    sess.call("lineage", set={"store": "/s", "id": "c2", "seq": seq + 5, "pinLast": True})
    got, _ = sess.call("lineage", store="/s")
    assert got["point"]["id"] == "c2" and got["measurement"] is None
    assert "lineage needs" in sess.call_err("lineage")


def test_a_change_in_place_found_by_measure_is_recorded_as_outside(sess: Any) -> None:
    sess.run("import numpy as np\ntouched = np.zeros(100)\nalone = np.ones(100)")
    first, _ = sess.call("measure")
    sess.silent("touched[0] = 5")
    since = _measure_since(sess, first)
    outside = [r for r in sess.records(first["seq"]) if r["kind"] == "outside"]
    assert [r["modified"] for r in outside] == [["touched"]]
    assert since["seq"] == outside[-1]["seq"]  # the measured state includes that record


def test_a_restore_or_checkout_drops_the_points_of_other_stores(sess: Any) -> None:
    sess.call("lineage", set={"store": "/a", "id": "a1", "seq": 1})
    sess.call("lineage", set={"store": "/b", "id": "b1", "seq": 2})
    assert sess.call("lineage", store="/a")[0]["point"]["id"] == "a1"  # a checkpoint into /b keeps /a's
    sess.call("lineage", set={"store": "/b", "id": "b0", "seq": 3, "exclusive": True})
    assert sess.call("lineage", store="/a")[0]["point"] is None
    assert sess.call("lineage", store="/b")[0]["point"]["id"] == "b0"


def test_a_checkpoint_measured_before_a_checkout_cannot_become_the_point_after_it(sess: Any) -> None:
    # Another coordinator's auto-checkpoint of the state a checkout replaced commits late: its
    # point (and measurement) describe names the checkout deleted, so it is refused.
    sess.call("lineage", set={"store": "/s", "id": "c1", "seq": 4})
    sess.call("lineage", set={"store": "/s", "id": "c1", "seq": 9, "exclusive": True})
    late, _ = sess.call("lineage", set={"store": "/s", "id": "c2", "seq": 7})
    assert late == {"ok": False, "stale": True}
    assert sess.call("lineage", store="/s")[0]["point"]["id"] == "c1"
    assert sess.call("lineage", set={"store": "/s", "id": "c3", "seq": 10})[0] == {"ok": True}
    assert sess.call("lineage", store="/s")[0]["point"]["id"] == "c3"
