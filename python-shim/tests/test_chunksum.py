"""Blob checksums: `sha256-8m` (SHA-256 per 8 MiB chunk, SHA-256 over the chunk digests; what save
writes), legacy `crc32-8m` (CRC-32 per chunk, SHA-256 over the big-endian CRCs) and the legacy
`sha256` field on load."""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any

MiB = 1 << 20


def _independent(data: bytes) -> str:
    digests = [hashlib.sha256(data[i: i + 8 * MiB]).digest() for i in range(0, len(data), 8 * MiB)]
    return "sha256-8m:" + hashlib.sha256(b"".join(digests)).hexdigest()


def _independent_crc(data: bytes) -> str:
    crcs = [zlib.crc32(data[i: i + 8 * MiB]) for i in range(0, len(data), 8 * MiB)]
    return "crc32-8m:" + hashlib.sha256(b"".join(struct.pack(">I", c) for c in crcs)).hexdigest()


def _pattern(n: int) -> bytes:
    return bytes((i * 7 + (i >> 13)) & 0xFF for i in range(256)) * (n // 256) + b"\x5a" * (n % 256)


def test_checksum_of_known_bytes_matches_independent_computation() -> None:
    from nbferry_shim.chunksum import checksum_bytes, sum_parts

    # One chunk: the single CRC-32 of b"hello" is 0x3610a686, so SHA-256 over those 4 bytes.
    assert checksum_bytes(b"hello", "crc32-8m") == "crc32-8m:" + hashlib.sha256(bytes.fromhex("3610a686")).hexdigest()
    assert checksum_bytes(b"hello") == "sha256-8m:" + hashlib.sha256(hashlib.sha256(b"hello").digest()).hexdigest()
    assert checksum_bytes(b"") == "sha256-8m:" + hashlib.sha256(b"").hexdigest()
    for n in (8 * MiB, 8 * MiB + 1, 20 * MiB + 123):
        data = _pattern(n)
        assert checksum_bytes(data) == _independent(data), n
        assert checksum_bytes(data, "crc32-8m") == _independent_crc(data), n
        # Segments that straddle chunk boundaries give the same sum as the whole buffer.
        cuts = [0, 5, 3 * MiB, 8 * MiB - 1, 8 * MiB + 7, 17 * MiB, n]
        cuts = sorted({min(c, n) for c in cuts})
        parts = [memoryview(data)[a:b] for a, b in zip(cuts, cuts[1:])]
        assert sum_parts(parts) == _independent(data), n
        assert sum_parts(parts, "crc32-8m") == _independent_crc(data), n
        assert sum_parts(parts, "sha256") == "sha256:" + hashlib.sha256(data).hexdigest()


def test_multi_chunk_blob_round_trips_through_file_and_buffers(sess: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np\nbig = np.arange(3_000_000, dtype=np.float64)\nsmall = 'x' * 100")  # ~23 MiB
    out = sess.call("save", dir=str(tmp_path), groups=[["big"], ["small"]])[0]
    assert out["checksum"] == "sha256-8m"
    b0, b1 = out["blobs"]
    assert b0["ok"] and b0["bytes"] > 16 * MiB and "sha256" not in b0
    data = (tmp_path / b0["file"]).read_bytes()
    assert b0["checksum"] == _independent(data) and b0["checksum"][len("sha256-8m:"):][:12] in b0["file"]
    assert b1["checksum"] == _independent((tmp_path / b1["file"]).read_bytes())

    bout, chunks = sess.call("save_buffers", groups=[["big"]])
    assert bout["blobs"][0]["checksum"] == b0["checksum"]

    sess.run("del big, small")
    res = sess.call("load", dir=str(tmp_path), blobs=[{"file": b["file"], "checksum": b["checksum"], "bytes": b["bytes"]}
                                                      for b in (b0, b1)])[0]["results"]
    assert [r["ok"] for r in res] == [True, True], res
    assert float(sess.ns["big"][-1]) == 2_999_999.0 and sess.ns["small"] == "x" * 100

    sess.run("del big")
    spec = {"buffers": bout["blobs"][0]["buffers"], "checksum": bout["blobs"][0]["checksum"]}
    res = sess.call("load", blobs=[spec], _buffers=[bytes(c) for c in chunks])[0]["results"]
    assert res[0]["ok"], res
    assert float(sess.ns["big"][-1]) == 2_999_999.0


def test_flipped_byte_in_a_later_chunk_is_a_checksum_error(sess: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np\nbig = np.arange(3_000_000, dtype=np.float64)")
    saved = sess.call("save", dir=str(tmp_path), groups=[["big"]])[0]["blobs"][0]
    path = tmp_path / saved["file"]
    raw = bytearray(path.read_bytes())
    raw[9 * MiB + 3] ^= 0x01  # inside array data, second chunk: unpickling alone would not notice
    path.write_bytes(bytes(raw))
    sess.run("big = 'sentinel'")
    res = sess.call("load", dir=str(tmp_path), blobs=[{"file": saved["file"], "checksum": saved["checksum"]}])[0]
    err = res["results"][0]["error"]
    assert res["results"][0]["ok"] is False and err["kind"] == "checksum" and "sha256-8m mismatch" in err["message"]
    assert sess.ns["big"] == "sentinel"


def test_legacy_sha256_field_and_sha256_checksum_still_load(sess: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np\nbig = np.arange(2_000_000, dtype=np.float64)\nsmall = [1, 2, 3]")
    saved = sess.call("save", dir=str(tmp_path), groups=[["big"], ["small"]])[0]["blobs"]
    sha = {b["file"]: hashlib.sha256((tmp_path / b["file"]).read_bytes()).hexdigest() for b in saved}
    sess.run("del big, small")
    legacy = [{"file": f, "sha256": h} for f, h in sha.items()]
    res = sess.call("load", dir=str(tmp_path), blobs=legacy)[0]["results"]
    assert [r["ok"] for r in res] == [True, True], res
    assert float(sess.ns["big"][-1]) == 1_999_999.0 and sess.ns["small"] == [1, 2, 3]

    prefixed = [{"file": f, "checksum": f"sha256:{h}"} for f, h in sha.items()]
    res = sess.call("load", dir=str(tmp_path), blobs=prefixed)[0]["results"]
    assert [r["ok"] for r in res] == [True, True], res

    sess.run("small = 'kept'")
    f = saved[1]["file"]
    bad = [{"file": f, "sha256": "0" * 64}, {"file": f, "checksum": "md4:abcd"}, {"file": f}]
    res = sess.call("load", dir=str(tmp_path), blobs=bad)[0]["results"]
    assert [r["error"]["kind"] for r in res] == ["checksum"] * 3, res
    assert "sha256 mismatch" in res[0]["error"]["message"] and "unknown checksum algorithm" in res[1]["error"]["message"]
    assert sess.ns["small"] == "kept"


def test_legacy_crc32_8m_checksum_still_loads(sess: Any, tmp_path: Any) -> None:
    sess.run("small = [1, 2, 3]")
    saved = sess.call("save", dir=str(tmp_path), groups=[["small"]])[0]["blobs"][0]
    crc = _independent_crc((tmp_path / saved["file"]).read_bytes())
    sess.run("del small")
    res = sess.call("load", dir=str(tmp_path), blobs=[{"file": saved["file"], "checksum": crc}])[0]["results"]
    assert res[0]["ok"], res
    assert sess.ns["small"] == [1, 2, 3]


def test_fifo_symlink_and_oversized_blob_files_are_refused_before_reading(sess: Any, tmp_path: Any) -> None:
    import os

    sess.run("small = [1, 2, 3]")
    saved = sess.call("save", dir=str(tmp_path), groups=[["small"]])[0]["blobs"][0]
    good = tmp_path / saved["file"]
    os.mkfifo(tmp_path / "fifo.nbf")  # opening it for reading without O_NONBLOCK would block forever
    (tmp_path / "link.nbf").symlink_to(good)
    with open(tmp_path / "sparse.nbf", "wb") as f:
        f.truncate(100 << 30)  # 100 GiB, sparse: allocating it would fail the whole load
    sess.run("small = 'kept'")
    specs = [{"file": name, "checksum": saved["checksum"], "bytes": saved["bytes"]} for name in ("fifo.nbf", "link.nbf", "sparse.nbf")]
    res = sess.call("load", dir=str(tmp_path), blobs=specs)[0]["results"]
    assert [r["ok"] for r in res] == [False, False, False], res
    assert "not a regular file" in res[0]["error"]["message"]
    assert "symbolic link" in res[1]["error"]["message"]
    assert "the manifest says" in res[2]["error"]["message"]
    assert sess.ns["small"] == "kept"
    # A name that is not a plain file name inside `dir` is refused before any path is opened.
    escape = [{"file": f"../{tmp_path.name}/{saved['file']}", "checksum": saved["checksum"], "bytes": saved["bytes"]}]
    res = sess.call("load", dir=str(tmp_path), blobs=escape)[0]["results"]
    assert res[0]["ok"] is False and "not a plain name" in res[0]["error"]["message"], res
    assert sess.ns["small"] == "kept"
