"""`measure` with `previous`/`changed`/`since`: only names written since are probed and pickled
again; untouched groups come back from the previous measurement; any doubt measures everything."""

from __future__ import annotations

from typing import Any


def _by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: g for g in result["groups"] for n in g["names"]}


def _count_pickling(monkeypatch: Any) -> list[list[str]]:
    from nbferry_shim import measure

    calls: list[list[str]] = []
    real = measure.measure_group

    def counted(values: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(sorted(values))
        return real(values, *args, **kwargs)

    monkeypatch.setattr(measure, "measure_group", counted)
    return calls


def test_only_written_names_are_measured_again(sess: Any, monkeypatch: Any) -> None:
    sess.run("import numpy as np\nuntouched = np.arange(100_000)\nchanged = np.zeros(1000)\nother = {'k': 1}")
    first, _ = sess.call("measure")
    record = sess.run("changed[:10] = 7")  # in place: the name is written, its group must be re-pickled
    assert "changed" in record["modified"]
    calls = _count_pickling(monkeypatch)
    since, _ = sess.call("measure", previous=first, changed=["changed"], since=sess.shim.history.last_seq)
    assert calls == [["changed"]]
    groups = _by_name(since)
    assert groups["untouched"]["reused"] is True and groups["other"]["reused"] is True
    assert groups["changed"]["reused"] is False
    assert since["variables"]["untouched"]["fingerprint"] == first["variables"]["untouched"]["fingerprint"]
    assert since["variables"]["changed"]["fingerprint"] != first["variables"]["changed"]["fingerprint"]
    # The reused measurement is what a full one says now.
    full, _ = sess.call("measure")
    for name in ("untouched", "changed", "other"):
        assert since["variables"][name]["fingerprint"] == full["variables"][name]["fingerprint"]
        assert since["variables"][name]["group"] == full["variables"][name]["group"]
    assert sorted(map(sorted, (g["names"] for g in since["groups"]))) == sorted(map(sorted, (g["names"] for g in full["groups"])))


def test_a_written_name_that_now_shares_regroups_with_the_untouched_one(sess: Any, monkeypatch: Any) -> None:
    sess.run("base = [[1, 2], [3, 4]]\nalone = 'x'")
    first, _ = sess.call("measure")
    sess.run("alias = base[0]")  # `base` is not written, but its group now has another member
    calls = _count_pickling(monkeypatch)
    since, _ = sess.call("measure", previous=first, changed=["alias"], since=sess.shim.history.last_seq)
    groups = _by_name(since)
    assert groups["base"]["names"] == ["alias", "base"] and groups["base"]["reused"] is False
    assert groups["alone"]["reused"] is True
    assert calls == [["alias", "base"]]


def test_history_past_since_or_another_algo_measures_everything(sess: Any, monkeypatch: Any) -> None:
    sess.run("a = [1]\nb = [2]")
    first, _ = sess.call("measure")
    stale = sess.shim.history.last_seq
    sess.run("b.append(3)")  # the caller did not see this record: its `changed` cannot be trusted
    calls = _count_pickling(monkeypatch)
    result, _ = sess.call("measure", previous=first, changed=[], since=stale)
    assert sorted(calls) == [["a"], ["b"]]
    assert not any(g["reused"] for g in result["groups"])
    calls.clear()
    other = dict(first, algo="not-" + first["algo"])
    result, _ = sess.call("measure", previous=other, changed=[], since=sess.shim.history.last_seq)
    assert sorted(calls) == [["a"], ["b"]]
