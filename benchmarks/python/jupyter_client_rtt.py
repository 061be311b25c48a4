"""Reference round trip: Python's jupyter_client on the same machine, same kernel, same request.

Prints one JSON line: start-to-ready seconds and the median of N trivial silent executes, each
waited for until both the reply and `status: idle` arrived (what nbferry counts as done).
"""
import json
import statistics
import sys
import time

from jupyter_client.manager import start_new_kernel


def main(n: int) -> None:
    t0 = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3")
    ready = time.perf_counter() - t0
    try:
        samples = []
        for i in range(n + 20):
            start = time.perf_counter()
            msg_id = kc.execute("1", silent=True, store_history=False)
            kc.get_shell_msg(timeout=10)
            while True:
                msg = kc.get_iopub_msg(timeout=10)
                if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
            if i >= 20:  # warm-up excluded
                samples.append(time.perf_counter() - start)
        print(json.dumps({"ready_s": ready, "rtt_median_s": statistics.median(samples), "n": n}))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
