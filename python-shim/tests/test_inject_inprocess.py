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


@pytest.fixture
def code_cache(tmp_path: Any, monkeypatch: Any) -> Any:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("NBFERRY_SHIM_CODE_CACHE", raising=False)
    return tmp_path / "nbferry" / "shim-code" / sys.implementation.cache_tag


def _reinject(shell: Any, source: str) -> Any:
    """Injects into a shell whose shim modules are gone (as in a new kernel)."""
    mod = sys.modules.get("nbferry_shim")
    if mod is not None:
        mod.detach()
    for k in [k for k in sys.modules if k == "nbferry_shim" or k.startswith("nbferry_shim.")]:
        del sys.modules[k]
    res = shell.run_cell(source, silent=True)
    assert res.success, res.error_in_exec
    return sys.modules["nbferry_shim"]


def test_compiled_modules_are_kept_for_the_next_kernel(shell: Any, clean_modules: None, code_cache: Any,
                                                       monkeypatch: Any) -> None:
    import builtins

    _reinject(shell, fill())
    [bundle] = list(code_cache.iterdir())
    files = sorted(p.name for p in bundle.iterdir())
    assert "nbferry_shim.code" in files and "nbferry_shim.probe.code" in files
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in bundle.iterdir())
    compiles: list[str] = []
    real = builtins.compile
    monkeypatch.setattr(builtins, "compile", lambda src, fn, *a, **k: (
        compiles.append(fn) if str(fn).startswith("<nbferry_shim") else None) or real(src, fn, *a, **k))
    mod = _reinject(shell, fill())
    assert compiles == [] and mod.attached()  # every module from the cache
    assert mod.probe.__spec__.origin.startswith("<nbferry_shim")  # same names as compiled


def test_a_damaged_or_foreign_cache_is_ignored(shell: Any, clean_modules: None, code_cache: Any) -> None:
    import os

    _reinject(shell, fill())
    [bundle] = list(code_cache.iterdir())
    (bundle / "nbferry_shim.probe.code").write_bytes(b"garbage")  # no magic number: compiled again
    os.chmod(bundle / "nbferry_shim.probe.code", 0o600)
    (bundle / "nbferry_shim.passes.code").chmod(0o666)  # others could have written it: not read
    assert _reinject(shell, fill()).attached()
    assert (bundle / "nbferry_shim.probe.code").read_bytes()[:4] != b"garb"  # rewritten whole
    bundle.chmod(0o777)  # a directory others can write to: no cache at all
    assert _reinject(shell, fill()).attached()


def test_another_bundle_gets_its_own_directory_and_old_ones_go(shell: Any, clean_modules: None, code_cache: Any) -> None:
    import os

    made = []
    for i in range(5):
        before = set(code_cache.iterdir()) if code_cache.exists() else set()
        _reinject(shell, fill(f"9.9.{i}", {"nbferry_shim._version": f'VERSION = "9.9.{i}"\nPROTOCOL = 1\n'}))
        [new] = set(code_cache.iterdir()) - before
        os.utime(new, (1_000_000 + i, 1_000_000 + i))  # creation order, whatever the clock's resolution
        made.append(new)
    assert set(code_cache.iterdir()) == set(made[1:])  # the newest and the three before it


def test_cache_can_be_turned_off(shell: Any, clean_modules: None, code_cache: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("NBFERRY_SHIM_CODE_CACHE", "0")
    assert _reinject(shell, fill()).attached()
    assert not code_cache.exists()
