"""The HTTP endpoints under the Jupyter Server's base URL (lab-contract.md), all behind Jupyter's
authentication and authorization (APIHandler: token or cookie + XSRF, as every Jupyter API):

- ``nbferry/api/<path>``: proxied 1:1 to the user's nbferry service, its bearer token added here;
- ``nbferry/kernels/{id}/attach``: register a Jupyter kernel with the service (one store per notebook);
- ``nbferry/kernels/{id}/branch``: a checkpoint restored into a new Jupyter kernel;
- ``nbferry/announcements``: warnings for the user (POSTed by the platform, or the service's notice).
"""

from __future__ import annotations

import asyncio
import json
import posixpath
import re
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import ensure_async
from tornado import web

from .announcements import AnnouncementError, Announcements
from .service import NbferryService, ServiceResponse, ServiceUnavailable
from .stores import store_name


class NbferryHandler(APIHandler):
    # Every nbferry action reads or changes a kernel's state: authorized as the kernels API is.
    auth_resource = "kernels"

    @property
    def nbferry(self) -> NbferryService:
        return self.settings["nbferry"]["service"]

    @property
    def announcements(self) -> Announcements:
        return self.settings["nbferry"]["announcements"]

    @property
    def registered(self) -> dict[str, tuple[Any, str]]:
        """Jupyter kernel id -> (the process id it was registered with, its store)."""
        return self.settings["nbferry"].setdefault("registered", {})

    def registration_lock(self, kernel_id: str) -> asyncio.Lock:
        """One registration of a kernel at a time, across requests: after a restart the panel's
        polls and its attach all find the old process registered, and each would unregister it and
        register the new one (two recorders on one kernel, one replacing the other)."""
        locks: dict[str, asyncio.Lock] = self.settings["nbferry"].setdefault("registration_locks", {})
        return locks.setdefault(kernel_id, asyncio.Lock())

    @property
    def auto_checkpoint_idle_ms(self) -> int:
        return self.settings["nbferry"]["auto_checkpoint_idle_ms"]

    def fail(self, status: int, code: str, message: str) -> None:
        """A typed error, in the service's shape and flat (lab-contract.md: ``{code, message}``)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"code": code, "message": message, "error": {"code": code, "message": message}}))

    def fail_from(self, response: ServiceResponse, status: int | None = None) -> None:
        """Passes on the service's error (its code and message)."""
        try:
            error = (response.json() or {}).get("error", {})
        except ValueError:
            error = {}
        self.fail(status or response.status, error.get("code", "SERVICE_ERROR"), error.get("message", response.body.decode(errors="replace")[:500]))

    def json_body(self) -> Any:
        if not self.request.body:
            return {}
        try:
            return json.loads(self.request.body)
        except ValueError as error:
            raise web.HTTPError(400, f"the body is not JSON: {error}") from error

    async def notebook_path(self, kernel_id: str) -> str | None:
        """The path of the notebook (or console) whose session uses this kernel."""
        for session in await ensure_async(self.session_manager.list_sessions()):
            if session.get("kernel", {}).get("id") == kernel_id:
                return session.get("path") or session.get("notebook", {}).get("path")
        return None

    def jupyter_kernel(self, kernel_id: str) -> Any:
        if kernel_id not in self.kernel_manager:
            raise web.HTTPError(404, f"no Jupyter kernel {kernel_id}")
        return self.kernel_manager.get_kernel(kernel_id)

    async def ensure_registered(self, kernel_id: str, store: str) -> dict[str, Any] | None:
        """Registers the Jupyter kernel with the service under its own id (again if its process
        changed: a restarted kernel keeps its id and connection file, not its recorder). The service's
        state, or None after answering with an error."""
        async with self.registration_lock(kernel_id):
            return await self._ensure_registered(kernel_id, store)

    async def _ensure_registered(self, kernel_id: str, store: str) -> dict[str, Any] | None:
        # Under the kernel's lock: a request that waited finds the registration the first one made.
        kernel = self.jupyter_kernel(kernel_id)
        pid = process_id(kernel)
        existing = await self.nbferry.call("GET", f"kernels/{kernel_id}")
        if existing.status == 200:
            state = existing.json()
            if pid is None or state.get("pid") == pid:
                self.registered[kernel_id] = (pid, state["store"])
                return state
            self.log.info("nbferry: kernel %s restarted (process %s -> %s): registering it again", kernel_id, state.get("pid"), pid)
            await self.nbferry.call("DELETE", f"kernels/{kernel_id}")
        body: dict[str, Any] = {"connectionFile": kernel.connection_file, "id": kernel_id, "store": store}
        if self.auto_checkpoint_idle_ms > 0:
            body["autoCheckpointIdleMs"] = self.auto_checkpoint_idle_ms
        registered = await self.nbferry.call("POST", "kernels", body)
        if registered.status != 201:
            # The kernel exists but cannot be recorded (no shim, no ipykernel comm...): a conflict.
            self.fail_from(registered, 409)
            return None
        state = registered.json()
        self.registered[kernel_id] = (pid, state["store"])
        return state

    async def reattach_if_restarted(self, path: str) -> bool:
        """Before a request about a kernel: if Jupyter restarted it (same id, a new process: it died,
        or the user restarted it), register the new process on the same store first, so the request
        is about the kernel the user has now. False after answering with an error."""
        match = _KERNEL_PATH.match(path)
        if not match or match.group(1) not in self.registered or match.group(1) not in self.kernel_manager:
            return True
        kernel_id = match.group(1)
        pid, store = self.registered[kernel_id]
        now = process_id(self.kernel_manager.get_kernel(kernel_id))
        if now is None or now == pid:
            return True
        return await self.ensure_registered(kernel_id, store) is not None


