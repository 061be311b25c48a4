from __future__ import annotations

import math

import pytest

from nbferry_shim import msgpack_codec as mp


@pytest.mark.parametrize("value,encoded", [
    (0, b"\x00"), (127, b"\x7f"), (-1, b"\xff"), (-32, b"\xe0"), (128, b"\xcc\x80"), (-33, b"\xd0\xdf"),
    (65535, b"\xcd\xff\xff"), (65536, b"\xce\x00\x01\x00\x00"), (2**32, b"\xcf" + (2**32).to_bytes(8, "big")),
    (-(2**31), b"\xd2\x80\x00\x00\x00"), (-(2**31) - 1, b"\xd3" + (-(2**31) - 1).to_bytes(8, "big", signed=True)),
    (None, b"\xc0"), (True, b"\xc3"), (False, b"\xc2"), ("a", b"\xa1a"), (b"\x01", b"\xc4\x01\x01"),
])
def test_smallest_widths(value: object, encoded: bytes) -> None:
    assert mp._py_packb(value) == encoded
    assert mp._py_unpackb(encoded) == value


def test_roundtrip_nested() -> None:
    v = {"op": "x", "n": [1, -5, 2**40, 1.5, "é" * 40, b"\x00" * 70000, {"k": None}], "t": True, "big": "x" * 70000}
    out = mp._py_unpackb(mp._py_packb(v))
    assert out == v
    assert mp.unpackb(mp.packb(v)) == v
    assert math.isnan(mp._py_unpackb(mp._py_packb(float("nan"))))


def test_rejects_unknown_types_and_garbage() -> None:
    with pytest.raises(TypeError):
        mp._py_packb(object())
    with pytest.raises(ValueError):
        mp._py_unpackb(b"\xc1")
    with pytest.raises(ValueError):
        mp._py_unpackb(b"\x92\x01")  # truncated array
