"""nbferry for JupyterLab: the server extension (app.py) and the prebuilt labextension (labextension/)."""

from __future__ import annotations

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "@nbferry/jupyterlab"}]


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    from .app import NbferryExtension

    return [{"module": "nbferry_jupyterlab", "app": NbferryExtension}]
