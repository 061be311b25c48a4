"""Registrations follow Jupyter's kernels: when Jupyter shuts a kernel down (the user, a culler,
the server stopping), its registration with the nbferry service goes too, so the service does not
keep watching (and listing, and counting as protected) a kernel that is gone. Its store stays.

Jupyter Server emits a ``kernel_actions`` event for each shutdown, also for the shutdown inside a
restart; a restarted kernel keeps its id in the kernel manager, so only a kernel the manager no
longer lists, a moment after the event, is unregistered."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from .service import NbferryService, ServiceUnavailable

KERNEL_ACTIONS = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"

# The kernel manager removes a kernel from its list right after its shutdown returns (and emits).
SETTLE_SECONDS = 0.5


def unregister_on_shutdown(
    service: NbferryService,
    kernel_ids: Callable[[], Any],
    registered: dict[str, Any],
    log: Any,
) -> Callable[..., Any]:
    """A kernel_actions listener: DELETE kernels/{id} at the service once Jupyter no longer has the kernel."""

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        if data.get("action") != "shutdown" or data.get("status") != "success":
            return
        kernel_id = data.get("kernel_id")
        if not kernel_id:
            return
        await asyncio.sleep(SETTLE_SECONDS)
        if kernel_id in kernel_ids():
            return  # restarted: the same kernel id runs a new process (handlers.py registers it again)
        registered.pop(kernel_id, None)
        # Asking does not start a service: one that is not running has no registrations.
        if not service.running:
            return
        try:
            response = await service.call("DELETE", f"kernels/{kernel_id}")
        except ServiceUnavailable as error:
            log.debug("nbferry: could not unregister kernel %s: %s", kernel_id, error)
            return
        if response.status == 204:
            log.info("nbferry: kernel %s was shut down: unregistered from the service (its store stays)", kernel_id)

    return listener
