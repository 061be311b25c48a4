"""`python -m nbferry_shim.kernel_install [--name N] [--display-name D] [--user | --sys-prefix | --prefix P]`

Installs a kernelspec whose kernels record from their first cell: its argv runs this Python with
`-m nbferry_shim.launch`. Run it with the Python of the kernels (the one nbferry_shim and ipykernel
are installed in); a platform's image does it once, as it runs `ipykernel install`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile


def kernel_json(python: str, display_name: str) -> dict:
    return {
        "argv": [python, "-m", "nbferry_shim.launch", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        "metadata": {"debugger": True, "nbferry": {"recordedFromFirstCell": True}},
    }


def install(name: str = "nbferry", display_name: str = "Python 3 (nbferry)", user: bool = False,
            prefix: str | None = None, python: str | None = None) -> str:
    """Writes the kernelspec; returns its directory."""
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "kernel.json"), "w") as f:
            json.dump(kernel_json(python or sys.executable, display_name), f, indent=1)
        return KernelSpecManager().install_kernel_spec(tmp, name, user=user, prefix=prefix)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nbferry_shim.kernel_install", description=__doc__.split("\n\n")[1])
    parser.add_argument("--name", default="nbferry", help="kernelspec name (default: nbferry)")
    parser.add_argument("--display-name", default="Python 3 (nbferry)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user (~/.local/share/jupyter)")
    where.add_argument("--sys-prefix", action="store_true", help="install in this Python's prefix (a venv's own)")
    where.add_argument("--prefix", help="install in PREFIX/share/jupyter/kernels")
    args = parser.parse_args(argv)
    prefix = sys.prefix if args.sys_prefix else args.prefix
    path = install(args.name, args.display_name, user=args.user, prefix=prefix)
    print(f"Installed kernelspec {args.name} in {path}")


if __name__ == "__main__":
    main()
