"""Announcements the platform makes to the user (a cull, an eviction, a move): POSTed by the
platform (the JupyterHub service) or derived from the nbferry service's last preemption notice, and
polled by the front end to show a warning."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

KINDS = ("cull", "eviction", "move", "info")


class AnnouncementError(ValueError):
    """A POSTed announcement the extension cannot show: what is wrong and what is accepted."""

    code = "BAD_ANNOUNCEMENT"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _iso(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise AnnouncementError(f"{field} must be an ISO-8601 time or null")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise AnnouncementError(f"{field} {value!r} is not an ISO-8601 time (e.g. 2026-01-31T12:00:00Z)") from error
    return value


def validated(payload: Any) -> dict[str, Any]:
    """An announcement from a POST body (`kind`, `message`, optional `deadline`, `kernels`), with id and created."""
    if not isinstance(payload, dict):
        raise AnnouncementError('send a JSON object: {"kind": "cull"|"eviction"|"move"|"info", "message": "...", "deadline": ISO|null, "kernels": [ids]|null}')
    unknown = set(payload) - {"kind", "message", "deadline", "kernels"}
    if unknown:
        raise AnnouncementError(f"unknown field(s) {sorted(unknown)}: accepted are kind, message, deadline, kernels")
    kind = payload.get("kind")
    if kind not in KINDS:
        raise AnnouncementError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    message = payload.get("message")
    if not isinstance(message, str) or not message.strip():
        raise AnnouncementError("message must be a non-empty string (what the user should know)")
    kernels = payload.get("kernels")
    if kernels is not None and not (isinstance(kernels, list) and all(isinstance(k, str) for k in kernels)):
        raise AnnouncementError("kernels must be a list of Jupyter kernel ids, or null for every kernel")
    return {
        "id": uuid.uuid4().hex[:12],
        "kind": kind,
        "message": message.strip(),
        "deadline": _iso(payload.get("deadline"), "deadline"),
        "kernels": kernels,
        "created": _now(),
    }


def from_notice(notice: dict[str, Any]) -> dict[str, Any]:
    """The service's last preemption notice (GET /notice) as an eviction announcement."""
    received = str(notice.get("receivedAt", ""))
    deadline: str | None = None
    try:
        start = datetime.fromisoformat(received.replace("Z", "+00:00"))
        deadline = (start + timedelta(seconds=float(notice.get("deadlineSeconds", 0)))).isoformat().replace("+00:00", "Z")
    except ValueError:
        pass
    saved = "every kernel was checkpointed" if notice.get("allSafe") else "not every kernel could be checkpointed in time"
    return {
        "id": f"notice-{received}",
        "kind": "eviction",
        "message": f"This server is being evicted: {saved}. Save your work; your kernel's state is in its nbferry store.",
        "deadline": deadline,
        "kernels": None,
        "created": received or _now(),
    }


class Announcements:
    """The announcements in memory (they matter until their deadline: a restart forgets them)."""

    def __init__(self, keep: int = 50):
        self.keep = keep
        self.items: list[dict[str, Any]] = []

    def add(self, payload: Any) -> dict[str, Any]:
        item = validated(payload)
        self.items = [*self.items, item][-self.keep:]
        return item

    def listed(self, notice: dict[str, Any] | None) -> list[dict[str, Any]]:
        extra = [from_notice(notice)] if notice else []
        return [*self.items, *extra]
