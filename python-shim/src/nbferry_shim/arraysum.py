"""Fast in-kernel change detection for numeric arrays (~5 GB/s with numpy, vs ~1.5 for sha256).

Two 64-bit sums over the array's bytes viewed as uint64, in 1 MiB chunks: a plain sum (any
single changed word changes it) and a position-weighted sum with odd per-position and
per-chunk multipliers (catches moves and swaps). Not cryptographic and seed-free but
only ever compared within one kernel; cross-kernel verification uses sha256/xxh3.
"""

from __future__ import annotations

import hashlib
import sys
import time
from typing import Any

from .budget import OverBudget

_CHUNK = 1 << 17  # uint64 words per chunk (1 MiB)
_MASK = (1 << 64) - 1
_weights: Any = None


def warm() -> None:
    """Build the weights now (at attach), so the first cell's fingerprints are not slowed down."""
    np = sys.modules.get("numpy")
    if np is not None:
        _w(np)


def _w(np: Any) -> Any:
    global _weights
    if _weights is None:
        _weights = (np.arange(_CHUNK, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)) | np.uint64(1)
    return _weights


def _words(flat_bytes: Any, np: Any, acc: list[int], pos: list[int], tmp: Any, deadline: float | None) -> None:
    n = flat_bytes.size - flat_bytes.size % 8
    words = flat_bytes[:n].view(np.uint64)
    w = _w(np)
    for i in range(0, words.size, _CHUNK):
        if deadline is not None and time.perf_counter() > deadline:
            raise OverBudget()
        c = words[i : i + _CHUNK]
        k = c.size
        s1 = int(c.sum(dtype=np.uint64))
        np.multiply(c, w[:k], out=tmp[:k])
        s2 = int(tmp[:k].sum(dtype=np.uint64))
        mul = (pos[0] * 0xC2B2AE3D27D4EB4F) | 1
        acc[0] = (acc[0] + s1 * mul) & _MASK
        acc[1] = (acc[1] ^ ((s2 + pos[0]) * 0x165667B19E3779F9)) & _MASK
        acc[1] = ((acc[1] << 7) | (acc[1] >> 57)) & _MASK
        pos[0] += 1
    if n < flat_bytes.size:
        acc[2] ^= int.from_bytes(hashlib.blake2b(flat_bytes[n:].tobytes(), digest_size=8).digest(), "little")


def checksum(a: Any, deadline: float | None = None) -> str:
    """Layout-independent checksum of an ndarray's elements (C order for non-contiguous views).
    Raises OverBudget between 1 MiB chunks once `deadline` has passed."""
    np = sys.modules["numpy"]
    acc = [0, 0, 0]
    pos = [0]
    if a.size == 0:
        return "0"
    tmp = np.empty(min(_CHUNK, max(1, a.nbytes // 8)), dtype=np.uint64)
    if a.flags.c_contiguous or a.flags.f_contiguous:
        tag = "C" if a.flags.c_contiguous else "F"
        _words(a.ravel(order="K").view(np.uint8), np, acc, pos, tmp, deadline)
    else:
        tag = "C"
        row = max(1, a.itemsize * (a.size // a.shape[0]))
        step = max(1, (_CHUNK * 8) // row)
        for i in range(0, a.shape[0], step):
            _words(np.ascontiguousarray(a[i : i + step]).ravel().view(np.uint8), np, acc, pos, tmp, deadline)
    return f"{tag}{acc[0]:016x}{acc[1]:016x}{acc[2]:x}"
