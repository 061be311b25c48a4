"""Against real ipykernels via jupyter_client: injection, comm round trip, live migration."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from kernel_client import Kernel
from shimsrc import version


@pytest.fixture(scope="module")
def kernels() -> Iterator[tuple[Kernel, Kernel]]:
    a, b = Kernel(), Kernel()
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_inject_comm_and_recording(kernels: tuple[Kernel, Kernel]) -> None:
    k, _ = kernels
    rep = k.inject()
    assert rep["status"] == "ok", rep
    st = json.loads(rep["user_expressions"]["nbferry"]["data"]["text/plain"])
    assert st["version"] == version() and st["attached"] is True
    assert rep["execution_count"] == 0 or rep["execution_count"] is not None
    assert json.loads(k.inject()["user_expressions"]["nbferry"]["data"]["text/plain"])["instanceId"] == st["instanceId"]

    ready = k.open_comm()
    assert ready["version"] == version() and ready["instanceId"] == st["instanceId"]

    k.execute("import numpy as np\na = np.arange(12.0).reshape(3, 4).copy()\nX = a[:, :2]", cell_id="c-1")
    k.execute("%time s = X.sum()", cell_id="c-2")
    k.execute("X[0, 0] = 100", cell_id="c-3")
    # A cell's record comes once its read checks ran, after its reply (idlecheck.py); any request
    # (here `hello`) finishes them first, so the coordinator's `history` sync never misses it.
    k.ok("hello")
    pushed = [e for e in k.events if e[0].get("op") == "records"]
    recs = [r for e in pushed for r in e[1]["records"]]
    assert [r["cellId"] for r in recs] == ["c-1", "c-2", "c-3"]
    assert set(recs[2]["modified"]) == {"X", "a"} and set(recs[1]["read"]) == {"X"}
    assert all(r["deferredSec"] > 0 for r in recs), "the kernel's event loop ran the checks after the reply"
    assert pushed[0][3]["msg_type"] == "execute_request"  # parent header correlates with the cell

    k.execute("del a", silent=True)  # F8 through a real silent execute
    k.execute("y = 1", cell_id="c-4")
    hist, _ = k.ok("history", {"since": 0})
    kinds = [(r["kind"], r.get("deleted")) for r in hist["records"]]
    assert ("outside", ["a"]) in kinds and hist["records"][-1]["cellId"] == "c-4"

    data, payload, _ = k.request("nope")
    assert data["ok"] is False and "unknown op" in data["error"]


def test_reattach_gets_full_history(kernels: tuple[Kernel, Kernel]) -> None:
    k, _ = kernels
    first, _ = k.ok("history", {"since": 0})
    k.open_comm()  # a coordinator re-attaching opens a new comm
    again, _ = k.ok("history", {"since": 0})
    assert [r["seq"] for r in again["records"]] == [r["seq"] for r in first["records"]]


def test_live_migration_between_kernels(kernels: tuple[Kernel, Kernel], tmp_path: Any) -> None:
    src, dst = kernels
    src.execute("import pandas as pd\nfactor = 2\ndef f(v):\n    return v * factor\n"
                "df = pd.DataFrame({'x': [1.0, 2.0], 's': ['a', 'b']})\ncol = df['x']\nbig = np.ones(3_000_000)\n"
                "gen = (i for i in range(2))", cell_id="m-1")
    m, _ = src.ok("measure", {})
    groups = [g["names"] for g in m["groups"] if g["serializable"]]
    assert ["col", "df"] in groups and not [g for g in m["groups"] if g["names"] == ["gen"]][0]["serializable"]
    want = {n: v["fingerprint"] for n, v in m["variables"].items()}

    # disk path
    saved, _ = src.ok("save", {"dir": str(tmp_path), "groups": groups})
    assert dst.inject()["status"] == "ok"
    dst.open_comm()
    dst.execute("import numpy as np, pandas as pd", cell_id="d-0")
    blobs = [{"file": b["file"], "checksum": b["checksum"], "names": b["names"]} for b in saved["blobs"]]
    res, _ = dst.ok("load", {"dir": str(tmp_path), "blobs": blobs, "fingerprints": True})
    got = {n: fp for r in res["results"] for n, fp in r["fingerprints"].items()}
    assert got and all(want[n] == fp for n, fp in got.items())
    dst.execute("factor = 5\nout = f(2)", cell_id="d-1")
    fp, _ = dst.ok("fingerprint", {"names": ["out"]})
    check = dst.execute("assert out == 10 and col.sum() == 3.0", cell_id="d-2")
    assert check["status"] == "ok", check

    # live path: blob bytes travel as comm buffers, no disk
    out, chunks = src.ok("save_buffers", {"groups": [["big"], ["col", "df"]]})
    blobs = [{"buffers": b["buffers"], "checksum": b["checksum"], "names": b["names"]} for b in out["blobs"]]
    dst.execute("del big, df, col", silent=True)
    res, _ = dst.ok("load", {"blobs": blobs, "fingerprints": True}, buffers=chunks)
    assert all(r["ok"] for r in res["results"]), res
    assert {n: f for r in res["results"] for n, f in r["fingerprints"].items()} == {
        n: want[n] for n in ("big", "col", "df")}
