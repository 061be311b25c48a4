"""The `nbferry` comm: envelope, request dispatch, and pushed events.

Every message: JSON `data` = {"op", "seq", ...} and `buffers[0]` = msgpack payload; further
buffers carry binary chunks (blobs). Requests {op, id} get exactly one {op:"reply", id, ok,
error?} reply.

A comm opened with data `{"lane": true}` (on an ipykernel subshell) is a background lane
(lane.py): its requests are served by the lane handlers, and it receives only the events of its
own requests. ipykernel 7.4 routes a comm's incoming messages to the subshell that last published
on it, so nothing published from the main thread (cell records) may go to a lane comm, nor
anything published from a lane (save progress) to a main-thread comm.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any, Callable

from . import msgpack_codec
from .userbound import UserCodeOverBudget

TARGET = "nbferry"
Handler = Callable[[dict[str, Any], list[memoryview]], tuple[Any, list[bytes]]]


class OpError(Exception):
    """An error reported to the coordinator as {ok: false, error} (no traceback)."""


class Channel:
    def __init__(self, handlers: dict[str, Handler], on_open_payload: Callable[[], Any],
                 lane_handlers: dict[str, Handler] | None = None, gate: Any = None) -> None:
        self.handlers = handlers
        self.lane_handlers = lane_handlers
        self.gate = gate  # NamespaceGate (gate.py): entered while a request runs
        self.on_open_payload = on_open_payload
        self.comms: list[Any] = []
        self.lanes: list[Any] = []  # the comms of background lanes (also in `comms`)
        # Called as a message of nbferry's own comm is handled (comm wraps it in execute events).
        self.own_message: Callable[[], None] = lambda: None
        # Called before every request is handled: the last cell's check finishes first (idlecheck.py).
        self.before_request: Callable[[], None] = lambda: None
        self._seq = 0
        self._lock = threading.Lock()
        self._serving = threading.local()  # .lane: the lane comm whose request this thread handles

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    # comm target callback: (comm, open_msg)
    def on_open(self, comm: Any, msg: Any) -> None:
        content = msg.get("content", {}) if isinstance(msg, dict) else {}
        if (content.get("data") or {}).get("lane") and self.lane_handlers is not None:
            self.lanes.append(comm)
        self.comms.append(comm)
        comm.on_msg(lambda m: self.on_msg(comm, m))
        comm.on_close(lambda m: self._closed(comm))
        try:
            payload = self.on_open_payload()
        except Exception as e:  # pragma: no cover - defensive
            payload = {"error": str(e)}
        self.send(comm, {"op": "ready"}, payload)

    def _closed(self, comm: Any) -> None:
        if comm in self.comms:
            self.comms.remove(comm)
        if comm in self.lanes:
            self.lanes.remove(comm)

    def send(self, comm: Any, data: dict[str, Any], payload: Any, extra: list[bytes] | None = None) -> None:
        data = dict(data)
        data["seq"] = self.next_seq()
        comm.send(data=data, buffers=[msgpack_codec.packb(payload)] + list(extra or []))

    def push(self, op: str, payload: Any) -> None:
        """Kernel-initiated event to every open comm (e.g. new lineage records); from a lane
        request, to that lane's comm only."""
        lane = getattr(self._serving, "lane", None)
        for comm in [lane] if lane is not None else [c for c in self.comms if c not in self.lanes]:
            try:
                self.send(comm, {"op": op}, payload)
            except Exception:
                self._closed(comm)

    def on_msg(self, comm: Any, msg: Any) -> None:
        self.own_message()
        content = msg.get("content", {}) if isinstance(msg, dict) else {}
        data = content.get("data") or {}
        buffers = [memoryview(b) for b in (msg.get("buffers") or [])]
        lane = comm in self.lanes
        self._serving.lane = comm if lane else None
        if self.gate is not None:
            self.gate.enter()
        try:
            data_out, payload, extra = self.handle(data, buffers, self.lane_handlers if lane else None)
        finally:
            self._serving.lane = None
            if self.gate is not None:
                self.gate.leave()
        self.send(comm, data_out, payload, extra)

    def handle(self, data: dict[str, Any], buffers: list[memoryview],
               handlers: dict[str, Handler] | None = None) -> tuple[dict[str, Any], Any, list[bytes]]:
        """Transport-independent request handling (tests call this directly)."""
        handlers = self.handlers if handlers is None else handlers
        self.before_request()
        op = data.get("op")
        rid = data.get("id")
        try:
            args = msgpack_codec.unpackb(buffers[0]) if buffers and len(buffers[0]) else {}
            if args is None:
                args = {}
            if not isinstance(args, dict):
                raise OpError("args must be a msgpack map")
            handler = handlers.get(op) if isinstance(op, str) else None
            if handler is None:
                raise OpError(f"unknown op {op!r}")
            result, extra = handler(args, buffers[1:])
            return {"op": "reply", "id": rid, "ok": True}, result, extra
        except OpError as e:
            return {"op": "reply", "id": rid, "ok": False, "error": str(e)}, None, []
        except UserCodeOverBudget:  # a BaseException, so that user code cannot swallow it
            return {"op": "reply", "id": rid, "ok": False,
                    "error": "notebook code called by this operation ran past its time budget"}, None, []
        except Exception as e:
            tb = traceback.format_exc(limit=4)
            return {"op": "reply", "id": rid, "ok": False, "error": f"{type(e).__name__}: {e}"}, {"traceback": tb}, []
