"""Fill inject.py.tmpl exactly as the coordinator does (tests only)."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "nbferry_shim"
TEMPLATE = ROOT / "inject.py.tmpl"


def sources(overrides: dict[str, str] | None = None) -> dict[str, str]:
    out = {}
    for p in sorted(SRC.glob("*.py")):
        name = "nbferry_shim" if p.stem == "__init__" else f"nbferry_shim.{p.stem}"
        out[name] = p.read_text(encoding="utf-8")
    out.update(overrides or {})
    return out


def version() -> str:
    ns: dict[str, str] = {}
    exec((SRC / "_version.py").read_text(), ns)
    return ns["VERSION"]


def fill(version_str: str | None = None, overrides: dict[str, str] | None = None) -> str:
    v = version_str or version()
    return (TEMPLATE.read_text(encoding="utf-8")
            .replace("{{SOURCES_PACKED}}", base64.b64encode(zlib.compress(json.dumps(sources(overrides)).encode("utf-8"))).decode("ascii"))
            .replace("{{SOURCES_JSON}}", json.dumps(sources(overrides)))
            .replace("{{VERSION}}", v))


STATUS_EXPR = "__import__('sys').modules['nbferry_shim'].status()"
