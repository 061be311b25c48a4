"""One store per notebook: a name the service accepts (1-64 of [A-Za-z0-9._-]) that is readable
and stable for a notebook path, and distinct for two paths that read alike."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def store_name(notebook_path: str) -> str:
    """``analysis/Sales Q3.ipynb`` -> ``Sales_Q3-1a2b3c4d`` (stem + hash of the whole path)."""
    digest = hashlib.sha256(notebook_path.encode()).hexdigest()[:8]
    stem = notebook_path.rsplit("/", 1)[-1]
    if stem.endswith(".ipynb"):
        stem = stem[: -len(".ipynb")]
    stem = _UNSAFE.sub("_", stem).strip("._-")[:48]
    return f"{stem}-{digest}" if stem else f"nb-{digest}"
