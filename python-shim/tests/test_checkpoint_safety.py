"""Checkpoint safety in the shim: a save never mixes states, a store failure is never taken for an
unserializable value, a blob is abandoned when its coordinator is gone, and modules of cells that
must not be rerun are saved by name."""

from __future__ import annotations

import errno
import os
import subprocess
from typing import Any


def _groups(m: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {tuple(g["names"]): g for g in m["groups"]}


def test_modules_are_left_to_a_rerun_only_when_their_cell_is_safe_to_rerun(sess: Any, tmp_path: Any) -> None:
    sess.run("import json")
    sess.run("import os\ntoken = os.urandom(4)")  # nondeterministic
    sess.run(f"import csv\nopen({str(tmp_path / 'x.txt')!r}, 'w').write('1')")  # side effect
    groups = _groups(sess.call("measure")[0])
    assert groups[("json",)]["serializable"] is False  # a rerun of `import json` also replays config
    assert groups[("os",)]["serializable"] is True
    assert groups[("csv",)]["serializable"] is True


def test_save_refuses_a_state_that_moved_since_measure(sess: Any, tmp_path: Any) -> None:
    sess.run("x = 1")
    m = sess.call("measure")[0]
    sess.run("x = 2\ny = 3")  # a user's cell between measure and save
    out = sess.call("save", dir=str(tmp_path), groups=[["x"]], seq=m["seq"])[0]
    assert out["blobs"] == [] and out["moved"] == {"expected": m["seq"], "seq": m["seq"] + 1}
    assert os.listdir(tmp_path) == []
    m2 = sess.call("measure")[0]
    out = sess.call("save", dir=str(tmp_path), groups=[["x"]], seq=m2["seq"])[0]
    assert out["blobs"][0]["ok"] is True and "moved" not in out
    assert sess.call("save_buffers", groups=[["x"]], seq=m["seq"])[0]["moved"]["seq"] == m2["seq"]


def test_a_write_failure_is_a_write_error_not_unserializable(sess: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from nbferry_shim import blobs

    sess.run("a = list(range(10))\nb = 'text'")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(blobs.os, "fsync", disk_full)
    out = sess.call("save", dir=str(tmp_path), groups=[["a"], ["b"]])[0]["blobs"]
    assert out[0]["ok"] is False and out[0]["error"]["kind"] == "write" and out[0]["error"]["errno"] == "ENOSPC"
    assert out[1]["ok"] is False and out[1]["error"]["kind"] == "write"  # not attempted
    assert os.listdir(tmp_path) == []  # the temporary file is gone


def test_a_blob_is_abandoned_when_its_coordinator_dies_while_it_is_written(sess: Any, tmp_path: Any,
                                                                          monkeypatch: Any) -> None:
    import socket

    from nbferry_shim import blobs

    sess.run("a = bytes(40 << 20)")  # five 8 MiB chunks
    coordinator = subprocess.Popen(["sleep", "30"])
    real_chunks = blobs.chunksum.chunks

    def dies_after_first_chunk(parts: Any) -> Any:
        for i, pieces in enumerate(real_chunks(parts)):
            yield pieces
            if i == 0:
                coordinator.kill()
                coordinator.wait()

    monkeypatch.setattr(blobs.chunksum, "chunks", dies_after_first_chunk)
    owner = {"pid": coordinator.pid, "host": socket.gethostname(), "startTicks": blobs._start_ticks(coordinator.pid)}
    out = sess.call("save", dir=str(tmp_path), groups=[["a"]], owner=owner)[0]["blobs"]
    assert out[0]["ok"] is False and out[0]["error"]["kind"] == "write" and "coordinator" in out[0]["error"]["message"]
    assert os.listdir(tmp_path) == []


def test_an_owner_this_kernel_cannot_see_never_stops_a_save(sess: Any, tmp_path: Any) -> None:
    import socket

    sess.run("a = bytes(20 << 20)")
    dead = subprocess.Popen(["true"])
    dead.wait()
    for owner in ({"pid": dead.pid, "host": socket.gethostname()},  # e.g. another pid namespace
                  {"pid": dead.pid, "host": "another-host"},
                  {"pid": os.getpid(), "host": socket.gethostname(), "startTicks": 1}):  # a pid reused since
        assert sess.call("save", dir=str(tmp_path), groups=[["a"]], owner=owner)[0]["blobs"][0]["ok"] is True, owner
