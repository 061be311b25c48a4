"""`load` with `progress: true` pushes the bytes read while it reads (for the coordinator's progress bar)."""

from __future__ import annotations

from typing import Any


def _pushes(sess: Any, monkeypatch: Any) -> list[tuple[str, Any]]:
    pushed: list[tuple[str, Any]] = []
    monkeypatch.setattr(sess.shim.channel, "push", lambda op, payload: pushed.append((op, payload)))
    return pushed


def test_load_reports_bytes_read_up_to_the_total(sess: Any, monkeypatch: Any, tmp_path: Any) -> None:
    from nbferry_shim import blobs

    # 40 MiB in 8 MiB chunks; an interval of 0 reports every chunk.
    sess.run("import numpy as np\nbig = np.ones(5 << 20)\nsmall = [1, 2, 3]")
    saved = sess.call("save", dir=str(tmp_path), groups=[["big"], ["small"]])[0]["blobs"]
    specs = [{"file": b["file"], "checksum": b["checksum"], "names": b["names"], "bytes": b["bytes"]} for b in saved]
    total = sum(b["bytes"] for b in saved)
    monkeypatch.setattr(blobs._LoadProgress, "INTERVAL", 0.0)
    pushed = _pushes(sess, monkeypatch)
    res = sess.call("load", dir=str(tmp_path), blobs=specs, progress=True)[0]["results"]
    assert all(r["ok"] for r in res)
    assert {op for op, _ in pushed} == {"progress"}
    done = [p["done"] for _, p in pushed]
    assert all(p["op"] == "load" and p["total"] == total for _, p in pushed)
    assert len(done) >= 5 and done == sorted(done) and 0 < done[0] < total and done[-1] == total


def test_load_without_progress_pushes_nothing(sess: Any, monkeypatch: Any, tmp_path: Any) -> None:
    sess.run("x = list(range(1000))")
    saved = sess.call("save", dir=str(tmp_path), groups=[["x"]])[0]["blobs"]
    pushed = _pushes(sess, monkeypatch)
    res = sess.call("load", dir=str(tmp_path), blobs=[{"file": b["file"], "checksum": b["checksum"]} for b in saved])[0]["results"]
    assert res[0]["ok"] and pushed == []
