"""The injection template in an in-process InteractiveShell (fast path)."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterator

import pytest

from shimsrc import STATUS_EXPR, fill, version


@pytest.fixture
def clean_modules(shell: Any) -> Iterator[None]:
    import nbferry_shim

    nbferry_shim.detach()
    saved = {k: v for k, v in sys.modules.items() if k == "nbferry_shim" or k.startswith("nbferry_shim.")}
    for k in saved:
        del sys.modules[k]
    meta = list(sys.meta_path)
    shell.reset(new_session=False)
    try:
        yield
    finally:
        mod = sys.modules.get("nbferry_shim")
        if mod is not None:
            mod.detach()
        for k in [k for k in sys.modules if k == "nbferry_shim" or k.startswith("nbferry_shim.")]:
            del sys.modules[k]
        sys.modules.update(saved)
        sys.meta_path[:] = meta


def _status(shell: Any) -> dict[str, Any]:
    out = shell.user_expressions({"s": STATUS_EXPR})["s"]
    assert out["status"] == "ok", out
    return json.loads(out["data"]["text/plain"])  # type: ignore[no-any-return]


def test_template_installs_attaches_and_is_idempotent(shell: Any, clean_modules: None) -> None:
    before_ns = set(shell.user_ns)
    n_post = len(shell.events.callbacks["post_run_cell"])
    res = shell.run_cell(fill(), silent=True)
    assert res.success, res.error_in_exec
    mod = sys.modules["nbferry_shim"]
    assert mod.__spec__.origin.startswith("<nbferry_shim") and not hasattr(mod, "__file__")
    assert set(shell.user_ns) == before_ns  # nothing added to the user namespace
    st = _status(shell)
    assert st["version"] == version() and st["attached"] is True and st["target"] == "nbferry"
    assert len(shell.events.callbacks["post_run_cell"]) == n_post + 1
    shell.run_cell(fill(), silent=True)  # same version again: no-op
    assert len(shell.events.callbacks["post_run_cell"]) == n_post + 1
    assert _status(shell)["instanceId"] == st["instanceId"]
    shell.run_cell("x = [1]\nx.append(2)", store_history=True)
    recs = mod.current().history.since(0)
    assert [r["created"] for r in recs] == [["x"]]


def test_template_replaces_other_version_cleanly(shell: Any, clean_modules: None) -> None:
    n_post = len(shell.events.callbacks["post_run_cell"])
    assert shell.run_cell(fill(), silent=True).success
    first = _status(shell)["instanceId"]
    newer = 'VERSION = "9.9.9"\nPROTOCOL = 1\n'
    res = shell.run_cell(fill("9.9.9", {"nbferry_shim._version": newer}), silent=True)
    assert res.success, res.error_in_exec
    st = _status(shell)
    assert st["version"] == "9.9.9" and st["instanceId"] != first
    assert len(shell.events.callbacks["post_run_cell"]) == n_post + 1


def test_template_refuses_mismatched_sources(shell: Any, clean_modules: None) -> None:
    res = shell.run_cell(fill("1.2.3"), silent=True)  # {{VERSION}} disagrees with _version.py
    assert not res.success and "expected 1.2.3" in str(res.error_in_exec)
    assert "__nbferry_bootstrap__" not in shell.user_ns
