"""Blob container, and the save / save_buffers / load operations.

Blob layout (one per group; little endian):
    b"NBFBLOB1" | pickle stream | pad to 64 | out-of-band buffer 0 | pad | buffer 1 | ... |
    footer JSON (utf-8) | u64 footer length | b"NBFEND01"
Footer: {"format": 1, "names": [...], "pickle": [offset, length], "buffers": [[offset, length]...],
         "python": "3.11", "pickler": "cloudpickle"|"pickle", "shim": version}
The checksum is `sha256-8m` (chunksum.py): SHA-256 per 8 MiB chunk, then SHA-256 over the chunk
digests, computed in worker threads while the main thread writes (or reads) the same chunks. Saved
into a content-addressed store (`save` with `chunks`), the blob is cut where cutpoints.py puts
boundaries and its checksum is `sha256-chunks` over those chunks' digests.
Files are written to a temp name in the target directory, fsynced, then renamed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import stat
import struct
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any, Iterator

from . import budget, cas, chunksum, cutpoints, pickled, serialize
from ._version import VERSION
from .channel import OpError
from .fresh_buffer import fresh_buffer

if TYPE_CHECKING:
    from .runtime import Shim

MAGIC = b"NBFBLOB1"
END = b"NBFEND01"
ALIGN = 64
MAX_CHUNK = 8 << 20  # comm buffers are at most 8 MiB
_PAD = bytes(ALIGN)
PY = f"{sys.version_info[0]}.{sys.version_info[1]}"


class _Segments:
    """Collects the blob as a list of (zero-copy) segments."""

    def __init__(self) -> None:
        self.parts: list[memoryview] = []
        self.own: list[bool] = []  # parts that are out-of-band buffers (cutpoints gives big ones chunks of their own)
        self.n = 0

    def add(self, b: Any, buffer: bool = False) -> None:
        mv = memoryview(b).cast("B")
        if not mv.nbytes:
            return
        self.parts.append(mv)
        self.own.append(buffer)
        self.n += mv.nbytes

    def pad(self) -> None:
        k = (-self.n) % ALIGN
        if k:
            self.add(_PAD[:k])


def _build(values: dict[str, Any], user_ns: dict[str, Any] | None, seq: int | None = None) -> _Segments:
    """The blob of one group; `seq` (the history's last seq) lets it reuse measure's pickle."""
    hit = pickled.CACHE.take(values, seq) if seq is not None else None
    data, bufs = hit if hit is not None else serialize.to_bytes(values, user_ns)
    seg = _Segments()
    seg.add(MAGIC)
    pk = (seg.n, len(data))
    seg.add(data)
    spans = []
    for pb in bufs:
        seg.pad()
        raw = pb.raw()
        spans.append((seg.n, raw.nbytes))
        seg.add(raw, buffer=True)
    footer = json.dumps({"format": 1, "names": list(values), "pickle": pk, "buffers": spans, "python": PY,
                         "pickler": serialize.pickler_name(), "shim": VERSION}).encode()
    seg.add(footer)
    seg.add(struct.pack("<Q", len(footer)))
    seg.add(END)
    return seg


def _group_values(shim: "Shim", names: list[str]) -> dict[str, Any]:
    ns = shim.recorder.ns
    missing = [n for n in names if n not in ns]
    if missing:
        raise KeyError(f"not defined: {', '.join(missing)}")
    return {n: ns[n] for n in names}


def _groups_arg(args: dict[str, Any]) -> list[list[str]]:
    groups = args.get("groups")
    if not isinstance(groups, list) or not all(isinstance(g, list) and g for g in groups):
        raise OpError("args.groups must be a list of non-empty name lists")
    return [[str(n) for n in g] for g in groups]


def op_save(shim: "Shim", args: dict[str, Any], bufs: list[memoryview], watch: Any = None) -> tuple[Any, list[bytes]]:
    """`watch` (lane.Watch): saving on the background lane; it raises lane.Preempted, after a
    group's bytes are produced or between chunks, once a cell has started since the measure."""
    d = args.get("dir")
    cas_root = args.get("chunks")
    if cas_root is not None and (not isinstance(cas_root, str) or not cas_root):
        raise OpError("args.chunks must be a directory path")
    if cas_root is not None:
        d = cas_root  # format v2: chunks only, no blob files
    if not isinstance(d, str) or not d:
        raise OpError("args.dir is required")
    do_fsync = args.get("fsync", True) is not False
    prefix = str(args.get("prefix") or "group")
    groups = _groups_arg(args)
    moved = _moved_since(shim, args)
    if moved is not None:
        return moved, []
    alive = _owner_check(args.get("owner"))
    if watch is not None:
        owner_alive = alive
        alive = lambda: not watch.moved() and owner_alive()  # noqa: E731  (stops the chunk writers)
    try:
        os.makedirs(d, exist_ok=True)
    except OSError as e:
        err = _write_err(e)
        return {"blobs": [{"names": g, "ok": False, "seconds": 0.0, "error": err} for g in groups],
                "checksum": chunksum.DEFAULT}, []
    out: list[dict[str, Any]] = []
    progress = _SaveProgress(shim, args.get("progressFrom")) if args.get("progress") else None
    stream_over = args.get("streamChunksOver")
    if stream_over is not None and (type(stream_over) is not int or cas_root is None):
        raise OpError("args.streamChunksOver must be a byte count, with args.chunks")
    for i, names in enumerate(groups):
        t0 = time.perf_counter()
        item: dict[str, Any] = {"names": names}
        tmp = os.path.join(d, f".tmp-{uuid.uuid4().hex}")
        try:
            seg = _build(_group_values(shim, names), shim.recorder.ns, shim.history.last_seq)
        except Exception as e:
            item.update(ok=False, error=_err(e), seconds=time.perf_counter() - t0)
            out.append(item)
            continue
        if watch is not None:
            watch.check()  # bytes pickled while a cell ran are never stored
        try:
            if cas_root is not None:
                stream = _ChunkStream(shim, names, seg.n) if stream_over is not None and seg.n >= stream_over else None
                checksum, digests, sizes, new_bytes = cas.write_cut(cas_root, cutpoints.cut(seg.parts, seg.own), do_fsync,
                                                                    alive, _gone, progress.stored if progress else None,
                                                                    stream.stored if stream else None)
                fname = f"{prefix}-{i:04d}-{checksum.partition(':')[2][:12]}.nbf"
                item.update(ok=True, file=fname, bytes=seg.n, checksum=checksum, chunks=digests, chunkBytes=sizes,
                            newBytes=new_bytes)
            else:
                checksum = _write(seg, tmp, do_fsync, alive, progress.stored if progress else None)
                fname = f"{prefix}-{i:04d}-{checksum.partition(':')[2][:12]}.nbf"
                os.replace(tmp, os.path.join(d, fname))
                item.update(ok=True, file=fname, bytes=seg.n, checksum=checksum)
        except Exception as e:
            _unlink(tmp)
            if not isinstance(e, (OSError, _OwnerGone)):
                item.update(ok=False, error=_err(e), seconds=time.perf_counter() - t0)
                out.append(item)
                continue
            # Disk full, file too large, quota, I/O error, permissions: the store failed, not the
            # value. Reported as such so the coordinator fails the checkpoint instead of
            # re-planning the group as unserializable; the remaining groups are not attempted.
            item.update(ok=False, error=_write_err(e), seconds=time.perf_counter() - t0)
            out.append(item)
            out.extend({"names": g, "ok": False, "seconds": 0.0,
                        "error": {"kind": "write", "message": "not attempted after a write failure"}}
                       for g in groups[i + 1:])
            break
        item["seconds"] = time.perf_counter() - t0
        out.append(item)
        if progress is not None:
            progress.group_done(seg.n)
    if progress is not None:
        progress.finish()
    if watch is not None:
        watch.check()  # a cell that started mid-write made the writers stop: not a store failure
    pickled.CACHE.clear()  # groups the plan did not save: their pickles would only hold memory
    if do_fsync and cas_root is None:
        cas.fsync_dir(d)
    return {"blobs": out, "checksum": chunksum.DEFAULT}, []


def _moved_since(shim: "Shim", args: dict[str, Any]) -> dict[str, Any] | None:
    """`seq` (from measure): if the namespace changed since (a cell ran, or code outside cells
    changed it), nothing is saved and the reply says so: the coordinator redoes its checkpoint."""
    seq = args.get("seq")
    if not isinstance(seq, int):
        return None
    with shim.recorder.lock:
        shim.recorder.sync_pending_outside()
    now = shim.history.last_seq
    return None if now == seq else {"blobs": [], "moved": {"expected": seq, "seq": now}}


class _OwnerGone(Exception):
    """The coordinator that asked for this save is gone: stop writing (nobody will commit it)."""


def _gone() -> BaseException:
    return _OwnerGone("the coordinator of this checkpoint exited; the blob was abandoned")


def _write(seg: _Segments, tmp: str, do_fsync: bool, alive: Any, on_bytes: Any = None) -> str:
    """Writes the blob to `tmp`; returns its checksum. Workers hash chunk k while this thread
    writes it (both release the GIL). Between chunks, checks that the coordinator still exists."""
    written = 0
    with chunksum.Summer() as summer, open(tmp, "wb") as f:
        for pieces in chunksum.chunks(seg.parts):
            if not alive():
                raise _OwnerGone("the coordinator of this checkpoint exited; the blob was abandoned")
            summer.add(pieces)
            for part in pieces:
                f.write(part)
                written += part.nbytes
            if on_bytes is not None:
                on_bytes(written)
        f.flush()
        if do_fsync:
            os.fsync(f.fileno())
        return summer.hexdigest()


def _owner_check(owner: Any) -> Any:
    """`owner: {pid, host, startTicks?}` (the coordinator): a cheap liveness test for the write
    loop. Always-true when the owner is unknown, on another host, or not visible from here at the
    start (another pid namespace, e.g. a sidecar container with the same hostname): its pid means
    nothing here, so it must never make us abandon a blob."""
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        return lambda: True
    import socket

    if owner.get("host") not in (None, socket.gethostname()):
        return lambda: True
    pid = int(owner["pid"])
    ticks = owner.get("startTicks")

    def alive() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            pass  # exists, not ours to signal
        # Same pid, but a later process (the coordinator died and the pid was reused)?
        return not isinstance(ticks, int) or _start_ticks(pid) in (None, ticks)

    return alive if alive() else (lambda: True)


def _start_ticks(pid: int) -> int | None:
    """Start time of process `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("ascii", "replace")
        return int(text[text.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _write_err(e: BaseException) -> dict[str, Any]:
    import errno as errno_mod

    code = errno_mod.errorcode.get(getattr(e, "errno", None) or -1) if isinstance(e, OSError) else None
    err: dict[str, Any] = {"kind": "write", "message": f"{type(e).__name__}: {e}"[:1000]}
    if code:
        err["errno"] = code
    return err


def op_save_buffers(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[Any]]:
    chunk = min(int(args.get("chunkBytes") or MAX_CHUNK), MAX_CHUNK)
    moved = _moved_since(shim, args)
    if moved is not None:
        return moved, []
    out = []
    extra: list[Any] = []
    for names in _groups_arg(args):
        t0 = time.perf_counter()
        item: dict[str, Any] = {"names": names}
        try:
            seg = _build(_group_values(shim, names), shim.recorder.ns, shim.history.last_seq)
            first = len(extra)
            extra.extend(_chunks(seg.parts, chunk))
            checksum = chunksum.sum_parts(seg.parts)
            item.update(ok=True, bytes=seg.n, checksum=checksum, buffers=[first, len(extra) - first])
        except Exception as e:
            item.update(ok=False, error=_err(e))
        item["seconds"] = time.perf_counter() - t0
        out.append(item)
    return {"blobs": out, "checksum": chunksum.DEFAULT}, extra


def _chunks(parts: list[memoryview], limit: int) -> Iterator[Any]:
    """Re-cut segments into <= limit pieces; big segments are sliced without copying."""
    small: list[bytes] = []
    small_n = 0
    for mv in parts:
        if mv.nbytes >= limit // 2:
            if small:
                yield b"".join(small)
                small, small_n = [], 0
            for i in range(0, mv.nbytes, limit):
                yield mv[i : i + limit]
            continue
        if small_n + mv.nbytes > limit:
            yield b"".join(small)
            small, small_n = [], 0
        small.append(bytes(mv))
        small_n += mv.nbytes
    if small:
        yield b"".join(small)


def op_load(shim: "Shim", args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
    blobs = args.get("blobs")
    if not isinstance(blobs, list):
        raise OpError("args.blobs must be a list")
    d = args.get("dir")
    verify = bool(args.get("fingerprints", False))
    rec = shim.recorder
    rec.sync_pending_outside()
    results = []
    loaded: list[str] = []
    progress = _LoadProgress(shim, blobs) if args.get("progress") else None
    with _pyplot_not_interactive():
        loaded_bytes = _load_each(blobs, d, bufs, rec, verify, args, results, loaded, progress)
    if progress is not None:
        progress.finish()
    if loaded:
        _after_load(shim, loaded, digest=loaded_bytes <= _DIGEST_ON_LOAD_MAX_BYTES)
    return {"results": results}, []


@contextlib.contextmanager
def _pyplot_not_interactive() -> Iterator[None]:
    """A figure pickled while pyplot managed it registers itself with pyplot again when
    unpickled. In a kernel (interactive mode, inline backend) it would then be drawn: queued for
    display when registered, and drawn as stale by pyplot's post_execute hook, which IPython runs
    after every comm message too. That is ~0.2 s per large figure in the middle of a restore, and
    the figures shown again somewhere nobody asked. So: load with interactive mode off, and leave
    the figures the load registered not stale (drawn when next changed or shown, as usual)."""
    mpl = sys.modules.get("matplotlib")
    helpers = sys.modules.get("matplotlib._pylab_helpers")
    was = mpl is not None and mpl.is_interactive()
    before = set(helpers.Gcf.figs) if helpers is not None else set()
    if was:
        mpl.interactive(False)
    try:
        yield
    finally:
        if was:
            mpl.interactive(True)
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        for num, manager in list(getattr(getattr(helpers, "Gcf", None), "figs", {}).items()):
            if num not in before:
                try:
                    manager.canvas.figure.stale = False
                except Exception:
                    pass


class _SaveProgress:
    """`progress` events ({op: "save", done, total} bytes stored) pushed while groups are written, at
    most every 0.1 s plus a last one: format 2 writes chunks into the shared chunks directory, where
    a coordinator cannot tell this save's bytes from others'. `total` is what is known so far (the
    coordinator has the measured estimate)."""

    INTERVAL = 0.1

    def __init__(self, shim: "Shim", start: Any = None) -> None:
        self.shim = shim
        # Bytes of the groups already saved (`progressFrom`: by the coordinator's earlier requests of this checkpoint).
        self.before = start if type(start) is int and start >= 0 else 0
        self.done = self.before
        self.pushed = 0
        self.last = 0.0

    def stored(self, n: int) -> None:
        """`n`: bytes of the current group stored so far."""
        self.done = max(self.done, self.before + n)
        now = time.monotonic()
        if self.done > self.pushed and now - self.last >= self.INTERVAL:
            self.last = now
            self._push()

    def group_done(self, n: int) -> None:
        self.before += n
        self.done = max(self.done, self.before)

    def finish(self) -> None:
        if self.done > self.pushed:
            self._push()

    def _push(self) -> None:
        self.pushed = self.done
        self.shim.channel.push("progress", {"op": "save", "done": self.done, "total": self.done})


class _ChunkStream:
    """`saved_chunks` events for one big blob: its next chunks in order as each is stored, so a
    restore following the save (a fork's children) reads them while the rest is written."""

    def __init__(self, shim: "Shim", names: list[str], total: int) -> None:
        self.shim = shim
        self.names = names
        self.total = total
        self.offset = 0

    def stored(self, chunks: list[tuple[str, int]]) -> None:
        sizes = [n for _, n in chunks]
        self.shim.channel.push("saved_chunks", {"names": self.names, "bytes": self.total, "offset": self.offset,
                                                "chunks": [d for d, _ in chunks], "chunkBytes": sizes})
        self.offset += sum(sizes)


class _LoadProgress:
    """`progress` events ({op: "load", done, total} bytes read) pushed while blobs are read, at most
    every 0.1 s plus a last one, so a coordinator can show a long load advancing."""

    INTERVAL = 0.1

    def __init__(self, shim: "Shim", blobs: list[Any]) -> None:
        self.shim = shim
        self.total = sum(int(b.get("bytes") or 0) for b in blobs if isinstance(b, dict))
        self.done = 0
        self.last = 0.0

    def read(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.INTERVAL:
            self.last = now
            self._push()

    def finish(self) -> None:
        self._push()

    def _push(self) -> None:
        self.shim.channel.push("progress", {"op": "load", "done": self.done, "total": max(self.total, self.done)})


def _load_each(blobs: list[Any], d: Any, bufs: list[memoryview], rec: Any, verify: bool, args: dict[str, Any],
               results: list[dict[str, Any]], loaded: list[str], progress: "_LoadProgress | None" = None) -> int:
    """Loads each blob spec into the namespace, appending one result per spec and the names
    bound to `loaded`; returns the bytes read for the blobs that loaded."""
    loaded_bytes = 0
    for spec in blobs:
        t0 = time.perf_counter()
        res: dict[str, Any] = {"file": spec.get("file"), "ok": False}
        try:
            want = _want_checksum(spec)
            raw, got = _read_blob(spec, d, bufs, want[0] if want else None, progress.read if progress else None,
                                  args.get("chunksDir"))
            values = _decode(raw, spec, want, got)
            bound = _bound(values, spec)
        except _LoadError as e:
            res["error"] = {"kind": e.kind, "message": str(e)}
        else:
            ns = rec.ns
            created = [n for n in bound if n not in ns]
            ns.update(bound)  # all or nothing: only after the whole group decoded
            res.update(ok=True, names=list(bound), created=created)
            loaded.extend(bound)
            loaded_bytes += len(raw)
            if verify:
                from . import arraymemo
                from .probe import probe

                with arraymemo.shared_digests():
                    res["fingerprints"] = {n: probe(v, ns, algo=args.get("algo") or None).digest
                                           for n, v in bound.items()}
            del values, bound  # unbound members of the group are dropped here
        res["seconds"] = time.perf_counter() - t0
        results.append(res)
    return loaded_bytes


class _LoadError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _want_checksum(spec: dict[str, Any]) -> tuple[str, str] | None:
    try:
        want = chunksum.parse(spec)
    except ValueError as e:
        raise _LoadError("checksum", str(e)) from None
    if want is None and spec.get("requireChecksum", True):
        raise _LoadError("checksum", "no checksum given (`checksum` or `sha256`)")
    return want


def _read_blob(spec: dict[str, Any], d: Any, bufs: list[memoryview],
               algorithm: str | None, on_read: Any = None, cas_root: Any = None) -> tuple[Any, str | None]:
    """The blob's bytes (a bytearray, or for a large blob read from disk an mmap: fresh_buffer.py) and, when `algorithm` is given, their checksum, computed by worker threads
    on chunk k while this thread reads (or copies) chunk k+1. `on_read(n)` is told of each chunk."""
    if spec.get("chunks") is not None:
        return _read_chunked(spec, cas_root, algorithm, on_read)
    staged = spec.get("stagedSource")
    if staged is not None:
        return _read_staged(staged, spec, algorithm, on_read)
    if algorithm == chunksum.SHA256_CHUNKS:  # staged or sent bytes of a format 3 blob: sum them at its chunk sizes
        raw, _ = _read_blob(spec, d, bufs, None, on_read)
        try:
            return raw, chunksum.sum_sized([memoryview(raw)], _sizes_of(spec, len(raw)))
        except ValueError as e:
            raise _LoadError("checksum", f"{chunksum.SHA256_CHUNKS}: {e}") from None
    if spec.get("file") is not None:
        name = str(spec["file"])
        if d is not None and (os.sep in name or name in ("", ".", "..")):
            raise _LoadError("format", f"blob file {name!r} is not a plain name inside {d}")
        path = name if d is None else os.path.join(str(d), name)
        try:
            fd, size = _open_regular(path, spec.get("bytes"))
            f = open(fd, "rb", buffering=0)  # owns fd from here
            with f, _maybe_summer(algorithm) as summer:
                raw = fresh_buffer(size)  # faulted in by readinto while the summer hashes earlier chunks
                view = memoryview(raw)
                got = 0
                while got < size:
                    end = min(got + chunksum.CHUNK, size)
                    start = got
                    while got < end:
                        n = f.readinto(view[got:end])
                        if not n:
                            break
                        got += n
                    if got != end:
                        break
                    if summer is not None:
                        summer.add([view[start:end]])
                    if on_read is not None:
                        on_read(end - start)
                if got != size:
                    raise _LoadError("io", f"short read {got}/{size} bytes")
                checksum = summer.hexdigest() if summer is not None else None
            del view
            return raw, checksum
        except OSError as e:
            raise _LoadError("io", f"{type(e).__name__}: {e}") from None
    span = spec.get("buffers")
    if not (isinstance(span, list) and len(span) == 2):
        raise _LoadError("format", "blob needs `file` or `buffers: [first, count]`")
    first, count = int(span[0]), int(span[1])
    if first < 0 or first + count > len(bufs):
        raise _LoadError("format", f"buffers [{first}, {count}] out of range ({len(bufs)} sent)")
    parts = [memoryview(p).cast("B") for p in bufs[first : first + count]]
    raw = bytearray(sum(p.nbytes for p in parts))
    with _maybe_summer(algorithm) as summer:
        if summer is not None:  # sums the request's buffers while they are copied
            for pieces in chunksum.chunks(parts):
                summer.add(pieces)
        pos = 0
        for p in parts:
            raw[pos : pos + p.nbytes] = p
            pos += p.nbytes
            if on_read is not None:
                on_read(p.nbytes)
        checksum = summer.hexdigest() if summer is not None else None
    return raw, checksum


def _read_staged(staged: Any, spec: dict[str, Any], algorithm: str | None, on_read: Any) -> tuple[bytearray, str | None]:
    """Bytes staged by stage_chunk (staging.Staged), used in place; the checksum from the digests
    of their chunks, taken as they arrived, or else computed here."""
    from .staging import Staged

    if not isinstance(staged, Staged):
        raise _LoadError("format", "stagedSource is set by the staging op only")
    if staged.error is not None:
        raise _LoadError("checksum", staged.error)
    raw = staged.data
    if on_read is not None:
        on_read(len(raw))
    if algorithm is None:
        return raw, None
    got = staged.checksum(algorithm, spec.get("chunkBytes"))
    if got is not None:
        return raw, got
    try:
        if algorithm == chunksum.SHA256_CHUNKS:
            return raw, chunksum.sum_sized([memoryview(raw)], _sizes_of(spec, len(raw)))
        return raw, chunksum.checksum_bytes(raw, algorithm)
    except ValueError as e:
        raise _LoadError("checksum", f"{algorithm}: {e}") from None


def _read_chunked(spec: dict[str, Any], cas_root: Any, algorithm: str | None, on_read: Any = None) -> tuple[Any, str]:
    """Format v2: the blob from its content-addressed chunks, each checked against its name."""
    digests = spec.get("chunks")
    total = spec.get("bytes")
    if not isinstance(cas_root, str) or not cas_root:
        raise _LoadError("format", "a chunked blob needs args.chunksDir")
    if not (isinstance(digests, list) and all(isinstance(x, str) for x in digests)) or not isinstance(total, int):
        raise _LoadError("format", "chunks must be a list of SHA-256 digests, with bytes")
    sizes = spec.get("chunkBytes")
    expected = chunksum.SHA256_8M if sizes is None else chunksum.SHA256_CHUNKS
    if algorithm not in (None, expected):
        raise _LoadError("checksum", f"this chunked blob's checksum is {expected}, not {algorithm}")
    try:
        return cas.read_chunks(cas_root, digests, total, on_read, sizes)
    except cas.ChunkError as e:
        raise _LoadError("checksum", str(e)) from None
    except OSError as e:
        raise _LoadError("io", f"{type(e).__name__}: {e}") from None


def _sizes_of(spec: dict[str, Any], total: int) -> list[int]:
    sizes = spec.get("chunkBytes")
    if not (isinstance(sizes, list) and all(type(n) is int and n > 0 for n in sizes)):
        raise _LoadError("checksum", f"a {chunksum.SHA256_CHUNKS} checksum needs chunkBytes (the blob's chunk sizes)")
    return sizes


def _open_regular(path: str, expected: Any) -> tuple[int, int]:
    """Opens a blob file for reading only if it is a regular file of the expected size: no symlink
    followed, and a FIFO or device never blocks the open (O_NONBLOCK) and is refused by fstat
    before any read; a file larger than the manifest says (a sparse 100 GB file) is never read."""
    _check_entry(path, os.lstat(path), expected)  # before opening: opening a device may act
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _LoadError("io", f"{path} is a symbolic link; refused") from None
        raise
    try:
        st = os.fstat(fd)
        _check_entry(path, st, expected)  # again on the descriptor: the entry may have been swapped
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def _check_entry(path: str, st: os.stat_result, expected: Any) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise _LoadError("io", f"{path} is a symbolic link; refused")
    if not stat.S_ISREG(st.st_mode):
        raise _LoadError("io", f"{path} is not a regular file (a FIFO, device or directory); refused")
    if expected is not None and (not isinstance(expected, int) or st.st_size != expected):
        raise _LoadError("io", f"{path} is {st.st_size} bytes, the manifest says {expected!r}; refused")


class _NoSummer:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        pass


def _maybe_summer(algorithm: str | None) -> Any:
    return chunksum.Summer(algorithm) if algorithm else _NoSummer()


def _decode(raw: Any, spec: dict[str, Any], want: tuple[str, str] | None, got: str | None) -> dict[str, Any]:
    if want is not None:
        algo, hexd = want
        got_hex = (got or "").partition(":")[2]
        if got_hex != hexd:
            raise _LoadError("checksum", f"{algo} mismatch: expected {hexd}, got {got_hex}")
    if spec.get("bytes") is not None and int(spec["bytes"]) != len(raw):
        raise _LoadError("format", f"length {len(raw)} != expected {spec['bytes']}")
    mv = memoryview(raw)
    if len(raw) < 24 or bytes(mv[:8]) != MAGIC or bytes(mv[-8:]) != END:
        raise _LoadError("format", "not an nbferry blob (bad magic)")
    (flen,) = struct.unpack("<Q", mv[-16:-8])
    try:
        footer = json.loads(bytes(mv[len(raw) - 16 - flen : len(raw) - 16]))
    except Exception as e:
        raise _LoadError("format", f"bad footer: {e}") from None
    if footer.get("python") != PY and footer.get("pickler"):
        raise _LoadError("format", f"blob written by Python {footer.get('python')}, this kernel is {PY}")
    po, pl = footer["pickle"]
    buffers = [mv[o : o + n] for o, n in footer["buffers"]]
    try:
        # Unpickling a group allocates many objects at once: no collection sweeps the heap meanwhile.
        with budget.gc_paused():
            values = serialize.loads_group(mv[po : po + pl], buffers)
    except Exception as e:
        raise _LoadError("unpickle", f"{type(e).__name__}: {e}") from None
    want_names = spec.get("names")
    if want_names is not None and sorted(want_names) != sorted(values):
        raise _LoadError("names", f"blob holds {sorted(values)}, expected {sorted(want_names)}")
    return values


def _bound(values: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The names to bind: `bind` (a subset of the blob's names) or all of them. The whole group
    was decoded either way, so identity among the bound names is the blob's."""
    bind = spec.get("bind")
    if bind is None:
        return values
    if not isinstance(bind, list) or not all(isinstance(n, str) for n in bind):
        raise _LoadError("names", "bind must be a list of names")
    want = set(bind)
    extra = sorted(want - values.keys())
    if extra:
        raise _LoadError("names", f"bind names {extra} are not in the blob ({sorted(values)})")
    return {n: v for n, v in values.items() if n in want}


# Fingerprinting loaded values gives later cells a baseline to compare with, but re-reads every
# byte just loaded: for big loads skip it (the verification pass fingerprints them anyway, and a
# cell touching a value without a baseline is conservatively counted as modifying it).
_DIGEST_ON_LOAD_MAX_BYTES = 64 << 20


def _after_load(shim: "Shim", names: list[str], digest: bool = True) -> None:
    rec = shim.recorder
    ns = rec.ns
    created = [n for n in names if n not in rec.snapshot]
    for n in names:
        try:
            rec.probe_into(n, ns[n], digest=digest, provenance="loaded")
        except Exception:
            rec.forget(n)
        rec.unknown.discard(n)
    rec.sync_snapshot(names)
    rec._emit({"kind": "load", "created": sorted(created), "modified": sorted(set(names) - set(created)),
               "deleted": [], "startedAt": time.time()}, writes=list(names))


def _err(e: BaseException) -> dict[str, str]:
    kind = "unserializable" if isinstance(e, (pickle.PicklingError, TypeError, AttributeError)) else (
        "io" if isinstance(e, OSError) else "undefined" if isinstance(e, KeyError) else "error")
    return {"kind": kind, "message": f"{type(e).__name__}: {e}"[:1000]}


def _unlink(p: str) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass


