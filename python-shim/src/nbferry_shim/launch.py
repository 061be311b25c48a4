"""`python -m nbferry_shim.launch -f CONNECTION_FILE [ipykernel options]`: ipykernel with the shim
recording from before the first execute (what the kernelspec of `kernel_install` runs).

The same as `python -m ipykernel_launcher ... --ext=nbferry_shim`: the extension attaches in
IPKernelApp.initialize(), after the kernel exists and before it serves any request."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    # As ipykernel_launcher: the kernel's cwd on sys.path would shadow installed packages.
    if sys.path and sys.path[0] == "":
        del sys.path[0]
    from ipykernel import kernelapp

    args = list(sys.argv[1:] if argv is None else argv)
    kernelapp.launch_new_instance(argv=[*args, "--ext=nbferry_shim"])


if __name__ == "__main__":
    main()
