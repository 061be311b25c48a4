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


def _stage_marked(sess: Any, key: str, data: bytes, sizes: list[int], piece: int = CHUNK) -> None:
    """Stages `data` as the coordinator does from an object store: `total` up front, each piece
    marked with whether it ends one of the chunks of `sizes`."""
    offset = 0
    for size in sizes:
        end = offset + size
        while offset < end:
            n = min(piece, end - offset)
            sess.call("stage_chunk", [data[offset: offset + n]], key=key, offset=offset, total=len(data),
                      chunkEnd=offset + n == end)
            offset += n


def test_marked_chunks_are_hashed_while_staged(sess: Any, shell: Any) -> None:
    from nbferry_shim import chunksum, staging

    sess.run("import numpy as np\nbig = np.arange(3_000_000, dtype=np.float64)")
    ((spec, data),) = _saved(sess, [["big"]])
    assert spec["checksum"].startswith(chunksum.SHA256_8M + ":")
    eight = chunksum.CHUNK
    sizes = [eight] * (len(data) // eight) + ([len(data) % eight] if len(data) % eight else [])
    assert len(sizes) >= 3
    s2 = _fresh(shell)
    _stage_marked(s2, "g", data, sizes, piece=3 * CHUNK)  # a chunk may come in several pieces
    staged = s2.shim.staging_area["g"]
    assert staged.error is None
    assert staged.sizes == sizes and staged.preallocated and staged.complete()
    assert staged.checksum(chunksum.SHA256_8M, None) == spec["checksum"]  # no pass over the bytes
    buffer = staged.data
    res = s2.call("load", blobs=[{**spec, "staged": "g"}])[0]
    assert res["results"][0]["ok"], res
    assert float(s2.ns["big"][-1]) == 2_999_999.0
    # Used in place: the array's memory is the staging buffer (no copy of the blob).
    assert np_owner(s2.ns["big"]) is buffer


def np_owner(array: Any) -> Any:
    base = array
    while getattr(base, "base", None) is not None:
        base = base.base
    return base.obj if isinstance(base, memoryview) else base


def test_marked_chunks_other_boundaries_or_damage(sess: Any, shell: Any) -> None:
    from nbferry_shim import chunksum

    sess.run("payload = bytes(range(256)) * 40_000")
    ((spec, data),) = _saved(sess, [["payload"]])
    s2 = _fresh(shell)
    # Marks at other boundaries than the checksum's: hashed again at load, still loads.
    _stage_marked(s2, "odd", data, [len(data) // 3, len(data) - len(data) // 3])
    assert s2.shim.staging_area["odd"].checksum(chunksum.SHA256_8M, None) is None
    assert s2.call("load", blobs=[{**spec, "staged": "odd"}])[0]["results"][0]["ok"]
    # A byte changed on the way: the digests taken while staging do not add up to the checksum.
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF
    _stage_marked(s2, "bad", bytes(bad), [len(data)])
    r = s2.call("load", blobs=[{**spec, "staged": "bad"}])[0]["results"][0]
    assert r["ok"] is False and r["error"]["kind"] == "checksum"
    # Fewer bytes than the announced total: refused, not loaded short.
    s2.call("stage_chunk", [data[:100]], key="short", offset=0, total=len(data), chunkEnd=False)
    r = s2.call("load", blobs=[{**spec, "staged": "short"}])[0]["results"][0]
    assert r["ok"] is False and "100 of" in r["error"]["message"]
    # A request cannot name a staged source itself.
    r = s2.call("load", blobs=[{**spec, "stagedSource": "x", "buffers": [0, 0]}])[0]["results"][0]
    assert r["ok"] is False and r["error"]["kind"] == "format"


def test_a_chunk_not_matching_its_name_is_refused(sess: Any) -> None:
    import hashlib

    from nbferry_shim import msgpack_codec

    good, other = b"a" * 1000, b"b" * 1000
    name = hashlib.sha256(good).hexdigest()
    got = sess.call("stage_chunk", [good], key="k", offset=0, total=3000, chunkEnd=True, digest=name)[0]
    assert got == {"key": "k", "bytes": 1000}

    def stage(offset: int, piece: bytes) -> dict[str, Any]:
        args = msgpack_codec.packb({"key": "k", "offset": offset, "total": 3000, "chunkEnd": True, "digest": name})
        return sess.shim.channel.handle({"op": "stage_chunk", "id": 1}, [memoryview(args), memoryview(piece)])[0]

    refused = stage(1000, other)
    assert not refused["ok"] and "does not match its name" in refused["error"] and name in refused["error"]
    assert sess.call("stage_drop", keys=["k"])[0] == {"dropped": []}  # dropped with the refusal


def test_a_damaged_chunk_never_loads(sess: Any, shell: Any) -> None:
    import hashlib

    sess.run("payload = bytes(range(256)) * 4_000")
    ((spec, data),) = _saved(sess, [["payload"]])
    s2 = _fresh(shell)
    bad = bytearray(data)
    bad[-20] ^= 0xFF
    from nbferry_shim import msgpack_codec

    args = msgpack_codec.packb({"key": "p", "offset": 0, "total": len(data), "chunkEnd": True, "digest": hashlib.sha256(data).hexdigest()})
    reply = s2.shim.channel.handle({"op": "stage_chunk", "id": 1}, [memoryview(args), memoryview(bytes(bad))])[0]
    assert not reply["ok"] and "does not match its name" in reply["error"]
    r = s2.call("load", blobs=[{**spec, "staged": "p"}])[0]["results"][0]
    assert r["ok"] is False and "nothing staged" in r["error"]["message"]
