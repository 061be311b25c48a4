"""Chunk boundaries by content (store format 3, cutpoints.py): the same cuts with and without
numpy, cuts that survive an insertion before them, and big buffers chunked on their own."""

from __future__ import annotations

import hashlib
import sys

import pytest

MiB = 1 << 20


def _data(n: int, seed: int) -> bytes:
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def _without_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)  # type: ignore[arg-type]
    # sys.modules.get("numpy") is then None: the stdlib version runs


@pytest.mark.parametrize("data", [
    _data(5 * MiB + 77, 1),
    bytes(3 * MiB) + _data(2 * MiB, 2),  # a run of zeros has no boundary: cut at MAX or the end
    (b"abc" * (2 * MiB)),  # periodic
])
def test_numpy_and_stdlib_cut_at_the_same_places(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("numpy")
    from nbferry_shim import cutpoints

    with_numpy = cutpoints.boundaries(data)
    _without_numpy(monkeypatch)
    assert cutpoints.boundaries(data) == with_numpy
    assert with_numpy[-1] == len(data)
    sizes = [b - a for a, b in zip([0, *with_numpy], with_numpy)]
    assert all(cutpoints.MIN < s <= cutpoints.MAX for s in sizes[:-1]) and 0 < sizes[-1] <= cutpoints.MAX


def test_an_insertion_moves_only_the_boundaries_near_it() -> None:
    from nbferry_shim import cutpoints

    data = _data(20 * MiB, 3)
    changed = data[: 1 * MiB] + b"inserted bytes" * 100 + data[1 * MiB :]

    def chunks(d: bytes) -> set[bytes]:
        ends = cutpoints.boundaries(d)
        return {d[a:b] for a, b in zip([0, *ends], ends)}

    before, after = chunks(data), chunks(changed)
    new = [c for c in after if c not in before]
    assert len(before) >= 8
    assert sum(len(c) for c in new) < 4 * MiB  # of 20 MiB: the chunk holding the insertion, maybe its neighbour


def test_a_big_buffer_keeps_its_chunks_whatever_changed_before_it() -> None:
    from nbferry_shim import cutpoints

    buffer = memoryview(_data(17 * MiB, 4))
    small = memoryview(_data(1000, 5))

    def chunk_bytes(head: bytes) -> list[bytes]:
        parts = [memoryview(head), small, buffer, memoryview(b"footer")]
        out = [b"".join(bytes(p) for p in pieces) for pieces in cutpoints.cut(parts, [False, True, True, False])]
        assert b"".join(out) == b"".join(bytes(p) for p in parts)
        return out

    a = chunk_bytes(b"pickle stream")
    b = chunk_bytes(b"a longer pickle stream, 10 bytes more")
    assert [len(c) for c in a[1:4]] == [8 * MiB, 8 * MiB, 1 * MiB]  # the buffer's own chunks, from its start
    assert a[1:4] == b[1:4]
    assert a[0] != b[0]  # the small head (stream + the 1000-byte buffer, below OWN_MIN) changed


def test_sized_and_sum_sized(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nbferry_shim import blobs, cas, chunksum, cutpoints

    data = _data(3 * MiB + 5, 6)
    parts = [memoryview(data[:100]), memoryview(data[100:])]
    checksum, digests, sizes, new = cas.write_cut(str(tmp_path), cutpoints.cut(parts, [False, True]), False,
                                                  lambda: True, RuntimeError)
    assert sizes == [100, 3 * MiB - 95] and new == len(data) and checksum.startswith("sha256-chunks:")
    assert chunksum.sum_sized([memoryview(data)], sizes) == checksum
    raw, got = cas.read_chunks(str(tmp_path), digests, len(data), sizes=sizes)
    assert bytes(raw) == data and got == checksum
    with pytest.raises(ValueError):
        chunksum.sum_sized([memoryview(data)], [100, 5])
    with pytest.raises(blobs._LoadError, match="100 bytes, the manifest says 101"):  # refused unread
        cas.read_chunks(str(tmp_path), digests, len(data), sizes=[101, 3 * MiB - 96])
    with pytest.raises(cas.ChunkError, match="chunk sizes do not fit"):
        cas.read_chunks(str(tmp_path), digests, len(data), sizes=[100, 3 * MiB - 96])


def test_text_columns_are_pickled_out_of_band_by_content() -> None:
    np = pytest.importorskip("numpy")
    from nbferry_shim import serialize

    rng = np.random.default_rng(7)
    words = np.array(["alpha", "beta", "gamma", "δέλτα", ""], dtype=object)
    col = words[rng.integers(0, 5, 20_000)]
    col[::7] = None
    col[3::11] = float("nan")
    block = np.stack([col, col[::-1]]).T  # F-contiguous, as pandas' 2D blocks often are
    for values in ({"c": col}, {"b": block}):
        data, bufs = serialize.to_bytes(values, None)
        assert len(data) < 2000 and sum(b.raw().nbytes for b in bufs) >= 20_000  # the text (5 words, u8 codes) is out of band
        back = serialize.loads_group(data, [b.raw() for b in bufs])
        (name, original), = values.items()
        got = back[name]
        assert got.dtype == object and got.shape == original.shape and got.flags.f_contiguous == original.flags.f_contiguous
        same = [(a == b) or (a is None and b is None) or (isinstance(a, float) and a != a and b != b)
                for a, b in zip(original.ravel().tolist(), got.ravel().tolist())]
        assert all(same)
    # The column's buffer does not depend on what was pickled before it in the group.
    _, alone = serialize.to_bytes({"c": col}, None)
    _, after = serialize.to_bytes({"x": ["something", "else", "alpha"] * 100, "c": col}, None)
    assert [bytes(b.raw()) for b in alone] == [bytes(b.raw()) for b in after[-len(alone):]]


@pytest.mark.parametrize("odd", [1, "a\x00b", "\x01", b"bytes"])
def test_other_object_arrays_keep_the_usual_pickling(odd: object) -> None:
    np = pytest.importorskip("numpy")
    from nbferry_shim import serialize

    arr = np.array(["x"] * 5000 + [odd], dtype=object)
    data, bufs = serialize.to_bytes({"a": arr}, None)
    assert not bufs
    back = serialize.loads_group(data, [])["a"]
    assert back.tolist() == arr.tolist()


@pytest.mark.parametrize("pandas", [True, False])
def test_repeated_text_is_stored_once_with_codes(pandas: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    np = pytest.importorskip("numpy")
    from nbferry_shim import serialize

    if pandas:
        pytest.importorskip("pandas")
    else:
        monkeypatch.setitem(sys.modules, "pandas", None)  # type: ignore[arg-type]
    col = np.array([f"country {i % 300}" for i in range(50_000)], dtype=object)
    col[5] = None
    data, bufs = serialize.to_bytes({"c": col}, None)
    sizes = sorted(b.raw().nbytes for b in bufs)
    assert sizes[-1] == 2 * 50_000  # u16 codes; the 301 distinct strings are a few KB
    back = serialize.loads_group(data, [b.raw() for b in bufs])["c"]
    assert back.tolist() == col.tolist()
    assert back[0] is back[300]  # one object per distinct value


@pytest.mark.parametrize("pandas", [True, False])
def test_distinct_text_with_missing_values_round_trips(pandas: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    np = pytest.importorskip("numpy")
    from nbferry_shim import serialize

    if pandas:
        pytest.importorskip("pandas")
    else:
        monkeypatch.setitem(sys.modules, "pandas", None)  # type: ignore[arg-type]
    col = np.array([f"id {i} ☃" for i in range(10_000)], dtype=object)
    col[::3] = None
    col[1::5] = float("nan")
    data, bufs = serialize.to_bytes({"c": col}, None)
    assert len(bufs) == 1 and len(data) < 1000  # all text, one buffer: mostly distinct values are not coded
    back = serialize.loads_group(data, [b.raw() for b in bufs])["c"]
    for a, b in zip(col.tolist(), back.tolist()):
        assert a == b or (a is None and b is None) or (a != a and b != b)
