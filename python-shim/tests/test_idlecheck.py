"""The post-cell read checks run after the reply (idlecheck.py): in-place changes are still recorded
as made by the cell that made them, whether the check ran while idle or was drained by whatever
came next (the next cell, a measure, a lane request, a silent execute, detach)."""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from nbferry_shim import msgpack_codec


class Idle:
    """Stands in for the kernel's event loop: steps are queued, and run only when the test says
    the kernel is idle."""

    def __init__(self, sess: Any) -> None:
        self.steps: list[Callable[[], None]] = []
        sess.shim.recorder.schedule = self.queue

    def queue(self, step: Callable[[], None]) -> bool:
        self.steps.append(step)
        return True

    def run(self, n: int | None = None) -> int:
        done = 0
        while self.steps and (n is None or done < n):
            self.steps.pop(0)()
            done += 1
        return done


def cells(sess: Any, since: int = 0) -> list[dict[str, Any]]:
    return [r for r in sess.records(since) if r["kind"] == "cell"]


def start(sess: Any, code: str) -> int:
    """Runs a cell as the kernel does; returns the last seq before it."""
    before = sess.shim.history.last_seq
    res = sess.shell.run_cell(code, store_history=True)
    assert res.success, res.error_in_exec
    return before


@pytest.fixture
def deferred(sess: Any) -> Any:
    sess.idle = Idle(sess)
    return sess


SETUPS = [
    ("import numpy as np\narr = np.arange(100000.0)", "arr *= 2", "arr"),
    ("lst = list(range(1000))", "lst.append(5)", "lst"),
    ("dct = {i: str(i) for i in range(1000)}", "dct.update({1: 'one'})", "dct"),
    ("import pandas as pd\ndf = pd.DataFrame({'a': range(1000)})", "df['b'] = df.a * 2", "df"),
]


@pytest.mark.parametrize("setup,change,name", SETUPS, ids=[s[2] for s in SETUPS])
def test_in_place_change_found_by_the_idle_check(deferred: Any, setup: str, change: str, name: str) -> None:
    start(deferred, setup)
    deferred.idle.run()
    before = start(deferred, change)
    assert cells(deferred, before) == [], "the record waits for its check"
    assert deferred.shim.recorder.check is not None
    assert deferred.idle.run() >= 1
    (rec,) = cells(deferred, before)
    assert rec["modified"] == [name] and rec["read"] == [name]
    assert rec["deferredSec"] > 0 and deferred.shim.recorder.check is None
    # Unchanged the next time: the idle check left a good baseline.
    before = start(deferred, f"_ = len({name})")
    deferred.idle.run()
    (rec,) = cells(deferred, before)
    assert rec["modified"] == []


def test_the_next_cell_drains_the_pending_check_before_recording_anything(deferred: Any) -> None:
    start(deferred, "lst = [1]\nalias = lst\nother = {'k': 1}")
    deferred.idle.run()
    b1 = start(deferred, "lst.append(2)\nother['k'] = 2")
    deferred.idle.run(1)  # one name checked; the next cell arrives before the other
    assert deferred.shim.recorder.check is not None
    b2 = start(deferred, "lst.append(3)")  # changes the same list again, at once
    (first,) = cells(deferred, b1)  # recorded before the second cell's pre hook ran
    assert first["seq"] == b1 + 1 and b2 == b1  # it was emitted inside the second cell's hook
    assert set(first["modified"]) == {"lst", "alias", "other"}
    deferred.idle.run()
    second = cells(deferred, b1)[1]
    assert set(second["modified"]) == {"lst", "alias"} and second["read"] == ["lst"]


def test_the_check_a_cell_finishes_for_the_previous_one_is_reported_apart(deferred: Any) -> None:
    # A rerun pays its own check, not its predecessor's: drainedSec lets the coordinator tell them apart.
    start(deferred, "import numpy as np\nbig = np.arange(4_000_000.0)")
    deferred.idle.run()
    b = start(deferred, "big *= 2")
    start(deferred, "n = 1")  # arrives before the idle step: finishes big's check in its pre hook
    deferred.idle.run()
    first, second = cells(deferred, b)
    assert first["modified"] == ["big"] and first["deferredSec"] > 0
    assert 0 < second["drainedSec"] <= second["overheadSec"]
    assert first["drainedSec"] < second["drainedSec"]


