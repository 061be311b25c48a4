"""Which audited effects are the interpreter's own housekeeping, not external side effects.

A cell flagged with side effects is not rerun by the planner, so noise here costs a lot: an
`import matplotlib` cell that created its cache dir, or a `cross_val_score(n_jobs=2)` cell whose
joblib pool spawned workers, would otherwise be pinned. The rules (PROTOCOL.md §3):

1. **Python caches, any caller.** Paths with a `__pycache__` component or under
   `sys.pycache_prefix`; matplotlib's config and cache dirs (font list, its lock) and the
   ancestors `os.makedirs` creates for them; IPython's own profile dir (history database).
2. **Read-only system probes, any caller.** A program run without a shell whose name is in
   PROBE_PROGRAMS (`lscpu` for loky's core count, `fc-list` for matplotlib's font scan, ...).
3. **Parallel runtimes.** When the innermost frame that is either user code (`__main__`, i.e.
   the notebook and its functions) or a PARALLEL_RUNTIMES module is the latter (user code
   calling `open()` from a joblib thread is still the user's):
   * forking this interpreter, or running it (`sys.executable`) as a worker;
   * signals (terminating its workers);
   * files, dirs and unix sockets under the temp roots (`tempfile.gettempdir()`, `/dev/shm`,
     `$JOBLIB_TEMP_FOLDER`): memmapped arguments, `pymp-*` dirs, forkserver sockets.
   The command line of a known worker entry point (WORKER_MARKERS) run by `sys.executable`
   counts as a worker from any caller.
Effects *inside* worker processes were never visible to this process's audit hook.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any, Iterable

PARALLEL_RUNTIMES = ("multiprocessing", "concurrent.futures", "joblib", "loky")
PROBE_PROGRAMS = frozenset({"lscpu", "nproc", "getconf", "fc-list", "fc-match", "uname"})
WORKER_MARKERS = ("multiprocessing.spawn", "multiprocessing.forkserver", "multiprocessing.resource_tracker",
                  "loky.backend.popen_loky", "loky.backend.resource_tracker", "--multiprocessing-fork")
_FORK_EVENTS = frozenset({"os.fork", "os.forkpty"})
_MAX_FRAMES = 256


def _norm(p: str) -> str:
    return os.path.realpath(p).rstrip(os.sep) + os.sep


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return (path.rstrip(os.sep) + os.sep).startswith(roots)


def _mpl_dirs() -> list[str]:
    """matplotlib's config/cache dirs as it computes them, without importing or calling it
    (its getters create the dirs)."""
    env = os.environ.get("MPLCONFIGDIR")
    if env:
        return [env]
    home = os.path.expanduser("~")
    return [os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "matplotlib"),
            os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "matplotlib"),
            os.path.join(home, ".matplotlib")]


class InternalRules:
    def __init__(self, extra_cache_dirs: Iterable[str] = ()) -> None:
        caches = _mpl_dirs() + [d for d in extra_cache_dirs if d]
        if getattr(sys, "pycache_prefix", None):
            caches.append(sys.pycache_prefix)  # type: ignore[arg-type]
        self.caches = tuple(sorted({_norm(d) for d in caches}))
        tmp = _norm(tempfile.gettempdir())
        self.temp_roots = tuple(sorted({tmp, "/dev/shm/", *(_norm(d) for d in [os.environ.get("JOBLIB_TEMP_FOLDER")] if d)}))
        self.mpl_temp = tmp + "matplotlib-"  # matplotlib's fallback when its dirs are not writable
        self.python = os.path.realpath(sys.executable) if sys.executable else ""

    # -- rule 1 --------------------------------------------------------------------------------
    def cache_path(self, kind: str, path: str) -> bool:
        if "__pycache__" in path.split(os.sep):
            return True
        if _under(path, self.caches) or path.startswith(self.mpl_temp):
            return True
        # os.makedirs(cache_dir) creates missing ancestors first (e.g. ~/.cache)
        return kind == "dir-create" and any(c.startswith(path.rstrip(os.sep) + os.sep) for c in self.caches)

    # -- rules 2 and 3 -------------------------------------------------------------------------
    def subprocess(self, event: str, args: tuple[Any, ...]) -> bool:
        if event in _FORK_EVENTS:
            return from_parallel_runtime()
        exe, argv = _program(event, args)
        if argv is not None and argv and os.path.basename(str(argv[0])) in PROBE_PROGRAMS and (
                exe is None or os.path.basename(str(exe)) in PROBE_PROGRAMS):
            return True
        if not self._is_python(exe if exe is not None else (argv[0] if argv else None)):
            return False
        line = " ".join(map(str, argv or ()))
        return any(m in line for m in WORKER_MARKERS) or from_parallel_runtime()

    def runtime_path(self, path: str) -> bool:
        return _under(path, self.temp_roots) and from_parallel_runtime()

    def signal(self) -> bool:
        return from_parallel_runtime()

    def _is_python(self, exe: Any) -> bool:
        if not isinstance(exe, (str, bytes, os.PathLike)) or not self.python:
            return False
        try:
            return os.path.realpath(os.fsdecode(exe)) == self.python
        except Exception:
            return False


def _program(event: str, args: tuple[Any, ...]) -> tuple[Any, list[Any] | None]:
    """(executable or None, argv list or None) of a process-creating audit event; argv is None
    for a shell command string (never a probe: it may redirect or chain)."""
    if event == "subprocess.Popen" and len(args) > 1:
        exe, argv = args[0], args[1]
    elif event in ("os.posix_spawn", "os.exec") and len(args) > 1:
        exe, argv = args[0], args[1]
    elif event == "os.spawn" and len(args) > 2:
        exe, argv = args[1], args[2]
    else:
        return None, None
    if isinstance(argv, (str, bytes, os.PathLike)):
        return exe, None
    try:
        return exe, [os.fsdecode(a) if isinstance(a, (bytes, os.PathLike)) else a for a in argv]
    except TypeError:
        return exe, None


def _runtime_module(name: str) -> bool:
    for r in PARALLEL_RUNTIMES:
        if name == r or name.startswith(r + "."):
            return True
    return ".loky." in name or name.endswith(".loky")  # joblib.externals.loky and vendored copies


def from_parallel_runtime() -> bool:
    """True when the innermost frame that is user code or a parallel runtime is the runtime."""
    f = sys._getframe(1)
    for _ in range(_MAX_FRAMES):
        if f is None:
            return False
        name = f.f_globals.get("__name__")
        if isinstance(name, str) and not name.startswith("nbferry_shim"):
            if name == "__main__":
                return False
            if _runtime_module(name):
                return True
        f = f.f_back
    return False
