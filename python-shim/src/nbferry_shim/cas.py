"""Content-addressed chunks: a blob is cut into chunks, each stored once as
`<chunks dir>/<first 2 hex>/<sha256 hex>`; a manifest lists a blob's chunk digests (and, format 3,
their sizes), and the blob's checksum is SHA-256 over those same digests: `sha256-chunks` when
cutpoints.py chose the boundaries (what `save` writes), `sha256-8m` for the fixed 8 MiB chunks of
format 2 (still read).

Writing: worker threads hash each chunk, skip it if a chunk of that name already exists (written
by an earlier checkpoint or another kernel), else write it to a temp file in the same directory,
fsync and rename: a partial chunk is never visible under its final name, and two writers of the
same chunk race harmlessly (same bytes). Reading: each chunk is checked against its name while it
is read, before anything is unpickled. Chunk files are plain names only; no symlink is followed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable

from . import chunksum, cutpoints
from .fresh_buffer import fresh_buffer

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ChunkError(Exception):
    """A chunk is missing, not a regular file, of the wrong size or content."""


def chunk_path(root: str, digest: str) -> str:
    if not _HEX64.match(digest):
        raise ChunkError(f"chunk name {digest!r} is not a SHA-256 digest")
    return os.path.join(root, digest[:2], digest)


def _store_one(root: str, pieces: list[memoryview], do_fsync: bool,
               alive: Callable[[], bool], gone: Callable[[], BaseException]) -> tuple[str, int, str | None]:
    """(digest, bytes newly written, directory to fsync) for one chunk."""
    h = hashlib.sha256()
    for p in pieces:
        h.update(p)
    digest = h.hexdigest()
    final = chunk_path(root, digest)
    try:
        st = os.lstat(final)
    except FileNotFoundError:
        st = None
    size = sum(p.nbytes for p in pieces)
    if st is not None and stat.S_ISREG(st.st_mode) and st.st_size == size:
        return digest, 0, None  # already stored: never written again
    if not alive():  # the coordinator is gone: nobody will commit this, stop writing
        raise gone()
    sub = os.path.dirname(final)
    os.makedirs(sub, mode=0o700, exist_ok=True)
    if os.path.islink(sub):
        raise OSError(errno.ELOOP, "chunk directory is a symbolic link", sub)
    tmp = os.path.join(sub, f".tmp-{uuid.uuid4().hex}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with open(fd, "wb", buffering=0) as f:
            for p in pieces:
                view = p
                while view.nbytes:
                    n = f.write(view)
                    view = view[n:]
            if do_fsync:
                os.fsync(f.fileno())
        # Replaces a damaged or wrong-size entry of that name too (st above): the name is the content.
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return digest, size, sub


class ChunkWriter:
    """Stores consecutive chunks fed with `add` (whole CHUNKs except the last; chunksum.chunks cuts
    them) in worker threads, so hashing and writing overlap; use as a context manager."""

    def __init__(self, root: str, do_fsync: bool = True, workers: int | None = None,
                 alive: Callable[[], bool] = lambda: True,
                 gone: Callable[[], BaseException] = lambda: RuntimeError("abandoned"),
                 algorithm: str = chunksum.SHA256_8M) -> None:
        self.root = root
        self.algorithm = algorithm
        self.do_fsync = do_fsync
        self.alive = alive
        self.gone = gone
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="nbferry-chunk")
        self._futures: list[Future[tuple[str, int, str | None]]] = []
        self._sizes: list[int] = []
        self._told = 0  # chunks `stored` has returned

    def __enter__(self) -> "ChunkWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._pool.shutdown(wait=True)

    def add(self, pieces: list[memoryview]) -> None:
        # At most two chunks per worker in flight: an abandoned save stops within a few chunks.
        waiting = [f for f in self._futures if not f.done()]
        if len(waiting) >= 2 * self.workers:
            waiting[0].result()
        self._futures.append(self._pool.submit(_store_one, self.root, pieces, self.do_fsync, self.alive, self.gone))
        self._sizes.append(sum(p.nbytes for p in pieces))

    def done_bytes(self) -> int:
        """Bytes of the chunks added so far that are stored (written, or found already there)."""
        return sum(size for f, size in zip(self._futures, self._sizes) if f.done())

    def stored(self, wait: bool = False) -> list[tuple[str, int]]:
        """(digest, size) of the chunks stored since the last call, in order, up to the first one
        still being written (`wait`: waits for the next one first); stops before one that failed
        (finish raises it)."""
        out: list[tuple[str, int]] = []
        while self._told < len(self._futures):
            f = self._futures[self._told]
            if (not f.done() and not (wait and not out)) or f.exception() is not None:
                break
            out.append((f.result()[0], self._sizes[self._told]))
            self._told += 1
        return out

    def finish(self) -> tuple[str, list[str], int]:
        """(`<algorithm>:<hex>`, chunk digests in order, bytes newly written); raises what a worker raised.
        `sizes` then holds each chunk's size."""
        results = [f.result() for f in self._futures]
        self._futures, self._told = [], 0
        self.sizes, self._sizes = self._sizes, []
        if self.do_fsync:
            for sub in {r[2] for r in results if r[2]}:
                fsync_dir(sub)
        digests = [r[0] for r in results]
        return (chunksum.digest_hashes((bytes.fromhex(d) for d in digests), self.algorithm), digests,
                sum(r[1] for r in results))


