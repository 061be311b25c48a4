"""nbferry kernel shim: records cell lineage and checkpoints/restores kernel state over a comm.

Importing this package is cheap; `attach()` starts recording. Heavy modules load lazily.
"""

from __future__ import annotations

from typing import Any

from ._version import PROTOCOL, VERSION

__all__ = ["VERSION", "PROTOCOL", "attach", "detach", "status", "attached", "current",
           "load_ipython_extension", "unload_ipython_extension"]


def attach(shell: Any = None) -> Any:
    from . import runtime

    return runtime.attach(shell)


def detach() -> None:
    from . import runtime

    runtime.detach()


def attached() -> bool:
    import sys

    rt = sys.modules.get(__name__ + ".runtime")
    return bool(rt is not None and rt.current() is not None)  # type: ignore[attr-defined]


def current() -> Any:
    from . import runtime

    return runtime.current()


def status() -> Any:
    from . import runtime

    return runtime.status()


def load_ipython_extension(ipython: Any) -> None:
    """`--ext=nbferry_shim` (or `%load_ext nbferry_shim`): record from now on. The kernelspec written
    by `python -m nbferry_shim.kernel_install` loads it before the kernel's first execute, so no
    variable is of unknown provenance and a coordinator attaching later finds it (no injection)."""
    attach(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    detach()
