"""Side effects and file inputs of a running cell, via a PEP 578 audit hook.

Audit hooks cannot be removed, so the hook is installed once per process and is a single
flag test while no user cell runs (it also fires for every `id()` call). Effects that are the
interpreter's own housekeeping (caches, parallel workers) are dropped by `internal`'s rules.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Iterable

from .internal import InternalRules

_MAX_EVENTS = 256
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

EFFECT_EVENTS: dict[str, str] = {
    "os.remove": "file-remove", "os.rename": "file-rename", "os.rmdir": "dir-remove",
    "os.mkdir": "dir-create", "os.truncate": "file-write", "os.symlink": "file-link",
    "os.link": "file-link", "os.chmod": "file-meta", "os.chown": "file-meta", "os.utime": "file-meta",
    "shutil.rmtree": "dir-remove", "shutil.copyfile": "file-write", "shutil.move": "file-rename",
    "shutil.make_archive": "file-write", "shutil.unpack_archive": "file-write",
    "os.chdir": "chdir", "os.putenv": "env", "os.unsetenv": "env",
    "subprocess.Popen": "subprocess", "os.system": "subprocess", "os.exec": "subprocess",
    "os.posix_spawn": "subprocess", "os.spawn": "subprocess", "os.fork": "subprocess",
    "os.forkpty": "subprocess", "os.startfile": "subprocess", "os.kill": "signal", "os.killpg": "signal",
    "socket.connect": "network", "socket.sendto": "network", "socket.bind": "network",
    "socket.getaddrinfo": "network", "urllib.Request": "network", "http.client.connect": "network",
    "ftplib.connect": "network", "smtplib.connect": "network", "poplib.connect": "network",
    "imaplib.open": "network", "nntplib.connect": "network", "telnetlib.Telnet.open": "network",
    "webbrowser.open": "network", "sqlite3.connect": "database",
}
INPUT_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob"})


def _ignored_prefixes() -> tuple[str, ...]:
    home = os.path.expanduser("~")
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, "/proc", "/sys", "/dev", "/usr/share",
             "/usr/lib", "/etc", os.path.join(home, ".ipython"), os.path.join(home, ".cache"),
             os.path.join(home, ".config", "matplotlib"), os.path.join(home, ".local", "lib"),
             os.path.join(home, ".local", "share", "jupyter")}
    for p in sys.path:
        if p and ("site-packages" in p or "dist-packages" in p or p.endswith(".zip")):
            roots.add(p)
    return tuple(sorted(os.path.realpath(r).rstrip("/") + "/" for r in roots if r))


class CellAudit:
    """Collects effects for the cell that is running; `start`/`stop` bracket it."""

    def __init__(self, extra_cache_dirs: Iterable[str] = ()) -> None:
        self.active = False
        self.rules = InternalRules(extra_cache_dirs)
        self.effects: dict[tuple[str, str], None] = {}
        self.inputs: dict[str, str] = {}  # path -> "file" | "dir"
        self.written: set[str] = set()
        self.ignored = _ignored_prefixes()
        self._busy = threading.local()

    def start(self) -> None:
        self.effects = {}
        self.inputs = {}
        self.written = set()
        self.active = True

    def stop(self) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
        self.active = False
        effects = [{"kind": k, "detail": d} for k, d in self.effects]
        inputs = []
        for path, kind in self.inputs.items():
            if path in self.written:
                continue  # produced by this very cell
            item: dict[str, Any] = {"path": path, "kind": kind}
            try:
                st = os.stat(path)
                item["size"] = st.st_size
                item["mtimeNs"] = st.st_mtime_ns
            except OSError:
                item["missing"] = True
            inputs.append(item)
        return effects, inputs

    def on_event(self, event: str, args: tuple[Any, ...]) -> None:
        if getattr(self._busy, "v", False):
            return
        self._busy.v = True
        try:
            self._handle(event, args)
        except Exception:
            pass
        finally:
            self._busy.v = False

    def _handle(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            p = self._path(path)
            if p is None:
                return
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and bool(flags & _WRITE_FLAGS))
            if writing:
                self.written.add(p)
                if not self._internal_path("file-write", p):
                    self._effect("file-write", p)
            elif not p.startswith(self.ignored) and len(self.inputs) < _MAX_EVENTS:
                self.inputs.setdefault(p, "file")
            return
        if event in INPUT_EVENTS:
            if _in_import(metadata=True):
                return  # the import system or a package-metadata lookup scanning sys.path entries
            p = self._path(args[0] if args else ".")
            if p is not None and not p.startswith(self.ignored) and len(self.inputs) < _MAX_EVENTS:
                self.inputs.setdefault(p, "dir")
            return
        kind = EFFECT_EVENTS.get(event)
        if kind is None:
            return
        if kind.startswith(("file", "dir")):
            paths = [self._path(a) for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
            for p in paths:
                if p is not None:
                    self.written.add(p)
            if event == "os.mkdir" and paths and paths[0] is not None and os.path.isdir(paths[0]):
                return  # already exists: mkdir will fail (os.makedirs(..., exist_ok=True))
            real = [p for p in paths if p]
            if real and all(self._internal_path(kind, p) for p in real):
                return
            detail = " -> ".join(real) or event
        elif kind == "subprocess":
            if self.rules.subprocess(event, args):
                return
            detail = _short(args[1] if event == "subprocess.Popen" and len(args) > 1 else args[0] if args else event)
        elif kind == "signal" and self.rules.signal():
            return
        elif kind == "network":
            addr = args[1] if event in ("socket.connect", "socket.sendto", "socket.bind") and len(args) > 1 else None
            unix = self._path(addr) if isinstance(addr, (str, bytes)) and addr else None
            if unix is not None and self.rules.runtime_path(unix):
                return  # a parallel runtime's own unix socket (multiprocessing forkserver)
            detail = _short(addr if addr is not None else args[0] if args else event)
        elif kind == "database":
            p = self._path(args[0]) if args and isinstance(args[0], (str, bytes, os.PathLike)) else None
            if p is not None and self.rules.cache_path(kind, p):
                return  # IPython's own history database
            detail = _short(args[0] if args else event)
        else:
            if kind == "env" and _in_import():
                return  # libraries set env vars while being imported (e.g. OPENBLAS_MAIN_FREE)
            detail = _short(args[0] if args else event)
        self._effect(kind, detail)

    def _internal_path(self, kind: str, p: str) -> bool:
        return self.rules.cache_path(kind, p) or self.rules.runtime_path(p)

    def _effect(self, kind: str, detail: str) -> None:
        if len(self.effects) < _MAX_EVENTS:
            self.effects[(kind, detail)] = None

    @staticmethod
    def _path(p: Any) -> str | None:
        if isinstance(p, int) or p is None:
            return None
        try:
            return os.path.abspath(os.fsdecode(p))
        except Exception:
            return None


_METADATA_MODULES = ("importlib.metadata", "importlib_metadata", "pkg_resources")


def _in_import(metadata: bool = False) -> bool:
    """Raised by the import machinery (or, with `metadata`, by a package-metadata lookup)."""
    f = sys._getframe(3)
    for _ in range(64):
        if f is None:
            return False
        if f.f_code.co_filename.startswith("<frozen importlib"):
            return True
        if metadata and str(f.f_globals.get("__name__", "")).startswith(_METADATA_MODULES):
            return True
        f = f.f_back
    return False


def _short(x: Any) -> str:
    if isinstance(x, (list, tuple)):
        x = " ".join(os.fsdecode(a) if isinstance(a, (bytes, os.PathLike)) else str(a) for a in x)
    s = os.fsdecode(x) if isinstance(x, bytes) else str(x)
    return s if len(s) <= 200 else s[:197] + "..."


# Events `_handle` looks at. Everything else returns at the first test: the hook runs for every
# audited event of the process (an import-heavy cell fires ~50,000 `builtins.id` alone).
RELEVANT_EVENTS = frozenset({"open", *INPUT_EVENTS, *EFFECT_EVENTS})


def _make_gate() -> Any:
    """The process-wide hook (a plain function: it runs for every audited event)."""
    box: list[CellAudit | None] = [None]
    relevant = RELEVANT_EVENTS

    def gate(event: str, args: tuple[Any, ...]) -> None:
        if event in relevant:
            t = box[0]
            if t is not None and t.active:
                t.on_event(event, args)

    gate.box = box  # type: ignore[attr-defined]
    return gate


def install(audit: CellAudit) -> None:
    """Route the (single, permanent) process audit hook to `audit`."""
    gate = getattr(sys, "_nbferry_audit_gate", None)
    if gate is None:
        gate = _make_gate()
        sys.addaudithook(gate)
        sys._nbferry_audit_gate = gate  # type: ignore[attr-defined]
    gate.box[0] = audit


def uninstall(audit: CellAudit) -> None:
    gate = getattr(sys, "_nbferry_audit_gate", None)
    if gate is not None and gate.box[0] is audit:
        gate.box[0] = None
