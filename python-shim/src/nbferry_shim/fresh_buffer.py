"""Writable buffers for blobs being loaded.

`bytearray(n)` zero-fills all n bytes in the calling thread before the first byte is read: for a
1 GiB blob ~0.5 s of page faults on one core, during which no read or hash can start. A large blob
gets fresh private anonymous pages instead, faulted in by whichever worker thread reads into them
(inside readinto, with the GIL released), so the faults overlap the reads and the hashing.
MAP_PRIVATE: a process forked later (multiprocessing) gets copy-on-write pages, as with any other
memory; never memory shared with the child.
"""

from __future__ import annotations

import mmap
from typing import Any

# Below this, bytearray's zero-fill is cheap and a mapping's page granularity and syscall are not worth it.
MMAP_MIN_BYTES = 8 << 20


def fresh_buffer(size: int) -> Any:
    """A writable buffer of `size` zero bytes (bytearray or mmap): supports len(), memoryview() and slicing."""
    if size >= MMAP_MIN_BYTES and hasattr(mmap, "MAP_PRIVATE") and hasattr(mmap, "MAP_ANONYMOUS"):
        try:
            return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        except (OSError, ValueError, OverflowError):
            pass  # e.g. an address-space limit: the ordinary allocation raises MemoryError if it must
    return bytearray(size)