def write_parts(root: str, parts: Iterable[memoryview], do_fsync: bool, alive: Callable[[], bool],
                gone: Callable[[], BaseException],
                on_bytes: Callable[[int], None] | None = None) -> tuple[str, list[str], int]:
    """Stores a blob given as segments; checks `alive()` between chunks (raises `gone()` if not).
    `on_bytes(n)`: the blob's bytes stored so far, called on this thread between chunks."""
    with ChunkWriter(root, do_fsync, alive=alive, gone=gone) as writer:
        for pieces in chunksum.chunks(parts):
            if not alive():
                raise gone()
            writer.add(pieces)
            if on_bytes is not None:
                on_bytes(writer.done_bytes())
        return writer.finish()


def write_cut(root: str, chunks: Iterable[list[memoryview]], do_fsync: bool, alive: Callable[[], bool],
              gone: Callable[[], BaseException],
              on_bytes: Callable[[int], None] | None = None,
              on_stored: Callable[[list[tuple[str, int]]], None] | None = None) -> tuple[str, list[str], list[int], int]:
    """Stores a blob already cut into chunks (cutpoints.cut): (`sha256-chunks:<hex>`, digests,
    chunk sizes, bytes newly written). Checks `alive()` between chunks, as write_parts.
    `on_stored(chunks)`: (digest, size) of the next chunks in order that are stored (their files
    renamed into place), called on this thread between chunks and while waiting for the last ones."""
    with ChunkWriter(root, do_fsync, alive=alive, gone=gone, algorithm=chunksum.SHA256_CHUNKS) as writer:
        for pieces in chunks:
            if not alive():
                raise gone()
            writer.add(pieces)
            if on_bytes is not None:
                on_bytes(writer.done_bytes())
            if on_stored is not None and (now := writer.stored()):
                on_stored(now)
        if on_stored is not None:
            while more := writer.stored(wait=True):  # the last chunks, each as soon as it is stored
                on_stored(more)
        checksum, digests, new = writer.finish()
        return checksum, digests, writer.sizes, new


