"""Per-cell recording overhead and memory of the nbferry shim, in-process (IPython InteractiveShell).

For each workload: build the state, time cells with the shim detached (baseline) and attached,
and report the median end-to-end difference, the shim's own accounted time (pre + post hooks),
and RSS growth relative to the namespace's footprint.

    ../.venv/bin/python bench/overhead.py            # all workloads
    ../.venv/bin/python bench/overhead.py arrays     # one of: arrays objects pandas
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import nbferry_shim  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

REPEAT = 15


def _trim() -> None:
    """Return freed heap to the OS so RSS shows retained memory, not allocator slack."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except Exception:
        pass


def rss() -> int:
    gc.collect()
    _trim()
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def mb(n: float) -> str:
    return f"{n / 2**20:8.1f} MiB"


def run(shell: Any, code: str) -> float:
    t0 = time.perf_counter()
    res = shell.run_cell(code, store_history=True)
    dt = time.perf_counter() - t0
    if not res.success:
        raise RuntimeError(f"cell failed: {code!r}: {res.error_in_exec}")
    return dt


def timed(shell: Any, code: str, n: int = REPEAT) -> float:
    return statistics.median(run(shell, code) for _ in range(n))


def workload(shell: Any, name: str, setup: str, cells: list[tuple[str, str]], repeat: int = REPEAT) -> None:
    nbferry_shim.detach()
    shell.reset(new_session=False)
    gc.collect()
    r0 = rss()
    run(shell, setup)
    gc.collect()
    r1 = rss()
    ns_bytes = r1 - r0
    print(f"\n== {name}: namespace ~{mb(ns_bytes)} (RSS {mb(r1)})")
    base = {label: timed(shell, code, repeat) for label, code in cells}
    r1 = rss()  # after the unrecorded runs: their own data (new columns, results) is not shim overhead
    t0 = time.perf_counter()
    shim = nbferry_shim.attach(shell)
    attach_s = time.perf_counter() - t0
    gc.collect()
    r2 = rss()
    print(f"   attach (scan of pre-existing variables): {attach_s * 1e3:8.1f} ms, RSS +{mb(r2 - r1)}")
    for label, code in cells:
        run(shell, code)  # first touch computes fingerprints; report steady state below
        with_shim = []
        own = []
        for _ in range(repeat):
            before = shim.history.last_seq
            with_shim.append(run(shell, code))
            recs = [r for r in shim.history.since(before) if r["kind"] == "cell"]
            own.append(recs[-1]["overheadSec"])
        extra = statistics.median(with_shim) - base[label]
        print(f"   {label:<34} unrecorded {base[label] * 1e3:8.3f} ms | recorded {statistics.median(with_shim) * 1e3:8.3f} ms"
              f" | extra {extra * 1e3:+8.3f} ms | shim hooks {statistics.median(own) * 1e3:7.3f} ms")
        last = recs[-1]
        print(f"   {'':<34} modified {last['modified']}" + "".join(
            f" | {k} {last[k]}" for k in ("unhashed", "inspectedOnly") if last.get(k)))
    gc.collect()
    r3 = rss()
    grow = r3 - r1
    print(f"   RSS after recording: {mb(r3)}; growth since attach-time baseline {mb(grow)}"
          f" = {100 * grow / max(ns_bytes, 1):.2f}% of the namespace")
    nbferry_shim.detach()


def arrays(shell: Any) -> None:
    workload(shell, "1 GiB of numpy arrays (8 x 128 MiB)",
             "import numpy as np\narrs = [np.random.default_rng(i).random(16 << 20) for i in range(8)]\n"
             "a0, a1 = arrs[0], arrs[1]\nsmall = np.arange(10)",
             [("trivial: x = 1", "x = 1"),
              ("reads a small array: y = small.sum()", "y = small.sum()"),
              ("touches a 128 MiB array: m = a0.mean()", "m = a0.mean()")], repeat=7)


def objects(shell: Any) -> None:
    workload(shell, "10^6 small Python objects (list of 10^6 lists + dict of 10^6 entries)",
             "lists = [[i] for i in range(1_000_000)]\nd = {str(i): i for i in range(1_000_000)}",
             [("trivial: x = 1", "x = 1"),
              ("touches the dict: v = d['5']", "v = d['5']"),
              ("touches the list: n = len(lists)", "n = len(lists)")], repeat=5)


def pandas_workflow(shell: Any) -> None:
    workload(shell, "typical pandas workflow (1e6 rows x 6 cols)",
             "import numpy as np, pandas as pd\nrng = np.random.default_rng(0)\n"
             "df = pd.DataFrame({'k': rng.integers(0, 100, 1_000_000), 'a': rng.random(1_000_000),"
             " 'b': rng.random(1_000_000), 'c': rng.random(1_000_000),"
             " 's': pd.Series(rng.integers(0, 1000, 1_000_000)).astype(str)})\nsummary = None",
             [("trivial: x = 1", "x = 1"),
              ("df.head()", "h = df.head()"),
              ("groupby: g = df.groupby('k').a.mean()", "g = df.groupby('k').a.mean()"),
              ("new column: df['d'] = df.a * 2", "df['d'] = df.a * 2")], repeat=5)


WORKLOADS: dict[str, Callable[[Any], None]] = {"arrays": arrays, "objects": objects, "pandas": pandas_workflow}


def main() -> None:
    shell = InteractiveShell.instance()
    print(f"nbferry shim {nbferry_shim.VERSION}; Python {sys.version.split()[0]}; {os.cpu_count()} cores")
    print("extra = median end-to-end run_cell time recorded minus unrecorded; shim hooks = time inside "
          "pre/post_run_cell as accounted in the record (overheadSec)")
    for name in sys.argv[1:] or list(WORKLOADS):
        WORKLOADS[name](shell)


if __name__ == "__main__":
    main()