_KERNEL_PATH = re.compile(r"kernels/([^/?]+)")


def process_id(kernel: Any) -> int | None:
    """The kernel's process id as Jupyter's provisioner knows it (None: not a local process)."""
    return getattr(getattr(kernel, "provisioner", None), "pid", None)


class ProxyHandler(NbferryHandler):
    """``nbferry/api/<path>`` -> the service's ``/<path>`` (query string and body as they are)."""

    async def proxy(self, path: str) -> None:
        target = path + (f"?{self.request.query}" if self.request.query else "")
        # A POST without a body means "no options" (the service wants JSON, so send an empty object).
        body = (self.request.body or b"{}") if self.request.method in ("POST", "PUT") else None
        try:
            if not await self.reattach_if_restarted(path):
                return
            response = await self.nbferry.request(self.request.method or "GET", target, body)
        except ServiceUnavailable as error:
            return self.fail(503, error.code, str(error))
        self.set_status(response.status)
        if response.status == 204:
            return self.finish()
        self.set_header("Content-Type", response.content_type)
        self.finish(response.body)

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self.proxy(path)

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        await self.proxy(path)

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        await self.proxy(path)

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        await self.proxy(path)


class AttachHandler(NbferryHandler):
    @web.authenticated
    @authorized
    async def post(self, kernel_id: str) -> None:
        path = await self.notebook_path(kernel_id)
        store = store_name(path or kernel_id)
        try:
            state = await self.ensure_registered(kernel_id, store)
        except ServiceUnavailable as error:
            return self.fail(503, error.code, str(error))
        if state is not None:
            self.finish(json.dumps({"id": state["id"], "store": state["store"], "notebookPath": path}))


class BranchHandler(NbferryHandler):
    """Open a checkpoint as a new kernel: a new Jupyter kernel (same kernelspec, the notebook's
    directory) registered on the same store, brought to the checkpoint and verified. Its next
    checkpoints continue that one: a branch in the store's history."""

    @web.authenticated
    @authorized
    async def post(self, kernel_id: str) -> None:
        payload = self.json_body()
        checkpoint_id = payload.get("checkpointId") if isinstance(payload, dict) else None
        if not isinstance(checkpoint_id, str) or not checkpoint_id:
            return self.fail(400, "BAD_REQUEST", 'send {"checkpointId": "<id>"}: the checkpoint to open as a new kernel (from the history)')
        source = self.jupyter_kernel(kernel_id)
        path = await self.notebook_path(kernel_id)
        store = store_name(path or kernel_id)
        directory = posixpath.dirname(path) if path else ""
        new_id = await ensure_async(self.kernel_manager.start_kernel(kernel_name=source.kernel_name, path=directory))
        try:
            if await self.ensure_registered(new_id, store) is None:
                await ensure_async(self.kernel_manager.shutdown_kernel(new_id))
                return
            checked = await self.nbferry.call("POST", f"kernels/{new_id}/checkout", {"checkpointId": checkpoint_id})
        except ServiceUnavailable as error:
            await ensure_async(self.kernel_manager.shutdown_kernel(new_id))
            return self.fail(503, error.code, str(error))
        if checked.status != 200:
            await self.nbferry.call("DELETE", f"kernels/{new_id}")
            await ensure_async(self.kernel_manager.shutdown_kernel(new_id))
            return self.fail_from(checked)
        self.set_status(201)
        self.finish(json.dumps({"jupyterKernelId": new_id, "id": new_id, "outcome": checked.json()}))


class AnnouncementsHandler(NbferryHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notice = None
        # Asking does not start a service: only a running one can have received a notice.
        if self.nbferry.running:
            try:
                response = await self.nbferry.call("GET", "notice")
                notice = response.json() if response.status == 200 else None
            except ServiceUnavailable:
                notice = None
        self.finish(json.dumps({"announcements": self.announcements.listed(notice)}))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        try:
            item = self.announcements.add(self.json_body())
        except AnnouncementError as error:
            return self.fail(400, error.code, str(error))
        self.log.warning("nbferry announcement (%s): %s", item["kind"], item["message"])
        self.set_status(201)
        self.finish(json.dumps(item))


_KERNEL_ID = r"(?P<kernel_id>[A-Za-z0-9][A-Za-z0-9._-]{0,63})"

HANDLERS = [
    (r"/nbferry/api/(?P<path>.*)", ProxyHandler),
    (rf"/nbferry/kernels/{_KERNEL_ID}/attach", AttachHandler),
    (rf"/nbferry/kernels/{_KERNEL_ID}/branch", BranchHandler),
    (r"/nbferry/announcements", AnnouncementsHandler),
]
