"""Closed file objects: checkpointable stand-ins, and fingerprints that ignore the OS resource.

`with open("log.txt", "a") as f: ...` leaves a *closed* file object in the namespace. Without a
way to carry it, the cell that made it must be rerun, which repeats its side effect (the append:
ElasticNotebook's F12). A closed file has no OS resource left, so what the user can observe is
its class, `name`, `mode`, text settings and any attributes set on it; those travel.

Supported: closed objects of exactly the stdlib classes `open()` builds: `io.FileIO`, a
Buffered{Reader,Writer,Random} over a FileIO, a TextIOWrapper over one of those. Anything else
(open files, closed StringIO/GzipFile, subclasses) stays unserializable, as before.

Rebuilding never opens a path: the layers are constructed over an anonymous in-memory file
(`memfd_create`; `os.devnull` where that is missing), closed at once, then given the original
attributes. Not preserved: the file descriptor, position, `closefd`, buffer size, the `newline`
argument (not readable from the object), and identity with a separately held inner layer
(`b = f.buffer` in another variable comes back as its own object).
"""

from __future__ import annotations

import io
import os
from typing import Any

_BUFFERED: frozenset[type] = frozenset({io.BufferedReader, io.BufferedWriter, io.BufferedRandom})
FILE_TYPES: frozenset[type] = frozenset({io.FileIO, io.TextIOWrapper}) | _BUFFERED
_CLOSED_FLAG = "__IOBase_closed"  # set by IOBase.close() in the instance dict; ours get it anew


def _attrs(layer: Any) -> dict[str, Any]:
    d = getattr(layer, "__dict__", None)
    return {k: v for k, v in d.items() if k != _CLOSED_FLAG} if isinstance(d, dict) else {}


def _closed(obj: Any) -> bool:
    try:
        return obj.closed is True
    except Exception:
        return False


def closed_file_state(obj: Any) -> tuple[Any, ...] | None:
    """(outer class, raw mode, text options, per-layer attributes) for a supported closed file;
    None otherwise. Only reads attributes; never touches the object's state."""
    t = type(obj)
    if t not in FILE_TYPES or not _closed(obj):
        return None
    try:
        text: tuple[Any, ...] | None = None
        layers = [obj]
        buf = obj
        if t is io.TextIOWrapper:
            text = (obj.encoding, obj.errors, obj.line_buffering, obj.write_through)
            buf = obj.buffer
            if type(buf) not in _BUFFERED:
                return None
            layers.append(buf)
        raw = buf.raw if type(buf) in _BUFFERED else buf
        if raw is not buf:
            layers.append(raw)
        if type(raw) is not io.FileIO or not _closed(raw):
            return None
        return (t, type(buf) if buf is not raw else None, raw.mode, text, tuple(_attrs(x) for x in layers))
    except Exception:
        return None


def fingerprint_key(obj: Any) -> tuple[Any, ...] | None:
    """Content of a closed file for digests: (type, name, mode, closed) plus user attributes."""
    st = closed_file_state(obj)
    if st is None:
        return None
    extra = tuple(tuple(sorted((k, v) for k, v in d.items() if k not in ("name", "mode"))) for d in st[4])
    return ("\x00closed-file", f"{st[0].__module__}.{st[0].__qualname__}", getattr(obj, "name", None),
            getattr(obj, "mode", None), True, extra)


def reduce_closed(obj: Any) -> tuple[Any, ...] | None:
    """A pickle reduce value for a supported closed file (None: not one)."""
    st = closed_file_state(obj)
    if st is None:
        return None
    outer, buf_cls, raw_mode, text, attrs = st
    return (rebuild_closed_file, (outer, buf_cls, raw_mode, text, attrs))


def _scratch_fd() -> int:
    """An fd that is no file system path, so loading never creates or touches a file."""
    try:
        return os.memfd_create("nbferry-closed-file", os.MFD_CLOEXEC)  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return os.open(os.devnull, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))


def rebuild_closed_file(outer: type, buf_cls: type | None, raw_mode: str, text: tuple[Any, ...] | None,
                        attrs: tuple[dict[str, Any], ...]) -> Any:
    fd = _scratch_fd()
    try:
        raw = io.FileIO(fd, raw_mode, closefd=True)
    except BaseException:
        os.close(fd)
        raise
    layers: list[Any] = [raw]
    try:
        if buf_cls is not None:
            layers.insert(0, buf_cls(raw))
        if outer is io.TextIOWrapper:
            enc, errors, line_buffering, write_through = text or (None, None, False, False)
            layers.insert(0, io.TextIOWrapper(layers[0], encoding=enc, errors=errors,
                                              line_buffering=line_buffering, write_through=write_through))
    finally:
        layers[0].close()  # closes every layer below it, and the scratch fd
    for layer, d in zip(layers, attrs):
        layer.__dict__.update(d)
    return layers[0]
