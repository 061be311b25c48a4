"""Shared fixtures: one in-process IPython shell, reset and re-attached for every test."""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


class Session:
    def __init__(self, shell: Any, shim: Any) -> None:
        self.shell = shell
        self.shim = shim
        self._n = 0

    @property
    def ns(self) -> dict[str, Any]:
        return self.shell.user_ns  # type: ignore[no-any-return]

    def run(self, code: str, *, expect_ok: bool | None = True) -> dict[str, Any]:
        """Run a cell as a kernel would; return the lineage record it produced."""
        before = self.shim.history.last_seq
        self._n += 1
        res = self.shell.run_cell(code, store_history=True, cell_id=f"cell-{self._n}")
        if expect_ok is True:
            assert res.success, f"cell failed: {res.error_in_exec or res.error_before_exec!r}"
        recs = [r for r in self.shim.history.since(before) if r["kind"] == "cell"]
        assert len(recs) == 1, recs
        return recs[0]

    def silent(self, code: str) -> None:
        res = self.shell.run_cell(code, silent=True)
        assert res.success, res.error_in_exec

    def records(self, since: int = 0) -> list[dict[str, Any]]:
        return self.shim.history.since(since)

    def call(self, op: str, _buffers: list[bytes] | None = None, **args: Any) -> tuple[Any, list[bytes]]:
        """Send a request the way the coordinator does; return (decoded result, extra buffers)."""
        from nbferry_shim import msgpack_codec

        bufs = [memoryview(msgpack_codec.packb(args))] + [memoryview(b) for b in (_buffers or [])]
        data, payload, extra = self.shim.channel.handle({"op": op, "id": 1}, bufs)
        assert data["ok"], (data, payload)
        return msgpack_codec.unpackb(msgpack_codec.packb(payload)), extra

    def call_err(self, op: str, **args: Any) -> str:
        from nbferry_shim import msgpack_codec

        data, _, _ = self.shim.channel.handle({"op": op, "id": 1}, [memoryview(msgpack_codec.packb(args))])
        assert not data["ok"]
        return str(data["error"])


@pytest.fixture(scope="session")
def shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


@pytest.fixture
def sess(shell: Any, monkeypatch: Any) -> Iterator[Session]:
    """Lineage tests assert exact sets: give hashing all the time it needs (a GC pause must not
    turn "unchanged" into a conservative "modified"). test_budget.py covers the real budget."""
    import nbferry_shim
    from nbferry_shim import budget

    monkeypatch.setattr(budget, "FLOOR_SEC", 60.0)
    monkeypatch.setattr(budget, "PRE_SEC", 60.0)
    yield from _session(shell)


@pytest.fixture
def budgeted(shell: Any) -> Iterator[Session]:
    """A session with the real per-cell hashing budget."""
    yield from _session(shell)


def _session(shell: Any) -> Iterator[Session]:
    import nbferry_shim

    nbferry_shim.detach()
    shell.reset(new_session=False)
    shim = nbferry_shim.attach(shell)
    try:
        yield Session(shell, shim)
    finally:
        nbferry_shim.detach()
