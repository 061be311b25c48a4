"""`save` with `progress: true` pushes the bytes stored while it writes (format 2 chunks land in the
store's shared chunks directory, where the coordinator cannot watch this save's bytes)."""

from __future__ import annotations

from typing import Any

import pytest


def _pushes(sess: Any, monkeypatch: Any) -> list[tuple[str, Any]]:
    pushed: list[tuple[str, Any]] = []
    monkeypatch.setattr(sess.shim.channel, "push", lambda op, payload: pushed.append((op, payload)))
    return pushed


@pytest.mark.parametrize("fmt", ["chunks", "dir"])
def test_save_reports_bytes_stored_up_to_the_total(sess: Any, monkeypatch: Any, tmp_path: Any, fmt: str) -> None:
    from nbferry_shim import blobs

    # 40 MiB in 8 MiB chunks, then a small group; an interval of 0 reports every chunk.
    sess.run("import numpy as np\nbig = np.arange(5 << 20, dtype=np.float64)\nsmall = [1, 2, 3]")
    monkeypatch.setattr(blobs._SaveProgress, "INTERVAL", 0.0)
    pushed = _pushes(sess, monkeypatch)
    where = {"chunks": str(tmp_path / "chunks"), "dir": str(tmp_path / "d")} if fmt == "chunks" else {"dir": str(tmp_path / "d")}
    saved = sess.call("save", groups=[["big"], ["small"]], progress=True, **where)[0]["blobs"]
    assert all(b["ok"] for b in saved)
    total = sum(b["bytes"] for b in saved)
    assert {op for op, _ in pushed} == {"progress"}
    done = [p["done"] for _, p in pushed]
    assert all(p["op"] == "save" and p["done"] <= p["total"] for _, p in pushed)
    # Chunks are stored by worker threads: several may complete between two reports.
    assert done == sorted(done) and 0 < done[0] < total and done[-1] == total
    assert len(done) >= (5 if fmt == "dir" else 2)


def test_save_without_progress_pushes_nothing(sess: Any, monkeypatch: Any, tmp_path: Any) -> None:
    sess.run("x = list(range(1000))")
    pushed = _pushes(sess, monkeypatch)
    saved = sess.call("save", chunks=str(tmp_path / "chunks"), dir=str(tmp_path / "d"), groups=[["x"]])[0]["blobs"]
    assert saved[0]["ok"] and pushed == []
