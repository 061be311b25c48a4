"""Chunked staging (stage_chunk / stage_drop / load {staged}), in-process with a fresh namespace."""

from __future__ import annotations

from typing import Any

CHUNK = 1 << 20


def _fresh(shell: Any) -> Any:
    import nbferry_shim
    from conftest import Session

    nbferry_shim.detach()
    shell.reset(new_session=False)
    return Session(shell, nbferry_shim.attach(shell))


def _saved(sess: Any, groups: list[list[str]]) -> list[tuple[dict[str, Any], bytes]]:
    """Each group's load spec (without a byte source) and its blob bytes, via save_buffers."""
    out, chunks = sess.call("save_buffers", groups=groups)
    result = []
    for blob in out["blobs"]:
        assert blob["ok"], blob
        first, count = blob["buffers"]
        data = b"".join(bytes(c) for c in chunks[first: first + count])
        spec = {k: v for k, v in blob.items() if k not in ("ok", "buffers", "seconds")}
        result.append((spec, data))
    return result


def _stage(sess: Any, key: str, data: bytes) -> None:
    for offset in range(0, len(data), CHUNK):
        piece = data[offset: offset + CHUNK]
        got = sess.call("stage_chunk", [piece], key=key, offset=offset, total=len(data))[0]
        assert got == {"key": key, "bytes": offset + len(piece)}


def test_staged_blob_loads_like_buffers(sess: Any, shell: Any) -> None:
    sess.run("import numpy as np\nbig = np.arange(700_000, dtype=np.float64)\nview = big[::7]\nsmall = {'k': [1, 2]}")
    (big_spec, big_data), (small_spec, small_data) = _saved(sess, [["big", "view"], ["small"]])
    assert len(big_data) > 3 * CHUNK
    s2 = _fresh(shell)
    _stage(s2, "g0", big_data)
    # One request mixes a staged blob and one sent in its own buffers.
    res = s2.call("load", [small_data], blobs=[{**big_spec, "staged": "g0"}, {**small_spec, "buffers": [0, 1]}])[0]
    assert [r["ok"] for r in res["results"]] == [True, True], res
    assert float(s2.ns["big"][-1]) == 699_999.0 and s2.ns["view"].base is s2.ns["big"]
    assert s2.ns["small"] == {"k": [1, 2]}
    assert s2.call("stage_drop")[0] == {"dropped": []}  # consumed by the load


def test_chunks_out_of_order_are_refused(sess: Any) -> None:
    sess.call("stage_chunk", [b"abc"], key="k", offset=0)
    assert "has 3 bytes staged, got a chunk for offset 5" in sess.call_err("stage_chunk", key="k", offset=5)
    assert "send the chunk at offset 0 first" in sess.call_err("stage_chunk", key="other", offset=3)
    assert "args.key" in sess.call_err("stage_chunk", offset=0)


def test_overlong_upload_is_dropped(sess: Any) -> None:
    from nbferry_shim import msgpack_codec

    args = msgpack_codec.packb({"key": "k", "offset": 0, "total": 2})
    data, _, _ = sess.shim.channel.handle({"op": "stage_chunk", "id": 1}, [memoryview(args), memoryview(b"abc")])
    assert not data["ok"] and "more than the announced total 2" in data["error"]
    assert sess.call("stage_drop", keys=["k"])[0] == {"dropped": []}


def test_missing_or_corrupt_staged_blob_fails_alone(sess: Any, shell: Any) -> None:
    sess.run("a = list(range(1000))\nb = 'bee'")
    (a_spec, a_data), (b_spec, b_data) = _saved(sess, [["a"], ["b"]])
    s2 = _fresh(shell)
    bad = bytearray(a_data)
    bad[len(bad) // 2] ^= 0xFF
    _stage(s2, "a", bytes(bad))
    _stage(s2, "b", b_data)
    res = s2.call("load", blobs=[{**a_spec, "staged": "a"}, {**b_spec, "staged": "nope"}, {**b_spec, "staged": "b"}])[0]
    r_a, r_missing, r_b = res["results"]
    assert r_a["ok"] is False and r_a["error"]["kind"] == "checksum"
    assert r_missing["ok"] is False and r_missing["error"] == {"kind": "io", "message": "nothing staged under 'nope'"}
    assert r_b["ok"] is True and s2.ns["b"] == "bee" and "a" not in s2.ns
    assert s2.call("stage_drop")[0] == {"dropped": []}


def test_stage_drop_forgets_uploads(sess: Any) -> None:
    sess.call("stage_chunk", [b"x" * 10], key="one", offset=0)
    sess.call("stage_chunk", [b"y" * 10], key="two", offset=0)
    assert sess.call("stage_drop", keys=["one", "zzz"])[0] == {"dropped": ["one"]}
    assert sess.call("stage_drop")[0] == {"dropped": ["two"]}
