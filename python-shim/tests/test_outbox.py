"""save_open / save_read / save_close: a blob pulled chunk by chunk, in-process."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

CHUNK = 8 << 20


def test_chunks_are_the_blob_named_by_their_sha256(sess: Any) -> None:
    sess.run("import numpy as np\nbig = np.arange(3_000_000, dtype=np.float64)")
    opened = sess.call("save_open", groups=[["big"]])[0]
    assert opened["ok"], opened
    assert len(opened["chunks"]) == -(-opened["bytes"] // CHUNK) == len(opened["sizes"])
    assert sum(opened["sizes"]) == opened["bytes"]
    pieces = []
    for i, digest in enumerate(opened["chunks"]):
        result, bufs = sess.call("save_read", key=opened["key"], index=i)
        data = b"".join(bytes(b) for b in bufs)
        assert result == {"index": i} and len(data) == opened["sizes"][i]
        assert hashlib.sha256(data).hexdigest() == digest
        pieces.append(data)
    # The same bytes and checksum as save_buffers gives for the group.
    out, chunks = sess.call("save_buffers", groups=[["big"]])
    first, count = out["blobs"][0]["buffers"]
    assert b"".join(pieces) == b"".join(bytes(c) for c in chunks[first: first + count])
    assert opened["checksum"] == out["blobs"][0]["checksum"]
    assert sess.call("save_close", keys=[opened["key"]])[0] == {"closed": [opened["key"]]}
    with pytest.raises(Exception, match="nothing open"):
        sess.call("save_read", key=opened["key"], index=0)


def test_a_moved_state_or_an_unserializable_group_is_reported(sess: Any) -> None:
    sess.run("x = 1")
    seq = sess.call("history")[0]["lastSeq"]
    sess.run("x = 2")
    moved = sess.call("save_open", groups=[["x"]], seq=seq)[0]
    assert moved["moved"]["expected"] == seq
    sess.run("gen = (i for i in range(3))")
    bad = sess.call("save_open", groups=[["gen"]])[0]
    assert bad["ok"] is False and bad["error"]["message"]
