"""The Jupyter Server extension: its configuration (traitlets: ``c.NbferryExtension.<name>``) and its
lifetime (the service it starts is stopped with the server)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int, List, Unicode, default

from .announcements import Announcements
from .handlers import HANDLERS
from .service import NbferryService
from .shutdowns import KERNEL_ACTIONS, unregister_on_shutdown


class NbferryExtension(ExtensionApp):
    name = "nbferry_jupyterlab"
    description = "nbferry in JupyterLab: the kernel's checkpoints, undo, restore, plan, warnings"

    command = List(
        Unicode(),
        help="How to run the nbferry command (``serve`` and its options are appended). "
        "Default: ``nbferry`` when it is on PATH, else ``npx --no-install nbferry``.",
    ).tag(config=True)

    service_url = Unicode(
        "",
        help="An nbferry service an operator runs (e.g. http://127.0.0.1:8765): used instead of starting one. "
        "Needs token_file (the file it was started with).",
    ).tag(config=True)

    token_file = Unicode(
        "",
        help="The service's token file. With service_url: the operator's (read only). Otherwise where the "
        "token of the service this extension starts is written (mode 0600); default in Jupyter's runtime directory.",
    ).tag(config=True)

    store_root = Unicode(
        "",
        help="Where checkpoints go, one store per notebook path (default ~/.nbferry/stores). "
        "Only for the service this extension starts: an operator's service has its own --stores.",
    ).tag(config=True)

    kernel_python = Unicode(help="The Python (with ipykernel) of kernels the service starts itself (migrate, restore).").tag(config=True)

    auto_checkpoint_idle_ms = Int(
        500,
        help="Checkpoint each attached kernel after every cell once it is idle this long (ms); 0: only on request.",
    ).tag(config=True)

    move_targets = List(
        Unicode(),
        help="Where \"move to…\" may send a kernel besides a fresh kernel next to the service: another Jupyter Server, "
        "each as ``id=NAME,url=URL,token-file=FILE[,label=TEXT][,description=TEXT][,kernel=KERNELSPEC]`` (nbferry serve --target). "
        "Only for the service this extension starts: an operator's service has its own --target options.",
    ).tag(config=True)

    startup_timeout = Float(60.0, help="Seconds to wait for the service to listen.").tag(config=True)

    @default("command")
    def _default_command(self) -> list[str]:
        return ["nbferry"] if shutil.which("nbferry") else ["npx", "--no-install", "nbferry"]

    @default("kernel_python")
    def _default_kernel_python(self) -> str:
        return sys.executable

    def initialize_settings(self) -> None:
        token_file = self.token_file or os.path.join(jupyter_runtime_dir(), f"nbferry-service-{os.getpid()}.token")
        self.service = NbferryService(
            command=list(self.command),
            store_root=Path(self.store_root or "~/.nbferry/stores").expanduser(),
            token_file=Path(token_file).expanduser(),
            kernel_python=self.kernel_python,
            targets=list(self.move_targets),
            url=self.service_url or None,
            startup_timeout=self.startup_timeout,
            log=lambda line: self.log.debug("nbferry serve: %s", line),
        )
        registered: dict[str, object] = {}
        self.settings.update(
            {
                "nbferry": {
                    "service": self.service,
                    "announcements": Announcements(),
                    "auto_checkpoint_idle_ms": self.auto_checkpoint_idle_ms,
                    "registered": registered,
                }
            }
        )
        kernel_manager = self.serverapp.kernel_manager
        self.serverapp.event_logger.add_listener(
            schema_id=KERNEL_ACTIONS,
            listener=unregister_on_shutdown(self.service, lambda: kernel_manager.list_kernel_ids(), registered, self.log),
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(HANDLERS)

    async def stop_extension(self) -> None:
        await self.service.stop()
