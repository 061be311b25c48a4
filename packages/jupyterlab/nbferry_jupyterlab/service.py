"""The user's ``nbferry serve``: started lazily on loopback with a token in a 0600 file (or an
operator's service at a configured URL), reached with tornado's AsyncHTTPClient, stopped with the
Jupyter Server. The browser never sees the token: handlers.py adds it to every proxied request."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

# fastify's first log line: {"level":30,...,"msg":"Server listening at http://127.0.0.1:41234"}
_LISTENING = re.compile(r"Server listening at (http://[^\s\"]+)")


class ServiceUnavailable(Exception):
    """nbferry serve could not be started or reached; ``code`` is stable, the message says what to do."""

    def __init__(self, message: str, code: str = "SERVICE_UNAVAILABLE"):
        super().__init__(message)
        self.code = code


@dataclass
class ServiceResponse:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def listening_url(line: str) -> str | None:
    """The URL in nbferry serve's "listening" log line, if this is that line."""
    match = _LISTENING.search(line)
    return match.group(1) if match else None


def write_token_file(path: Path) -> str:
    """A fresh random token in a new file only its owner can read (0600 from creation on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return token


class NbferryService:
    """One service per Jupyter Server: ``start`` is idempotent and concurrent calls share one start."""

    def __init__(
        self,
        *,
        command: list[str],
        store_root: Path,
        token_file: Path,
        kernel_python: str,
        targets: list[str] | None = None,
        url: str | None = None,
        startup_timeout: float = 60.0,
        log: Callable[[str], None] = lambda _line: None,
    ):
        self.command = command
        self.store_root = store_root
        self.token_file = token_file
        self.kernel_python = kernel_python
        self.targets = list(targets or [])
        self.startup_timeout = startup_timeout
        self.log = log
        self.url: str | None = url.rstrip("/") if url else None
        self.external = url is not None
        self._token: str | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Task[None] | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.external or (self._process is not None and self._process.returncode is None)

    async def start(self) -> None:
        if self.external:
            if self._token is None:
                try:
                    self._token = self.token_file.read_text().strip()
                except OSError as error:
                    raise ServiceUnavailable(
                        f"cannot read the nbferry service's token file {self.token_file}: {error}. "
                        "Set NbferryExtension.token_file to the file the service was started with (--token-file)",
                        "SERVICE_TOKEN_UNREADABLE",
                    ) from error
            return
        if self.running and self.url:
            return
        if self._starting is None or self._starting.done():
            self._starting = asyncio.ensure_future(self._spawn())
        await asyncio.shield(self._starting)

    async def _spawn(self) -> None:
        self._token = write_token_file(self.token_file)
        self.store_root.mkdir(parents=True, exist_ok=True)
        argv = [*self.command, "serve", "--stores", str(self.store_root), "--token-file", str(self.token_file),
                "--host", "127.0.0.1", "--port", "0", "--python", self.kernel_python,
                *(arg for target in self.targets for arg in ("--target", target))]
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True
            )
        except OSError as error:
            raise ServiceUnavailable(
                f"cannot run {argv[0]!r} ({error}): install nbferry (npm install -g nbferry) or set NbferryExtension.command",
                "SERVICE_COMMAND_NOT_FOUND",
            ) from error
        self._process = process
        assert process.stdout is not None
        seen: list[str] = []
        try:
            self.url = await asyncio.wait_for(self._listening(process, seen), self.startup_timeout)
        except asyncio.TimeoutError as error:
            await self.stop()
            raise ServiceUnavailable(f"nbferry serve did not listen within {self.startup_timeout} s: {' | '.join(seen[-5:])}", "SERVICE_START_TIMEOUT") from error
        except ServiceUnavailable:
            await self.stop()
            raise
        # Keep reading its log so a full pipe never blocks it.
        self._drain = asyncio.ensure_future(self._forward_log(process))

    async def _listening(self, process: asyncio.subprocess.Process, seen: list[str]) -> str:
        """Reads the service's log until its "listening" line; its URL."""
        assert process.stdout is not None
        while True:
            raw = await process.stdout.readline()
            if not raw:
                code = await process.wait()
                raise ServiceUnavailable(f"nbferry serve exited ({code}) before listening: {' | '.join(seen[-5:])}", "SERVICE_EXITED")
            line = raw.decode(errors="replace").rstrip()
            seen.append(line)
            self.log(line)
            url = listening_url(line)
            if url:
                return url

    async def _forward_log(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while raw := await process.stdout.readline():
            self.log(raw.decode(errors="replace").rstrip())

    async def request(self, method: str, path: str, body: bytes | None = None, timeout: float = 600.0) -> ServiceResponse:
        """One request to the service (started first if need be), the token added here."""
        await self.start()
        assert self.url is not None
        headers = {"Authorization": f"Bearer {self._token}"}
        if method in ("POST", "PUT") and not body:
            body = b"{}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = HTTPRequest(f"{self.url}/{path.lstrip('/')}", method=method, headers=headers, body=body,
                              request_timeout=timeout, allow_nonstandard_methods=True)
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as error:
            raise ServiceUnavailable(f"the nbferry service at {self.url} did not answer: {error}") from error
        if response.code == 599:
            raise ServiceUnavailable(f"the nbferry service at {self.url} did not answer: {response.error}")
        return ServiceResponse(response.code, response.body or b"", response.headers.get("Content-Type", "application/json"))

    async def call(self, method: str, path: str, payload: Any = None) -> ServiceResponse:
        return await self.request(method, path, None if payload is None else json.dumps(payload).encode())

    async def stop(self) -> None:
        """Stops the service this extension started (by its process id; never an operator's)."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                await asyncio.wait_for(process.wait(), 10)
            except asyncio.TimeoutError:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                await process.wait()
        if self._drain is not None:
            self._drain.cancel()
            self._drain = None
        if not self.external:
            self.url = None
            try:
                self.token_file.unlink()
            except FileNotFoundError:
                pass
