"""Content-addressed chunks (store format 2, cas.py): each 8 MiB chunk stored once under its
SHA-256, never partially visible under that name, and checked against its name when read."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

MiB = 1 << 20


def _data(n: int, seed: int) -> bytes:
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])


def _files(root: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in root.rglob("*") if p.is_file()}


def test_writes_each_chunk_once_and_reads_it_back(tmp_path: Path) -> None:
    from nbferry_shim import cas, chunksum

    data = _data(20 * MiB + 123, 1)
    checksum, digests, new = cas.write_parts(str(tmp_path), [memoryview(data)], True, lambda: True, RuntimeError)
    assert checksum == chunksum.checksum_bytes(data)
    assert digests == [hashlib.sha256(data[i: i + 8 * MiB]).hexdigest() for i in range(0, len(data), 8 * MiB)]
    assert new == len(data)
    assert _files(tmp_path) == {d: min(8 * MiB, len(data) - i * 8 * MiB) for i, d in enumerate(digests)}
    # Again, and with one byte changed in the middle chunk: only that chunk is written.
    _, again, new_again = cas.write_parts(str(tmp_path), [memoryview(data)], True, lambda: True, RuntimeError)
    assert (again, new_again) == (digests, 0)
    changed = bytearray(data)
    changed[9 * MiB] ^= 1
    _, digests2, new2 = cas.write_parts(str(tmp_path), [memoryview(changed)], True, lambda: True, RuntimeError)
    assert new2 == 8 * MiB and digests2[0] == digests[0] and digests2[2] == digests[2] and digests2[1] != digests[1]
    raw, got = cas.read_chunks(str(tmp_path), digests2, len(changed))
    assert bytes(raw) == bytes(changed) and got == chunksum.checksum_bytes(changed)


def test_a_damaged_or_missing_chunk_is_refused(tmp_path: Path) -> None:
    from nbferry_shim import cas

    data = _data(9 * MiB, 2)
    _, digests, _ = cas.write_parts(str(tmp_path), [memoryview(data)], False, lambda: True, RuntimeError)
    path = Path(cas.chunk_path(str(tmp_path), digests[1]))
    raw = bytearray(path.read_bytes())
    raw[5] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(cas.ChunkError, match="does not match its name"):
        cas.read_chunks(str(tmp_path), digests, len(data))
    path.unlink()
    with pytest.raises(FileNotFoundError):
        cas.read_chunks(str(tmp_path), digests, len(data))
    with pytest.raises(cas.ChunkError):
        cas.read_chunks(str(tmp_path), ["../../etc/passwd"], 10)


def test_abandons_when_the_coordinator_is_gone_and_leaves_no_partial_chunk(tmp_path: Path) -> None:
    from nbferry_shim import cas

    calls = iter([True, False])

    class Gone(Exception):
        pass

    data = _data(17 * MiB, 3)
    with pytest.raises(Gone):
        cas.write_parts(str(tmp_path), [memoryview(data)], True, lambda: next(calls), Gone)
    for name, size in _files(tmp_path).items():
        assert not name.startswith(".tmp-")
        assert size == 8 * MiB  # only whole chunks under their names


def test_save_and_load_through_the_shim_ops(sess, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chunks = tmp_path / "chunks"
    sess.run("import numpy as np\nxs = np.arange(3_000_000, dtype=np.float64)\nys = [1, 2, 3]")
    blobs = sess.call("save", dir=str(tmp_path / "unused"), chunks=str(chunks), groups=[["xs"], ["ys"]])[0]["blobs"]
    assert all(b["ok"] for b in blobs)
    assert blobs[0]["bytes"] > 24e6 and blobs[0]["newBytes"] == blobs[0]["bytes"]
    # Format 3: the array's buffer has chunks of its own (8 MiB from its start), between the pickle's head and the footer.
    assert blobs[0]["checksum"].startswith("sha256-chunks:") and sum(blobs[0]["chunkBytes"]) == blobs[0]["bytes"]
    assert blobs[0]["chunkBytes"][1:4] == [8 * MiB, 8 * MiB, 24_000_000 - 16 * MiB] and len(blobs[0]["chunks"]) == 5
    assert not (tmp_path / "unused").exists() or not os.listdir(tmp_path / "unused")
    sess.run("del xs, ys")
    specs = [{"chunks": b["chunks"], "chunkBytes": b["chunkBytes"], "bytes": b["bytes"], "checksum": b["checksum"],
              "names": b["names"]} for b in blobs]
    loaded = sess.call("load", chunksDir=str(chunks), blobs=specs)[0]["results"]
    assert [r["ok"] for r in loaded] == [True, True]
    assert sess.ns["ys"] == [1, 2, 3] and float(sess.ns["xs"][-1]) == 2_999_999.0
    # A chunk list that does not add up to the checksum is refused before unpickling.
    bad = dict(specs[1], checksum="sha256-chunks:" + "0" * 64)
    res = sess.call("load", chunksDir=str(chunks), blobs=[bad])[0]["results"][0]
    assert not res["ok"] and res["error"]["kind"] == "checksum"


def test_a_large_loaded_array_is_private_writable_memory(sess, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A blob of 8 MiB or more is read into fresh anonymous pages (fresh_buffer.py), not a bytearray:
    the arrays built on them must behave as before: writable, kept alive by the arrays alone, and
    private to this process (a forked child's writes never show in the parent)."""
    from nbferry_shim import fresh_buffer

    chunks = tmp_path / "chunks"
    sess.run("import numpy as np\nbig = np.arange(4_000_000, dtype=np.float64)")
    blob = sess.call("save", dir=str(tmp_path / "unused"), chunks=str(chunks), groups=[["big"]])[0]["blobs"][0]
    assert blob["bytes"] >= fresh_buffer.MMAP_MIN_BYTES
    sess.run("del big")
    spec = {k: blob[k] for k in ("chunks", "chunkBytes", "bytes", "checksum", "names")}
    assert sess.call("load", chunksDir=str(chunks), blobs=[spec])[0]["results"][0]["ok"]
    sess.run(
        "import gc, mmap, os\n"
        "gc.collect()\n"
        "assert big.flags.writeable and float(big[-1]) == 3_999_999.0\n"
        "assert any(isinstance(b, mmap.mmap) for b in (getattr(big.base, 'obj', None), big.base))\n"
        "big[0] = -5.0\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    big[1] = 123.0\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "forked_write_seen = float(big[1]) == 123.0"
    )
    assert float(sess.ns["big"][0]) == -5.0
    assert sess.ns["forked_write_seen"] is False