def chunk_sizes(total: int, count: int) -> list[int]:
    """Sizes of `count` chunks of a `total`-byte blob (all CHUNK but the last); ChunkError if they cannot be."""
    if count != max(1, -(-total // chunksum.CHUNK)) and not (total == 0 and count == 0):
        raise ChunkError(f"{count} chunks cannot hold {total} bytes in {chunksum.CHUNK}-byte chunks")
    return [min(chunksum.CHUNK, total - i * chunksum.CHUNK) for i in range(count)]


_READ_SLICE = 1 << 20  # fits a core's L2 cache


def _read_one(path: str, digest: str, into: memoryview, algorithm: str) -> None:
    """Reads one chunk into `into` and checks its SHA-256 against its name."""
    from .blobs import _LoadError, _open_regular  # the same refusal rules as blob files

    for d in (os.path.dirname(os.path.dirname(path)), os.path.dirname(path)):
        if not stat.S_ISDIR(os.lstat(d).st_mode):
            raise _LoadError("io", f"{d} is a symbolic link or not a directory; refused")
    fd, _ = _open_regular(path, into.nbytes)
    h = hashlib.sha256()
    with open(fd, "rb", buffering=0) as f:
        got = 0
        while got < into.nbytes:
            # Hashed slice by slice right after it is read, while it is still in the CPU's cache:
            # hashing the whole chunk afterwards read every byte from memory a second time.
            n = f.readinto(into[got : got + _READ_SLICE])
            if not n:
                raise ChunkError(f"chunk {digest} short read {got}/{into.nbytes} bytes")
            h.update(into[got : got + n])
            got += n
    if h.hexdigest() != digest:
        raise ChunkError(f"{algorithm} mismatch: chunk {digest} does not match its name (damaged)")


def given_sizes(total: int, digests: list[str], sizes: Any) -> list[int]:
    """Format 3's listed chunk sizes, checked: one per digest, each 1..MAX bytes, adding up to `total`."""
    if not (isinstance(sizes, list) and len(sizes) == len(digests)
            and all(type(n) is int and 0 < n <= cutpoints.MAX for n in sizes) and sum(sizes) == total):
        raise ChunkError(f"chunk sizes do not fit {len(digests)} chunks of a {total}-byte blob")
    return sizes


def read_chunks(root: str, digests: list[str], total: int,
                on_read: Callable[[int], None] | None = None, sizes: list[int] | None = None) -> tuple[Any, str]:
    """The blob's bytes (bytearray or mmap: fresh_buffer) from its chunks and its checksum over the verified digests: `sha256-chunks`
    when `sizes` are given (format 3), else `sha256-8m` (fixed 8 MiB chunks, format 2).
    Chunks are read and hashed by worker threads in parallel (both release the GIL)."""
    algorithm = chunksum.SHA256_8M if sizes is None else chunksum.SHA256_CHUNKS
    sizes = chunk_sizes(total, len(digests)) if sizes is None else given_sizes(total, digests, sizes)
    raw = fresh_buffer(total)  # faulted in by the reading workers, not zero-filled up front
    view = memoryview(raw)
    read_into(root, digests, sizes, view, algorithm, max(1, min(4, os.cpu_count() or 1)), on_read)
    del view
    return raw, chunksum.digest_hashes((bytes.fromhex(d) for d in digests), algorithm)


def read_into(root: str, digests: list[str], sizes: list[int], view: memoryview, algorithm: str, workers: int,
              on_read: Callable[[int], None] | None = None) -> None:
    """Reads the chunks into `view`, back to back, each checked against its name, by `workers`
    threads in parallel (reading and hashing release the GIL); raises the first chunk's error.
    `on_read(size)`: in order, as each chunk is in and verified."""
    pos = 0
    futures = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nbferry-chunk") as pool:
        for digest, size in zip(digests, sizes):
            futures.append(pool.submit(_read_one, chunk_path(root, digest), digest, view[pos : pos + size], algorithm))
            pos += size
        for f, size in zip(futures, sizes):
            f.result()
            if on_read is not None:
                on_read(size)


def fsync_dir(d: str) -> None:
    """Makes a directory's entries durable (a rename into it); best effort where unsupported."""
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
