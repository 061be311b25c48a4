"""Attach/detach: one Shim per process, holding the recorder, history and comm channel."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from . import audit as audit_mod
from . import envreads
from ._version import PROTOCOL, VERSION
from .channel import TARGET, Channel
from .gate import NamespaceGate
from .history import History, Record
from .lineage import Lineage
from .recorder import Recorder
from .unobserved import Unobserved

_shim: "Shim | None" = None


class Shim:
    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.instance_id = uuid.uuid4().hex
        self.attached_at = time.time()
        self.history = History()
        self.recorder = Recorder(shell, self.history, self._on_record)
        self.lineage = Lineage()
        self.unobserved = Unobserved(shell, self.recorder.exec_thread, self._is_ours)
        from . import lane, ops

        self.gate = NamespaceGate()
        self.background: Any = None  # background.BackgroundLoad, made by the first load_background
        handlers = ops.build(self)
        self.channel = Channel(handlers, lambda: handlers["hello"]({}, [])[0], lane.build(self, handlers), self.gate)
        self.channel.own_message = self.unobserved.own_message
        self.channel.before_request = self._before_request
        self.unobserved.before_foreign = self._before_request
        self._comm_registered = False

    def _before_request(self) -> None:
        """A request or notebook comm message on the main thread: the last cell's check first
        (idlecheck.py). Lane requests wait for it in lane.py instead."""
        if threading.get_ident() == self.recorder.exec_thread:
            self.recorder.settle()

    def _on_record(self, rec: Record) -> None:
        if self.channel.comms:
            self.channel.push("records", {"records": [rec], "lastSeq": self.history.last_seq})

    def _is_ours(self, msg_type: str, content: dict[str, Any]) -> bool:
        """A comm message for nbferry's own channel (not notebook code)."""
        if msg_type == "comm_open":
            return content.get("target_name") == TARGET
        return any(getattr(c, "comm_id", None) == content.get("comm_id") for c in self.channel.comms)

    def start(self) -> None:
        self._pin_kernel_json()
        self.recorder.scan_existing()
        ev = self.shell.events
        ev.register("pre_run_cell", self.recorder.pre_run_cell)
        ev.register("post_run_cell", self.recorder.post_run_cell)
        ev.register("pre_execute", self.recorder.pre_execute)
        self.unobserved.install()
        audit_mod.install(self.recorder.audit)
        envreads.install(self.recorder.env_reads)
        try:
            import comm

            comm.get_comm_manager().register_target(TARGET, self.channel.on_open)
            self._comm_registered = True
        except Exception:
            self._comm_registered = False

    def _pin_kernel_json(self) -> None:
        """jupyter_client packs every kernel message with `json.dumps`, looked up at each call: a
        cell that rebinds it (json.dumps = ...) cuts the kernel off from every client, nbferry
        included, and its requests wait forever. Injected, this module's `json` is the snapshot taken
        at injection (inject.py.tmpl); the packer gets it too. Undone by stop()."""
        self._kernel_json: Any = None
        try:
            import jupyter_client.session as session
        except Exception:
            return
        live = getattr(session, "json", None)
        if live is not None and live is not json and getattr(json, "nbferry_live", None) is live:
            self._kernel_json = live
            session.json = json

    def _unpin_kernel_json(self) -> None:
        if self._kernel_json is None:
            return
        try:
            import jupyter_client.session as session

            if session.json is json:
                session.json = self._kernel_json
        except Exception:
            pass
        self._kernel_json = None

    def stop(self) -> None:
        self._unpin_kernel_json()
        self._before_request()  # the last cell's record
        self.recorder.enabled = False
        ev = self.shell.events
        for name, cb in (("pre_run_cell", self.recorder.pre_run_cell), ("post_run_cell", self.recorder.post_run_cell),
                         ("pre_execute", self.recorder.pre_execute)):
            try:
                ev.unregister(name, cb)
            except ValueError:
                pass
        audit_mod.uninstall(self.recorder.audit)
        envreads.uninstall(self.recorder.env_reads)
        self.unobserved.uninstall()
        if self.background is not None:
            self.background.unhook()
        for c in list(self.channel.comms):
            try:
                c.close()
            except Exception:
                pass
        if self._comm_registered:
            try:
                import comm

                comm.get_comm_manager().unregister_target(TARGET, self.channel.on_open)
            except Exception:
                pass


def attach(shell: Any = None) -> Shim:
    """Start recording in `shell` (default: the running IPython). Idempotent."""
    global _shim
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            raise RuntimeError("nbferry_shim.attach(): no running IPython shell")
    if _shim is not None:
        if _shim.shell is shell:
            return _shim
        _shim.stop()
    _shim = Shim(shell)
    _shim.start()
    return _shim


def detach() -> None:
    global _shim
    if _shim is not None:
        _shim.stop()
        _shim = None


def current() -> "Shim | None":
    return _shim


class _JsonText:
    """repr() is raw JSON, so IPython's text/plain for user_expressions is parseable as-is."""

    def __init__(self, obj: Any) -> None:
        self.text = json.dumps(obj, sort_keys=True)

    def __repr__(self) -> str:
        return self.text


def status() -> _JsonText:
    s = _shim
    return _JsonText({
        "version": VERSION,
        "protocol": PROTOCOL,
        "attached": s is not None,
        "instanceId": s.instance_id if s else None,
        "target": TARGET,
        "lastSeq": s.history.last_seq if s else 0,
        "commRegistered": bool(s and s._comm_registered),
        "origin": _origin(),
    })


def _origin() -> str:
    """"injected" when the coordinator sent the sources (inject.py.tmpl names them `<nbferry_shim
    VERSION>/...`), "installed" when imported from a pip-installed package (the kernelspec's way)."""
    spec = getattr(__import__("sys").modules.get(__package__), "__spec__", None)
    origin = str(getattr(spec, "origin", "") or "")
    return "injected" if origin.startswith("<nbferry_shim") else "installed"
