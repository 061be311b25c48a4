"""Unit-level tests of the server extension's parts; the whole (a real jupyter lab, a browser) is
test/lab/ in the repository root. The service tests start the real `nbferry serve` of this checkout."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from nbferry_jupyterlab import _jupyter_labextension_paths, _jupyter_server_extension_points
from nbferry_jupyterlab.announcements import AnnouncementError, Announcements, from_notice, validated
from nbferry_jupyterlab.service import NbferryService, ServiceUnavailable, listening_url, write_token_file
from nbferry_jupyterlab.stores import store_name

REPO = Path(__file__).resolve().parents[3]
NBFERRY = REPO / "node_modules" / ".bin" / "nbferry"


def test_store_names_are_valid_stable_and_distinct_per_notebook_path():
    name = store_name("analysis/Sales Q3 (final).ipynb")
    assert name.startswith("Sales_Q3_final-")
    assert name == store_name("analysis/Sales Q3 (final).ipynb")
    assert name != store_name("other/Sales Q3 (final).ipynb")
    import re

    for path in ["a.ipynb", "ü/ñ.ipynb", "x" * 300 + ".ipynb", ".ipynb", "-.ipynb", "dir/"]:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", store_name(path)), path


def test_announcements_are_validated_with_a_message_saying_what_is_accepted():
    item = validated({"kind": "cull", "message": " idle for 1 h: suspending ", "deadline": "2026-01-31T12:00:00Z"})
    assert item["kind"] == "cull" and item["message"] == "idle for 1 h: suspending" and item["kernels"] is None
    assert item["id"] and item["created"].endswith("Z")
    for bad, says in [
        ([], "JSON object"),
        ({"kind": "reboot", "message": "x"}, "kind must be one of"),
        ({"kind": "info", "message": ""}, "non-empty"),
        ({"kind": "info", "message": "x", "deadline": "tomorrow"}, "ISO-8601"),
        ({"kind": "info", "message": "x", "kernels": "k1"}, "list"),
        ({"kind": "info", "message": "x", "colour": "red"}, "unknown field"),
    ]:
        with pytest.raises(AnnouncementError, match=says):
            validated(bad)


def test_the_services_notice_becomes_an_eviction_with_its_deadline():
    notice = {"deadlineSeconds": 30, "receivedAt": "2026-01-31T12:00:00.000Z", "allSafe": True, "kernels": []}
    item = from_notice(notice)
    assert item["kind"] == "eviction"
    assert item["deadline"].startswith("2026-01-31T12:00:30")
    assert "every kernel was checkpointed" in item["message"]
    board = Announcements(keep=2)
    for i in range(3):
        board.add({"kind": "info", "message": f"m{i}"})
    assert [a["message"] for a in board.listed(None)] == ["m1", "m2"]
    assert board.listed(notice)[-1]["kind"] == "eviction"


def test_token_file_is_created_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "run" / "service.token"
    token = write_token_file(path)
    assert len(token) >= 32 and path.read_text() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert write_token_file(path) != token  # a new start, a new token


def test_listening_url_is_read_from_fastifys_log_line():
    line = json.dumps({"level": 30, "msg": "Server listening at http://127.0.0.1:41234"})
    assert listening_url(line) == "http://127.0.0.1:41234"
    assert listening_url('{"msg":"kernel registered"}') is None


def service(tmp_path: Path, command: list[str]) -> NbferryService:
    return NbferryService(command=command, store_root=tmp_path / "stores", token_file=tmp_path / "token", kernel_python=sys.executable, startup_timeout=60)


@pytest.mark.skipif(not NBFERRY.exists(), reason="needs the nbferry command of this checkout (npm run build)")
def test_starts_the_real_service_lazily_once_with_its_token_and_stops_it(tmp_path):
    async def scenario():
        svc = service(tmp_path, [str(NBFERRY)])
        assert not svc.running
        # Concurrent first uses share one start.
        health, kernels = await asyncio.gather(svc.call("GET", "health"), svc.call("GET", "kernels"))
        assert health.status == 200 and health.json()["status"] == "ok"
        assert kernels.status == 200 and kernels.json() == {"kernels": []}
        assert svc.running and svc.url.startswith("http://127.0.0.1:")
        pid = svc._process.pid
        # The token is required by the service, and the extension sends it.
        from tornado.httpclient import AsyncHTTPClient

        refused = await AsyncHTTPClient().fetch(f"{svc.url}/kernels", raise_error=False)
        assert refused.code == 401
        await svc.stop()
        assert not svc.running and not (tmp_path / "token").exists()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    asyncio.run(scenario())


def test_a_missing_command_is_a_typed_error_saying_what_to_configure(tmp_path):
    async def scenario():
        svc = service(tmp_path, [str(tmp_path / "no-such-nbferry")])
        with pytest.raises(ServiceUnavailable, match="NbferryExtension.command") as error:
            await svc.call("GET", "health")
        assert error.value.code == "SERVICE_COMMAND_NOT_FOUND"

    asyncio.run(scenario())


def test_a_command_that_exits_before_listening_says_what_it_printed(tmp_path):
    async def scenario():
        svc = service(tmp_path, [sys.executable, "-c", "print('cannot open the store root'); raise SystemExit(2)"])
        with pytest.raises(ServiceUnavailable, match="cannot open the store root") as error:
            await svc.call("GET", "health")
        assert error.value.code == "SERVICE_EXITED"

    asyncio.run(scenario())


def test_an_operators_service_is_used_with_its_token_file_never_started(tmp_path):
    async def scenario():
        svc = NbferryService(command=["false"], store_root=tmp_path, token_file=tmp_path / "missing", kernel_python=sys.executable, url="http://127.0.0.1:9/")
        assert svc.running and svc.url == "http://127.0.0.1:9"
        with pytest.raises(ServiceUnavailable) as error:
            await svc.call("GET", "health")
        assert error.value.code == "SERVICE_TOKEN_UNREADABLE"
        (tmp_path / "missing").write_text("t0ken\n")
        with pytest.raises(ServiceUnavailable, match="did not answer"):
            await svc.call("GET", "health")  # nothing listens on port 9
        await svc.stop()
        assert (tmp_path / "missing").exists()  # the operator's file is left alone

    asyncio.run(scenario())


def test_extension_points_name_the_app_and_the_prebuilt_labextension():
    (point,) = _jupyter_server_extension_points()
    assert point["module"] == "nbferry_jupyterlab" and point["app"].name == "nbferry_jupyterlab"
    assert _jupyter_labextension_paths() == [{"src": "labextension", "dest": "@nbferry/jupyterlab"}]
