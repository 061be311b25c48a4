"""A minimal coordinator stand-in over jupyter_client: execute, comm open, comm requests."""

from __future__ import annotations

import itertools
import queue
import time
import uuid
from typing import Any

from jupyter_client.manager import start_new_kernel

from nbferry_shim import msgpack_codec
from shimsrc import STATUS_EXPR, fill


class Kernel:
    def __init__(self) -> None:
        self.km, self.kc = start_new_kernel(startup_timeout=60)
        self.comm_id: str | None = None
        self._ids = itertools.count(1)
        self.events: list[tuple[dict[str, Any], Any, list[bytes], dict[str, Any]]] = []

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def execute(self, code: str, *, silent: bool = False, cell_id: str | None = None,
                user_expressions: dict[str, str] | None = None, timeout: float = 60) -> dict[str, Any]:
        content = {"code": code, "silent": silent, "store_history": not silent,
                   "user_expressions": user_expressions or {}, "allow_stdin": False, "stop_on_error": True}
        msg = self.kc.session.msg("execute_request", content, metadata={"cellId": cell_id} if cell_id else {})
        self.kc.shell_channel.send(msg)
        reply = self._shell_reply(msg["header"]["msg_id"], timeout)
        self._drain_iopub(msg["header"]["msg_id"], timeout)
        return reply["content"]  # type: ignore[no-any-return]

    def inject(self) -> dict[str, Any]:
        return self.execute(fill(), silent=True, user_expressions={"nbferry": STATUS_EXPR})

    def _shell_reply(self, msg_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.time() + timeout
        while True:
            m = self.kc.get_shell_msg(timeout=max(0.1, deadline - time.time()))
            if m["parent_header"].get("msg_id") == msg_id:
                return m  # type: ignore[no-any-return]

    def _drain_iopub(self, msg_id: str, timeout: float) -> None:
        """Read iopub until this request's idle; keep comm messages as events."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                m = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                continue
            if m["msg_type"] == "comm_msg":
                data = m["content"]["data"]
                bufs = [bytes(b) for b in m.get("buffers", [])]
                payload = msgpack_codec.unpackb(bufs[0]) if bufs else None
                self.events.append((data, payload, bufs[1:], m["parent_header"]))
            if (m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
                    and m["parent_header"].get("msg_id") == msg_id):
                return
        raise TimeoutError("no idle")

    def open_comm(self) -> Any:
        self.comm_id = uuid.uuid4().hex
        msg = self.kc.session.msg("comm_open", {"comm_id": self.comm_id, "target_name": "nbferry", "data": {}})
        self.kc.shell_channel.send(msg)
        self._drain_iopub(msg["header"]["msg_id"], 30)
        ready = [e for e in self.events if e[0].get("op") == "ready"]
        assert ready, self.events
        return ready[-1][1]

    def request(self, op: str, args: dict[str, Any] | None = None, buffers: list[bytes] | None = None,
                timeout: float = 120) -> tuple[dict[str, Any], Any, list[bytes]]:
        rid = next(self._ids)
        content = {"comm_id": self.comm_id, "data": {"op": op, "id": rid}}
        msg = self.kc.session.msg("comm_msg", content)
        self.kc.session.send(self.kc.shell_channel.socket, msg,
                             buffers=[msgpack_codec.packb(args or {})] + list(buffers or []))
        self._drain_iopub(msg["header"]["msg_id"], timeout)
        replies = [e for e in self.events if e[0].get("op") == "reply" and e[0].get("id") == rid]
        assert len(replies) == 1, self.events[-3:]
        data, payload, extra, _ = replies[0]
        return data, payload, extra

    def ok(self, op: str, args: dict[str, Any] | None = None, buffers: list[bytes] | None = None) -> tuple[Any, list[bytes]]:
        data, payload, extra = self.request(op, args, buffers)
        assert data["ok"], (data, payload)
        return payload, extra
