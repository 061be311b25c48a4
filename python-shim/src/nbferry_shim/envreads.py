"""Which environment variables a cell read, so that its rerun sees the same values (env replay).

A cell that reads `os.environ` or `os.getenv` computes from the kernel's environment, where another
kernel (another machine, user or job) may hold other values: such a cell counts as nondeterministic,
and everything computed downstream of it is saved rather than recomputed. When its reads are known
exactly (keys of `os.environ` looked up on the cell's thread while it ran), the cell is
deterministic given those values: the checkpoint keeps them with the cell's RNG states (rng.py, key
"env") and a rerun sees them for its duration, whatever the new kernel's environment holds.

Not replayed, so the cell stays nondeterministic: a key whose name looks like a credential (its
value would be written into the checkpoint), the environment read whole (iterated, copied,
measured), `os.environb`, a cell that changed the environment, or more than MAX_BYTES of values.

Lookups are seen by wrapping `os._Environ`'s methods once per process (there is no audit event for
reads); the wrappers forward to whichever tracker is current (`install`/`uninstall`), and cost one
check when no cell is being recorded.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

# Names whose values must not be written into a checkpoint.
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASS|PWD|KEY|CRED|AUTH|SESSION|COOKIE|PRIVATE|CERT|SIGN", re.IGNORECASE)
MAX_BYTES = 64 << 10
# The static reasons (codescan.py) that exact replay answers.
REPLAYABLE_REASONS = frozenset({"environment:environ", "environment:getenv"})


@dataclass
class Reads:
    values: dict[str, str | None] = field(default_factory=dict)  # first value seen; None: not set
    unreplayable: str | None = None  # why the reads cannot be replayed


class Tracker:
    def __init__(self) -> None:
        self.active = False
        self.thread = 0
        self.reads = Reads()

    def start(self) -> None:
        self.reads = Reads()
        self.thread = threading.get_ident()
        self.active = True

    def stop(self) -> Reads:
        self.active = False
        return self.reads

    def on_lookup(self, env: Any, key: Any, value: str | None) -> None:
        r = self.reads
        if env is not os.environ or not isinstance(key, str):
            r.unreplayable = r.unreplayable or "reads os.environb"
        elif key not in r.values:
            r.values[key] = value

    def on_whole(self, what: str) -> None:
        self.reads.unreplayable = self.reads.unreplayable or what


def replay_verdict(reads: Reads) -> str | None:
    """None when `reads` can be replayed; else why not."""
    if reads.unreplayable:
        return reads.unreplayable
    secret = sorted(k for k in reads.values if SECRET_NAME.search(k))
    if secret:
        return f"reads {', '.join(secret[:3])}, which may hold a credential (not written into checkpoints)"
    if sum(len(k) + len(v or "") for k, v in reads.values.items()) > MAX_BYTES:
        return f"reads more than {MAX_BYTES >> 10} KiB of environment values"
    return None


def apply(values: dict[str, str | None]) -> dict[str, str | None]:
    """Sets the environment to `values` (None: unset); returns what to apply to undo it."""
    undo: dict[str, str | None] = {}
    for k, v in values.items():
        undo[k] = os.environ.get(k)
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    return undo


_BOX_ATTR = "_nbferry_env_box"


def _patch() -> list[Any]:
    """Wraps os._Environ once per process; returns the box holding the current tracker."""
    cls = type(os.environ)
    box: list[Any] | None = cls.__dict__.get(_BOX_ATTR)
    if box is not None:
        return box
    box = [None]

    def tracker_for(env: Any) -> Tracker | None:
        t = box[0]
        if t is None or not t.active or threading.get_ident() != t.thread:
            return None
        return t if (env is os.environ or env is getattr(os, "environb", None)) else None

    get: Callable[[Any, Any], Any] = cls.__getitem__

    def __getitem__(self: Any, key: Any) -> Any:
        t = tracker_for(self)
        if t is None:
            return get(self, key)
        try:
            value = get(self, key)
        except KeyError:
            t.on_lookup(self, key, None)
            raise
        t.on_lookup(self, key, value)
        return value

    def whole(name: str, what: str) -> Callable[..., Any]:
        orig: Callable[..., Any] = getattr(cls, name)

        def wrapper(self: Any, *args: Any) -> Any:
            t = tracker_for(self)
            if t is not None:
                t.on_whole(what)
            return orig(self, *args)

        wrapper.__name__ = name
        return wrapper

    cls.__getitem__ = __getitem__  # type: ignore[method-assign]
    for name, what in (("__iter__", "reads the whole environment"), ("__len__", "reads the whole environment"),
                       ("__repr__", "reads the whole environment"),
                       ("copy", "reads the whole environment"), ("__setitem__", "changes the environment"),
                       ("__delitem__", "changes the environment")):
        if name in cls.__dict__:
            setattr(cls, name, whole(name, what))
    setattr(cls, _BOX_ATTR, box)
    return box


def install(tracker: Tracker) -> None:
    _patch()[0] = tracker


def uninstall(tracker: Tracker) -> None:
    box = type(os.environ).__dict__.get(_BOX_ATTR)
    if box is not None and box[0] is tracker:
        box[0] = None
