"""The deployable shim: the kernelspec installer and the IPython extension (issue 15)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from nbferry_shim import kernel_install


def test_kernelspec_runs_the_launcher_with_this_python(tmp_path: Any) -> None:
    path = kernel_install.install("nbferry-t", "Py (nbferry)", prefix=str(tmp_path))
    assert path == os.path.join(str(tmp_path), "share", "jupyter", "kernels", "nbferry-t")
    with open(os.path.join(path, "kernel.json")) as f:
        spec = json.load(f)
    assert spec["argv"] == [sys.executable, "-m", "nbferry_shim.launch", "-f", "{connection_file}"]
    assert spec["display_name"] == "Py (nbferry)"
    assert spec["language"] == "python"


def test_the_extension_attaches_and_reports_an_installed_origin(shell: Any) -> None:
    import nbferry_shim

    nbferry_shim.detach()
    try:
        shell.extension_manager.load_extension("nbferry_shim")
        status = json.loads(repr(nbferry_shim.status()))
        assert status["attached"] is True
        assert status["origin"] == "installed"  # imported from files, not sent by a coordinator
        shell.run_cell("after_load = 1")
        assert nbferry_shim.current().history.last_seq >= 1
    finally:
        shell.extension_manager.unload_extension("nbferry_shim")
        assert not nbferry_shim.attached()
