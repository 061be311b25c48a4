"""msgpack encode/decode: the `msgpack` package when importable, else a small pure-Python codec.

Both emit the smallest integer width (the TS decoder turns int64 into bigint otherwise).
Supported: None, bool, int (-2**63 .. 2**64-1), float (float64), str, bytes/bytearray/memoryview
(bin), list/tuple (array), dict (map). Anything else raises TypeError.
"""

from __future__ import annotations

import struct
from typing import Any, Callable

__all__ = ["packb", "unpackb", "backend"]

_pack_impl: Callable[[Any], bytes]
_unpack_impl: Callable[[bytes], Any]


def _py_packb(obj: Any) -> bytes:
    out: list[bytes] = []
    _encode(obj, out.append)
    return b"".join(out)


def _encode(o: Any, w: Callable[[bytes], Any]) -> None:
    if o is None:
        w(b"\xc0")
    elif o is True:
        w(b"\xc3")
    elif o is False:
        w(b"\xc2")
    elif isinstance(o, int):
        _encode_int(o, w)
    elif isinstance(o, float):
        w(b"\xcb" + struct.pack(">d", o))
    elif isinstance(o, str):
        b = o.encode("utf-8", "surrogatepass")
        n = len(b)
        if n < 32:
            w(bytes((0xA0 | n,)))
        elif n < 0x100:
            w(b"\xd9" + bytes((n,)))
        elif n < 0x10000:
            w(b"\xda" + struct.pack(">H", n))
        else:
            w(b"\xdb" + struct.pack(">I", n))
        w(b)
    elif isinstance(o, (bytes, bytearray, memoryview)):
        b = bytes(o)
        n = len(b)
        if n < 0x100:
            w(b"\xc4" + bytes((n,)))
        elif n < 0x10000:
            w(b"\xc5" + struct.pack(">H", n))
        else:
            w(b"\xc6" + struct.pack(">I", n))
        w(b)
    elif isinstance(o, (list, tuple)):
        n = len(o)
        if n < 16:
            w(bytes((0x90 | n,)))
        elif n < 0x10000:
            w(b"\xdc" + struct.pack(">H", n))
        else:
            w(b"\xdd" + struct.pack(">I", n))
        for x in o:
            _encode(x, w)
    elif isinstance(o, dict):
        n = len(o)
        if n < 16:
            w(bytes((0x80 | n,)))
        elif n < 0x10000:
            w(b"\xde" + struct.pack(">H", n))
        else:
            w(b"\xdf" + struct.pack(">I", n))
        for k, v in o.items():
            _encode(k, w)
            _encode(v, w)
    else:
        raise TypeError(f"msgpack: cannot encode {type(o).__name__}")


def _encode_int(o: int, w: Callable[[bytes], Any]) -> None:
    if 0 <= o < 0x80:
        w(bytes((o,)))
    elif -32 <= o < 0:
        w(struct.pack(">b", o))
    elif 0 <= o < 0x100:
        w(b"\xcc" + bytes((o,)))
    elif 0 <= o < 0x10000:
        w(b"\xcd" + struct.pack(">H", o))
    elif 0 <= o < 0x100000000:
        w(b"\xce" + struct.pack(">I", o))
    elif 0 <= o < 0x10000000000000000:
        w(b"\xcf" + struct.pack(">Q", o))
    elif -0x80 <= o:
        w(b"\xd0" + struct.pack(">b", o))
    elif -0x8000 <= o:
        w(b"\xd1" + struct.pack(">h", o))
    elif -0x80000000 <= o:
        w(b"\xd2" + struct.pack(">i", o))
    elif -0x8000000000000000 <= o:
        w(b"\xd3" + struct.pack(">q", o))
    else:
        raise OverflowError("msgpack: int out of 64-bit range")


class _Reader:
    __slots__ = ("b", "i")

    def __init__(self, b: bytes) -> None:
        self.b = memoryview(b)
        self.i = 0

    def take(self, n: int) -> bytes:
        j = self.i + n
        if j > len(self.b):
            raise ValueError("msgpack: truncated input")
        out = bytes(self.b[self.i : j])
        self.i = j
        return out

    def unpack(self, fmt: str, n: int) -> Any:
        return struct.unpack(fmt, self.take(n))[0]


def _str(r: _Reader, n: int) -> str:
    return r.take(n).decode("utf-8", "surrogatepass")


# Type byte -> decoder (built once; the pure-Python path is only for small control messages).
_TABLE: dict[int, Callable[[_Reader], Any]] = {
    0xC0: lambda r: None,
    0xC2: lambda r: False,
    0xC3: lambda r: True,
    0xC4: lambda r: r.take(r.take(1)[0]),
    0xC5: lambda r: r.take(r.unpack(">H", 2)),
    0xC6: lambda r: r.take(r.unpack(">I", 4)),
    0xCA: lambda r: r.unpack(">f", 4),
    0xCB: lambda r: r.unpack(">d", 8),
    0xCC: lambda r: r.take(1)[0],
    0xCD: lambda r: r.unpack(">H", 2),
    0xCE: lambda r: r.unpack(">I", 4),
    0xCF: lambda r: r.unpack(">Q", 8),
    0xD0: lambda r: r.unpack(">b", 1),
    0xD1: lambda r: r.unpack(">h", 2),
    0xD2: lambda r: r.unpack(">i", 4),
    0xD3: lambda r: r.unpack(">q", 8),
    0xD9: lambda r: _str(r, r.take(1)[0]),
    0xDA: lambda r: _str(r, r.unpack(">H", 2)),
    0xDB: lambda r: _str(r, r.unpack(">I", 4)),
    0xDC: lambda r: [_decode(r) for _ in range(r.unpack(">H", 2))],
    0xDD: lambda r: [_decode(r) for _ in range(r.unpack(">I", 4))],
    0xDE: lambda r: _map(r, r.unpack(">H", 2)),
    0xDF: lambda r: _map(r, r.unpack(">I", 4)),
}


def _decode(r: _Reader) -> Any:
    c = r.take(1)[0]
    if c <= 0x7F:
        return c
    if c >= 0xE0:
        return c - 0x100
    if 0x80 <= c <= 0x8F:
        return _map(r, c & 0x0F)
    if 0x90 <= c <= 0x9F:
        return [_decode(r) for _ in range(c & 0x0F)]
    if 0xA0 <= c <= 0xBF:
        return _str(r, c & 0x1F)
    fn = _TABLE.get(c)
    if fn is None:
        raise ValueError(f"msgpack: unsupported type byte 0x{c:02x}")
    return fn(r)


def _map(r: _Reader, n: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for _ in range(n):
        k = _decode(r)
        out[k] = _decode(r)
    return out


def _py_unpackb(data: bytes) -> Any:
    r = _Reader(data)
    v = _decode(r)
    if r.i != len(r.b):
        raise ValueError("msgpack: trailing bytes")
    return v


def _select() -> str:
    global _pack_impl, _unpack_impl
    try:
        import msgpack  # type: ignore[import-not-found]

        _pack_impl = lambda o: msgpack.packb(o, use_bin_type=True)  # noqa: E731
        _unpack_impl = lambda b: msgpack.unpackb(b, raw=False, strict_map_key=False)  # noqa: E731
        return "msgpack"
    except Exception:
        _pack_impl, _unpack_impl = _py_packb, _py_unpackb
        return "pure-python"


backend = _select()


def packb(obj: Any) -> bytes:
    return _pack_impl(obj)


def unpackb(data: bytes | bytearray | memoryview) -> Any:
    return _unpack_impl(bytes(data))
