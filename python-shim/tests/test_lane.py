"""The background lane (lane.py): measure and save served beside the cells, abandoned (`preempted`,
nothing stored) once a cell starts; a cell never waits for them."""

from __future__ import annotations

import os
import threading
from typing import Any

from nbferry_shim import msgpack_codec


def lane_call(sess: Any, op: str, **args: Any) -> Any:
    """A request on a lane comm, as the subshell thread serves it."""
    channel = sess.shim.channel
    data, payload, _ = channel.handle({"op": op, "id": 1}, [memoryview(msgpack_codec.packb(args))], channel.lane_handlers)
    assert data["ok"], (data, payload)
    return msgpack_codec.unpackb(msgpack_codec.packb(payload))


def chunk_count(root: Any) -> int:
    return sum(len([f for f in files if not f.startswith(".")]) for _, _, files in os.walk(root))


def test_lane_measure_and_save_commit_an_unchanged_state(sess: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np\na = np.arange(1000)\nx = 1")
    m = lane_call(sess, "measure")
    assert m["generation"] == sess.shim.recorder.generation and "preempted" not in m
    groups = [g["names"] for g in m["groups"] if g["serializable"]]
    saved = lane_call(sess, "save", dir=str(tmp_path), chunks=str(tmp_path / "chunks"), groups=groups,
                      seq=m["seq"], generation=m["generation"])
    assert "preempted" not in saved and all(b["ok"] for b in saved["blobs"])


def test_a_cell_after_the_measure_makes_the_lane_save_write_nothing(sess: Any, tmp_path: Any) -> None:
    sess.run("import numpy as np\na = np.arange(100)")
    m = lane_call(sess, "measure")
    sess.run("a[0] = -1")  # the cell starts: the generation moves
    saved = lane_call(sess, "save", dir=str(tmp_path), chunks=str(tmp_path / "chunks"), groups=[["a"]],
                      generation=m["generation"])
    assert saved["preempted"] == {"generation": m["generation"], "now": m["generation"] + 1}
    assert saved["blobs"] == [] and chunk_count(tmp_path) == 0


def test_a_cell_starting_mid_pickle_preempts_the_lane_measure_and_is_not_blocked_by_it(sess: Any) -> None:
    """The lane pickles an object whose __reduce__ waits; meanwhile a cell runs to its end on the
    main thread (its hooks do not wait for the lane), then the lane resumes and gives up."""
    sess.run(
        "import threading\n"
        "reducing, release, armed = threading.Event(), threading.Event(), []\n"
        "class Slow:\n"
        "    def __reduce__(self):\n"
        "        if armed:\n"
        "            reducing.set()\n"
        "            release.wait(30)\n"
        "        return (int, (1,))\n"
        "slow = Slow()"
    )
    sess.ns["armed"].append(True)
    out: dict[str, Any] = {}
    lane = threading.Thread(target=lambda: out.setdefault("measure", lane_call(sess, "measure")))
    lane.start()
    assert sess.ns["reducing"].wait(30)
    record = sess.run("y = 2")  # runs to its end while the lane is inside the pickle
    sess.ns["release"].set()
    lane.join(30)
    assert not lane.is_alive()
    assert record["created"] == ["y"]
    assert out["measure"]["preempted"]["now"] > out["measure"]["preempted"]["generation"]


def test_preempt_stops_the_lane_as_a_cell_would(sess: Any, tmp_path: Any) -> None:
    sess.run("x = 1")
    m = lane_call(sess, "measure")
    sess.call("preempt")  # the coordinator interrupted the kernel
    saved = lane_call(sess, "save", dir=str(tmp_path), chunks=str(tmp_path / "chunks"), groups=[["x"]],
                      generation=m["generation"])
    assert "preempted" in saved and chunk_count(tmp_path) == 0


def test_the_lane_serves_only_read_only_operations(sess: Any) -> None:
    channel = sess.shim.channel
    data, _, _ = channel.handle({"op": "load", "id": 1}, [memoryview(msgpack_codec.packb({"blobs": []}))],
                                channel.lane_handlers)
    assert not data["ok"] and "unknown op" in data["error"]


class FakeComm:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.handler: Any = None

    def on_msg(self, cb: Any) -> None:
        self.handler = cb

    def on_close(self, cb: Any) -> None:
        pass

    def send(self, data: Any, buffers: Any) -> None:
        self.sent.append(data)


def test_events_never_cross_between_the_main_comms_and_a_lane() -> None:
    """ipykernel 7.4 routes a comm's messages to the subshell that last published on it: cell records
    go to main comms only, and what a lane request pushes (save progress) to that lane only."""
    from nbferry_shim.channel import Channel

    channel: Channel

    def pushing(args: dict[str, Any], bufs: list[memoryview]) -> tuple[Any, list[bytes]]:
        channel.push("progress", {"op": "save", "done": 1, "total": 1})
        return {}, []

    channel = Channel({"work": pushing}, lambda: {}, {"work": pushing})
    main, lane = FakeComm(), FakeComm()
    channel.on_open(main, {"content": {"data": {}}})
    channel.on_open(lane, {"content": {"data": {"lane": True}}})
    main.sent.clear()
    lane.sent.clear()
    channel.push("records", {"records": []})
    assert [m["op"] for m in main.sent] == ["records"] and lane.sent == []
    main.sent.clear()
    lane.handler({"content": {"data": {"op": "work", "id": 7}}, "buffers": []})
    assert [m["op"] for m in lane.sent] == ["progress", "reply"] and main.sent == []
    main.handler({"content": {"data": {"op": "work", "id": 8}}, "buffers": []})
    assert [m["op"] for m in main.sent] == ["progress", "reply"] and [m["op"] for m in lane.sent] == ["progress", "reply"]
