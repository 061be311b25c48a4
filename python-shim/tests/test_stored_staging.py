"""A big blob streamed out of a local store while it is saved: `save` with `streamChunksOver` pushes
`saved_chunks` as each chunk is stored, `stage_stored_chunks` reads those chunks into a staged
buffer (checking each against its name) and `load {staged}` checks the blob from their digests."""

from __future__ import annotations

import os
from typing import Any

from test_staging import _fresh


def _save_streamed(sess: Any, monkeypatch: Any, root: str, groups: list[list[str]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pushed: list[tuple[str, Any]] = []
    monkeypatch.setattr(sess.shim.channel, "push", lambda op, payload: pushed.append((op, payload)))
    blobs = sess.call("save", chunks=root, dir=root, groups=groups, streamChunksOver=16 << 20)[0]["blobs"]
    assert all(b["ok"] for b in blobs), blobs
    return blobs, [p for op, p in pushed if op == "saved_chunks"]


def test_big_blob_is_pushed_chunk_by_chunk_and_loads_from_stage(sess: Any, shell: Any, monkeypatch: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np\nbig = np.random.default_rng(7).random(5 << 20)\nsmall = [1, 2, 3]")
    root = str(tmp_path / "chunks")
    (big, small), pushes = _save_streamed(sess, monkeypatch, root, [["big"], ["small"]])
    # Only the group of at least 16 MiB streams; its pushes cover its chunks in order, with no gap.
    assert pushes and all(p["names"] == ["big"] and p["bytes"] == big["bytes"] for p in pushes)
    assert [p["offset"] for p in pushes] == [sum(sum(q["chunkBytes"]) for q in pushes[:i]) for i in range(len(pushes))]
    assert [d for p in pushes for d in p["chunks"]] == big["chunks"]
    assert [n for p in pushes for n in p["chunkBytes"]] == big["chunkBytes"]
    want = float(sess.ns["big"].sum())
    s2 = _fresh(shell)
    for p in pushes:  # staged as the pushes come
        got = s2.call("stage_stored_chunks", key="g", chunksDir=root, bytes=p["bytes"], offset=p["offset"],
                      chunks=p["chunks"], chunkBytes=p["chunkBytes"])[0]
        assert got == {"key": "g", "bytes": p["offset"] + sum(p["chunkBytes"])}
    spec = {k: big[k] for k in ("bytes", "checksum", "chunkBytes")}
    res = s2.call("load", blobs=[{**spec, "names": ["big"], "staged": "g"}])[0]["results"]
    assert res[0]["ok"], res
    assert float(s2.ns["big"].sum()) == want


def test_a_chunk_that_is_not_its_name_is_refused_and_dropped(sess: Any, shell: Any, monkeypatch: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np\nbig = np.random.default_rng(8).random(3 << 20)")
    root = str(tmp_path / "chunks")
    (big,), pushes = _save_streamed(sess, monkeypatch, root, [["big"]])
    victim = os.path.join(root, big["chunks"][1][:2], big["chunks"][1])
    with open(victim, "r+b") as f:  # same size, one byte changed: only its hash tells
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 1]))
    s2 = _fresh(shell)
    got = s2.call("stage_stored_chunks", key="g", chunksDir=root, bytes=big["bytes"], offset=0,
                  chunks=big["chunks"], chunkBytes=big["chunkBytes"])[0]
    assert got["error"]["kind"] == "checksum" and big["chunks"][1] in got["error"]["message"], got
    assert s2.call("stage_drop")[0] == {"dropped": []}  # nothing left staged


def test_a_staged_chunk_list_the_checksum_does_not_commit_to_fails_the_load(sess: Any, shell: Any, monkeypatch: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np\na = np.random.default_rng(1).random(3 << 20)\nb = np.random.default_rng(2).random(3 << 20)")
    root = str(tmp_path / "chunks")
    (a, b), _ = _save_streamed(sess, monkeypatch, root, [["a"], ["b"]])
    s2 = _fresh(shell)
    # Every chunk is intact (b's), but they are not the blob a's checksum names.
    s2.call("stage_stored_chunks", key="g", chunksDir=root, bytes=b["bytes"], offset=0, chunks=b["chunks"], chunkBytes=b["chunkBytes"])
    res = s2.call("load", blobs=[{"bytes": b["bytes"], "checksum": a["checksum"], "chunkBytes": b["chunkBytes"], "names": ["a"], "staged": "g"}])[0]
    assert res["results"][0]["error"]["kind"] == "checksum", res
    assert "a" not in s2.ns


def test_chunks_out_of_order_and_bad_args_are_refused(sess: Any, tmp_path: Any) -> None:
    digest = "0" * 64
    base = {"key": "k", "chunksDir": str(tmp_path), "bytes": 10, "chunks": [digest], "chunkBytes": [4]}
    assert "send the chunks at offset 0 first" in sess.call_err("stage_stored_chunks", **base, offset=4)
    assert "args.chunks" in sess.call_err("stage_stored_chunks", **{**base, "chunkBytes": []}, offset=0)
    assert "more than the announced" in sess.call_err("stage_stored_chunks", **{**base, "chunkBytes": [11]}, offset=0)
    missing = sess.call("stage_stored_chunks", **base, offset=0)[0]
    assert missing["error"]["kind"] == "io", missing
