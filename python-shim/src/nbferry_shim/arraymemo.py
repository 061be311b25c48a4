"""Array digests shared by the variables of one request (a measure, a verification).

A notebook's variables often hold the same arrays: aliases (`b = a`), views of one buffer
(`flat = a.reshape(-1)`, `X = a[:, :10]`), and the lists, dicts and shallow frame copies that hold
them. Each variable is fingerprinted on its own, so the same bytes were hashed once per variable
holding them. Within `shared_digests()`, a strong digest (probe.array_digest) is reused for any
array over the same memory with the same layout: that digest depends only on the bytes of the
elements, in memory order with a C/F tag for contiguous arrays, in C order otherwise; so the
address, the size and the layout determine it.

Sound while nothing writes the arrays: a request runs on one thread while no cell runs (on a lane,
it is given up as soon as one starts). The arrays are held until the request ends, so no address is
reused for other data meanwhile. The recorder's own per-cell digests (algo "rec") do not use it.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator

MIN_BYTES = 1 << 16  # smaller arrays hash faster than the key is made
_local = threading.local()

Key = tuple[Any, ...]


@contextmanager
def shared_digests() -> Iterator[None]:
    outer = getattr(_local, "memo", None)
    if outer is None:
        _local.memo = {}
    try:
        yield
    finally:
        if outer is None:
            _local.memo = None  # releases the arrays


def key(a: Any, algo: str) -> Key | None:
    """What determines `a`'s digest, or None outside a request (or for a small array)."""
    if getattr(_local, "memo", None) is None or a.nbytes < MIN_BYTES:
        return None
    ptr = a.__array_interface__["data"][0]
    if a.flags.c_contiguous:
        return (algo, ptr, a.nbytes, "C")
    if a.flags.f_contiguous:
        return (algo, ptr, a.nbytes, "F")
    return (algo, ptr, a.shape, a.strides, a.itemsize)


def get(k: Key | None) -> str | None:
    memo = getattr(_local, "memo", None)
    if k is None or memo is None:
        return None
    hit = memo.get(k)
    return None if hit is None else hit[1]  # type: ignore[no-any-return]


def put(k: Key | None, a: Any, digest: str) -> None:
    memo = getattr(_local, "memo", None)
    if k is not None and memo is not None:
        memo[k] = (a, digest)
