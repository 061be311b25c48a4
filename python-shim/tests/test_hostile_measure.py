"""Hostile objects in measure, save and fingerprint: each is contained to its own group, and a
user hook that blocks is given up after the budget instead of being waited on."""

from __future__ import annotations

import tempfile
import time
from typing import Any

HOSTILE_CLASSES = (
    "class Sleepy:\n"
    "    sec = 0  # set later, silently: the cell that creates one is fingerprinted at once\n"
    "    def __reduce__(self):\n"
    "        import time\n"
    "        time.sleep(Sleepy.sec)\n"
    "        return (Sleepy, ())\n"
    "class Refuser:\n"
    "    def __getattribute__(self, name):\n"
    "        raise RuntimeError('no attribute for you: ' + name)\n"
    "class Counted:\n"
    "    calls = 0\n"
    "    def __init__(self):\n"
    "        self.items = [1, 2, 3]\n"
    "    def __getstate__(self):\n"
    "        type(self).calls += 1\n"
    "        self.items.append(len(self.items))  # a mutating __getstate__\n"
    "        return dict(self.__dict__)\n"
)


def _groups_by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: g for g in result["groups"] for n in g["names"]}


def test_an_object_whose_getattribute_raises_is_contained_to_its_group(sess: Any) -> None:
    sess.run(HOSTILE_CLASSES)
    sess.run("r = Refuser()\nplain = [1, 2, 3]")
    result, _ = sess.call("measure")
    groups = _groups_by_name(result)
    assert groups["plain"]["serializable"] is True
    assert groups["r"]["serializable"] is False and "no attribute for you" in groups["r"]["reason"]
    assert result["variables"]["plain"]["fingerprint"]


def test_pickle_rebound_in_the_user_namespace_does_not_break_measure(sess: Any) -> None:
    sess.run("import pickle\npickle.dumps = None\npickle.loads = None\nvalues = {'a': [1, 2]}")
    try:
        result, _ = sess.call("measure")
        assert _groups_by_name(result)["values"]["serializable"] is True
        assert result["variables"]["values"]["fingerprint"]
        sess.run("pickle = None")
        result, _ = sess.call("measure")
        assert _groups_by_name(result)["values"]["serializable"] is True
    finally:
        import importlib
        import pickle

        importlib.reload(pickle)


def test_a_blocking_reduce_is_given_up_after_the_budget(sess: Any) -> None:
    sess.run(HOSTILE_CLASSES)
    sess.run("s = Sleepy()\nplain = [1, 2, 3]")
    sess.silent("Sleepy.sec = 30")
    t0 = time.perf_counter()
    result, _ = sess.call("measure", budgetSec=0.5)
    spent = time.perf_counter() - t0
    groups = _groups_by_name(result)
    assert groups["plain"]["serializable"] is True
    # Given up: no fingerprint, and the group's cost is a lower bound, not a 30 s wait.
    assert result["variables"]["s"]["fingerprint"] is None
    assert groups["s"].get("estimate") == "lower-bound" or groups["s"]["serializable"] is False
    assert spent < 15, f"measure waited {spent:.1f} s on a 30 s __reduce__"


def test_a_blocking_reduce_is_given_up_by_fingerprint(sess: Any) -> None:
    sess.run(HOSTILE_CLASSES)
    sess.run("s = Sleepy()")
    sess.silent("Sleepy.sec = 30")
    t0 = time.perf_counter()
    result, _ = sess.call("fingerprint", names=["s"], budgetSec=0.5)
    assert time.perf_counter() - t0 < 15
    assert result["fingerprints"]["s"]["digest"] is None
    assert "budget" in (result["fingerprints"]["s"]["error"] or "")


def test_getstate_runs_at_most_once_per_checkpoint(sess: Any) -> None:
    sess.run(HOSTILE_CLASSES)
    sess.run("c = Counted()")
    before = sess.ns["Counted"].calls
    result, _ = sess.call("measure")
    group = _groups_by_name(result)["c"]
    assert group["serializable"] is True
    with tempfile.TemporaryDirectory() as d:
        saved, _ = sess.call("save", dir=d, groups=[group["names"]])
        assert saved["blobs"][0]["ok"] is True
    assert sess.ns["Counted"].calls - before <= 1


def test_a_blocking_reduce_does_not_hold_the_cell(budgeted: Any) -> None:
    budgeted.run(HOSTILE_CLASSES)
    budgeted.silent("Sleepy.sec = 30")
    t0 = time.perf_counter()
    r = budgeted.run("s = Sleepy()")
    assert time.perf_counter() - t0 < 10, "the recorder waited on a sleeping __reduce__"
    assert "s" in r["created"]
    assert "s" in r["unknownFingerprint"] or "s" in r["unhashed"]