def test_a_cell_that_changes_nothing_after_a_pending_change_is_not_blamed(deferred: Any) -> None:
    start(deferred, "lst = [1]")
    deferred.idle.run()
    b = start(deferred, "lst.append(2)")
    start(deferred, "n = len(lst)")
    deferred.idle.run()
    first, second = cells(deferred, b)
    assert first["modified"] == ["lst"] and second["modified"] == [] and second["created"] == ["n"]


def test_a_measure_arriving_while_a_check_is_pending_sees_the_cell_record(deferred: Any) -> None:
    start(deferred, "import numpy as np\narr = np.zeros(1000)")
    deferred.idle.run()
    b = start(deferred, "arr[3] = 1")
    m = deferred.call("measure")[0]  # not idle: the request drains the check first
    (rec,) = cells(deferred, b)
    assert rec["modified"] == ["arr"] and rec["seq"] <= m["seq"]
    assert deferred.shim.recorder.check is None


def test_history_request_while_pending_includes_the_record(deferred: Any) -> None:
    b = start(deferred, "xs = [1, 2, 3]\nxs.append(4)")
    history = deferred.call("history", since=b)[0]
    assert [r["created"] for r in history["records"] if r["kind"] == "cell"] == [["xs"]]


def test_a_silent_execute_drains_the_check_before_its_code_runs(deferred: Any) -> None:
    start(deferred, "lst = [1]")
    deferred.idle.run()
    b = start(deferred, "lst.append(2)")
    deferred.silent("lst.append(99)")  # another tool: its change is not the cell's to explain
    (rec,) = cells(deferred, b)
    assert rec["modified"] == ["lst"]
    outside = [r for r in deferred.records(b) if r["kind"] == "outside"]
    assert outside == []  # a silent in-place change is the measure's business (unobserved.py)
    assert deferred.shim.unobserved.count > 0


def lane(sess: Any, op: str, out: list[Any], **args: Any) -> None:
    channel = sess.shim.channel
    data, payload, _ = channel.handle({"op": op, "id": 1}, [memoryview(msgpack_codec.packb(args))],
                                      channel.lane_handlers)
    out.append((data, msgpack_codec.unpackb(msgpack_codec.packb(payload))))


def test_a_lane_measure_waits_for_the_main_thread_to_finish_the_check(deferred: Any) -> None:
    start(deferred, "import numpy as np\narr = np.zeros(1000)")
    deferred.idle.run()
    b = start(deferred, "arr += 1")
    out: list[Any] = []
    t = threading.Thread(target=lane, args=(deferred, "measure", out))
    t.start()
    t.join(0.3)
    assert t.is_alive() and out == [], "the lane waits while the check is pending"
    deferred.idle.run()
    t.join(10)
    (data, result), = out
    assert data["ok"] and "preempted" not in result
    (rec,) = cells(deferred, b)
    assert rec["modified"] == ["arr"] and rec["seq"] <= result["seq"]


def test_a_lane_measure_gives_up_as_preempted_if_the_check_never_finishes(deferred: Any, monkeypatch: Any) -> None:
    from nbferry_shim import recorder

    monkeypatch.setattr(recorder, "SETTLE_WAIT_SEC", 0.05)
    start(deferred, "lst = [1]")
    deferred.idle.run()
    start(deferred, "lst.append(2)")
    out: list[Any] = []
    t = threading.Thread(target=lane, args=(deferred, "measure", out))
    t.start()
    t.join(10)
    (data, result), = out
    assert data["ok"] and "preempted" in result and result["blobs"] == []
    deferred.idle.run()


def test_detach_emits_the_pending_record(deferred: Any) -> None:
    import nbferry_shim

    b = start(deferred, "late = [1]")
    shim = deferred.shim
    nbferry_shim.detach()
    assert [r["created"] for r in shim.history.since(b) if r["kind"] == "cell"] == [["late"]]


def test_without_an_event_loop_the_check_runs_in_the_hook(sess: Any) -> None:
    rec = sess.run("lst = [1]\nlst.append(2)")
    assert rec["deferredSec"] == 0 and sess.shim.recorder.check is None
