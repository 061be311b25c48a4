#!/usr/bin/env python
"""Validate the benchmark notebook corpus: generate data, run every notebook in a real kernel.

For each notebook listed in manifest.json this script

1. checks the file format (nbformat 4.5, unique cell ids, no stored outputs, python3
   kernelspec) and that the expected errors agree between the manifest, the notebook
   metadata (``metadata.nbferry.expected_errors``) and the cells' ``raises-exception`` tags;
2. generates the notebook's dataset at the requested size (skipped when up to date);
3. starts a fresh ipykernel with ``cwd`` = the notebook's directory and
   ``NBFERRY_DATA_SIZE`` = the size, executes every code cell top to bottom and checks
   that exactly the declared cells raise;
4. measures the user namespace: for every user variable its pickled size (pickle
   protocol 5, falling back to dill), which ones cannot be pickled at all, and the
   kernel's resident memory.

Usage (from the repository root)::

    .venv/bin/python benchmarks/notebooks/validate.py                      # all, size small
    .venv/bin/python benchmarks/notebooks/validate.py --size medium --only store_sales
    .venv/bin/python benchmarks/notebooks/validate.py --update-manifest    # record measurements
    .venv/bin/python benchmarks/notebooks/validate.py --check-determinism  # run twice, compare

Kernels get OMP_NUM_THREADS/OPENBLAS_NUM_THREADS/MKL_NUM_THREADS=1 unless those are already
set (``--threads N`` changes it, ``--threads 0`` leaves the library defaults): OpenMP code in
an ipykernel on a 2-core machine is slower, and under load far slower, with 2 threads.

Exit status is 0 only if every selected notebook passed. The functions ``load_manifest``,
``run_notebook`` and ``STATE_REPORT_CODE`` are importable for other harnesses.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "manifest.json")
sys.path.insert(0, HERE)

# Executed silently in the kernel after the last cell; prints one JSON line.
# Everything lives inside a function that deletes itself, so the namespace is unchanged.
STATE_REPORT_CODE = r'''
def _nbferry_state_report(with_fingerprints):
    import hashlib, json, pickle, types
    ip = get_ipython()
    hidden = getattr(ip, "user_ns_hidden", {})
    try:
        import dill
    except Exception:
        dill = None
    try:
        import numpy as np
    except Exception:
        np = None
    try:
        import pandas as pd
    except Exception:
        pd = None

    class _Sink:
        def __init__(self):
            self.n = 0
        def write(self, b):
            m = memoryview(b).cast("B")  # protocol 5 hands large buffers over as PickleBuffer
            self.n += m.nbytes
            return m.nbytes

    class _Opaque(Exception):
        pass

    # private attributes that hold id()s or caches, not values
    VOLATILE_ATTRS = {"_stop_words_id"}

    def fp(obj, depth=0, seen=None):
        # A value fingerprint that is stable across processes: equal values, equal strings.
        # Raises _Opaque for things whose value cannot be compared (iterators, handles, figures).
        seen = set() if seen is None else seen
        h = hashlib.sha1()
        t = type(obj)
        h.update((t.__module__ + "." + t.__qualname__).encode())
        if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
            h.update(repr(obj).encode())
            return h.hexdigest()
        if depth > 40:
            raise _Opaque("too deep")
        if id(obj) in seen:
            return h.hexdigest() + ":cycle"
        seen = seen | {id(obj)}
        mod = t.__module__ or ""
        if mod.startswith("matplotlib") or isinstance(obj, (types.GeneratorType, types.CoroutineType)):
            raise _Opaque(mod)
        if np is not None and isinstance(obj, np.ndarray):
            h.update(f"{obj.dtype.str}{obj.shape}".encode())
            if obj.dtype.hasobject:
                h.update(fp(obj.tolist(), depth + 1, seen).encode())
            else:
                h.update(memoryview(np.ascontiguousarray(obj)).cast("B"))
            return h.hexdigest()
        if np is not None and isinstance(obj, np.generic):
            h.update(repr(obj.item()).encode())
            return h.hexdigest()
        if pd is not None and isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
            h.update(repr(getattr(obj, "dtypes", getattr(obj, "dtype", ""))).encode())
            if isinstance(obj, pd.DataFrame):
                h.update(fp(list(obj.columns), depth + 1, seen).encode())
            try:
                h.update(pd.util.hash_pandas_object(obj, index=not isinstance(obj, pd.Index)).to_numpy().tobytes())
            except TypeError:
                h.update(fp(obj.to_numpy().tolist(), depth + 1, seen).encode())
            return h.hexdigest()
        if isinstance(obj, (list, tuple)):
            for x in obj:
                h.update(fp(x, depth + 1, seen).encode())
            return h.hexdigest()
        if isinstance(obj, (set, frozenset)):
            for x in sorted(fp(x, depth + 1, seen) for x in obj):
                h.update(x.encode())
            return h.hexdigest()
        if isinstance(obj, dict):
            items = sorted((fp(k, depth + 1, seen), fp(v, depth + 1, seen)) for k, v in obj.items())
            for k, v in items:
                h.update((k + v).encode())
            return h.hexdigest()
        if isinstance(obj, types.FunctionType) and obj.__module__ not in (None, "__main__"):
            h.update((obj.__module__ + "." + obj.__qualname__).encode())  # importable: compare by name
            return h.hexdigest()
        if isinstance(obj, types.FunctionType):
            c = obj.__code__
            h.update(obj.__qualname__.encode() + c.co_code + repr(c.co_names).encode())
            h.update(repr([x for x in c.co_consts if not isinstance(x, types.CodeType)]).encode())
            h.update(fp(list(obj.__defaults__ or ()), depth + 1, seen).encode())
            for cell in obj.__closure__ or ():
                h.update(fp(cell.cell_contents, depth + 1, seen).encode())
            return h.hexdigest()
        if isinstance(obj, (type, types.ModuleType, types.BuiltinFunctionType)):
            h.update(repr(getattr(obj, "__qualname__", getattr(obj, "__name__", ""))).encode())
            return h.hexdigest()
        state = getattr(obj, "__dict__", None)
        slots = [a for k in t.__mro__ for a in getattr(k, "__slots__", ()) if isinstance(a, str)]
        if state is not None or slots:
            if state is not None:
                state = {k: v for k, v in state.items() if k not in VOLATILE_ATTRS}
                h.update(fp(state, depth + 1, seen).encode())
            for a in slots:
                if hasattr(obj, a):
                    h.update((a + fp(getattr(obj, a), depth + 1, seen)).encode())
            return h.hexdigest()
        try:
            h.update(pickle.dumps(obj, protocol=5))
        except Exception:
            raise _Opaque(t.__name__)
        return h.hexdigest()

    report = {}
    for name, val in list(ip.user_ns.items()):
        if name.startswith("_") or name in hidden or isinstance(val, types.ModuleType):
            continue
        entry = {"type": type(val).__module__ + "." + type(val).__qualname__}
        for via, mod in (("pickle", pickle), ("dill", dill)):
            if mod is None:
                continue
            sink = _Sink()
            try:
                mod.dump(val, sink, protocol=5)
            except BaseException as e:  # noqa: BLE001 - report anything
                entry.setdefault("errors", {})[via] = (type(e).__name__ + ": " + str(e))[:200]
                continue
            entry.update(via=via, bytes=sink.n)
            break
        if with_fingerprints:
            try:
                entry["fp"] = fp(val)
            except _Opaque:
                entry["fp"] = None
            except Exception as e:  # noqa: BLE001
                entry["fp"] = None
                entry["fp_error"] = (type(e).__name__ + ": " + str(e))[:200]
        report[name] = entry
    rss = None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
    except OSError:
        pass
    print("NBFERRY_STATE " + json.dumps({"vars": report, "rss_bytes": rss}))
_nbferry_state_report(WITH_FINGERPRINTS)
del _nbferry_state_report
'''


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def load_manifest(path: str = MANIFEST) -> dict:
    with open(path) as f:
        return json.load(f)


def read_notebook(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def check_format(nb_path: str, entry: dict) -> list[str]:
    """Static checks on one notebook; returns a list of problems."""
    problems = []
    nb = read_notebook(nb_path)
    if nb.get("nbformat") != 4 or nb.get("nbformat_minor") != 5:
        problems.append("not nbformat 4.5")
    ks = nb.get("metadata", {}).get("kernelspec", {})
    if ks.get("name") != "python3" or ks.get("language") != "python":
        problems.append("kernelspec is not python3")
    ids = [c.get("id") for c in nb["cells"]]
    if any(not i or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", i) for i in ids) or len(set(ids)) != len(ids):
        problems.append("cell ids missing, invalid or duplicated")
    n_code = 0
    tagged = []
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] == "code":
            n_code += 1
            if c.get("outputs") or c.get("execution_count") is not None:
                problems.append(f"cell {i} has stored outputs")
            if "raises-exception" in c.get("metadata", {}).get("tags", []):
                tagged.append(i)
    if not 8 <= len(nb["cells"]) <= 25:
        problems.append(f"{len(nb['cells'])} cells (want 8-25)")
    meta = nb.get("metadata", {}).get("nbferry", {})
    declared = meta.get("expected_errors", [])
    if sorted(declared) != sorted(tagged) or sorted(declared) != sorted(entry.get("expected_errors", [])):
        problems.append(f"expected errors disagree: metadata={declared} tags={tagged} manifest={entry.get('expected_errors')}")
    return problems


def run_notebook(nb_path: str, size: str = "small", timeout: float = 900.0, env: dict | None = None,
                 report_state: bool = True, kernel_stderr: bool = False, fingerprints: bool = False,
                 extra_env: dict | None = None) -> dict:
    """Execute every code cell of ``nb_path`` in a fresh kernel (cwd = notebook dir)."""
    from jupyter_client.manager import KernelManager

    nb = read_notebook(nb_path)
    kenv = dict(os.environ if env is None else env)
    kenv["NBFERRY_DATA_SIZE"] = size
    kenv.update(extra_env or {})
    km = KernelManager(kernel_name="python3")
    t_start = time.perf_counter()
    extra = {} if kernel_stderr else {"stderr": subprocess.DEVNULL}
    km.start_kernel(cwd=os.path.dirname(os.path.abspath(nb_path)), env=kenv, **extra)
    kc = km.client()
    kc.start_channels()
    result = {"cells": [], "errors": [], "state": None}
    try:
        kc.wait_for_ready(timeout=120)
        t_ready = time.perf_counter()
        result["startup_s"] = round(t_ready - t_start, 3)
        for idx, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            src = "".join(cell["source"])
            err = {}

            def hook(msg, err=err):
                if msg["header"]["msg_type"] == "error":
                    err.update(ename=msg["content"]["ename"], evalue=msg["content"]["evalue"])

            t0 = time.perf_counter()
            reply = kc.execute_interactive(src, timeout=timeout, output_hook=hook, allow_stdin=False,
                                           stop_on_error=False)
            dt = time.perf_counter() - t0
            status = reply["content"]["status"]
            if status == "error" and not err:
                err.update(ename=reply["content"].get("ename"), evalue=reply["content"].get("evalue"))
            result["cells"].append({"index": idx, "seconds": round(dt, 3), "status": status})
            if status != "ok":
                result["errors"].append({"index": idx, **err})
        result["runtime_s"] = round(time.perf_counter() - t_ready, 3)
        if report_state:
            lines = []

            def grab(msg):
                if msg["header"]["msg_type"] == "stream":
                    lines.append(msg["content"]["text"])

            code = STATE_REPORT_CODE.replace("WITH_FINGERPRINTS", repr(bool(fingerprints)))
            kc.execute_interactive(code, timeout=timeout, output_hook=grab, store_history=False,
                                   allow_stdin=False)
            text = "".join(lines)
            m = re.search(r"NBFERRY_STATE (\{.*\})", text)
            result["state"] = json.loads(m.group(1)) if m else None
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return result


def summarize(name: str, entry: dict, res: dict) -> dict:
    expected = sorted(entry.get("expected_errors", []))
    got = sorted(e["index"] for e in res["errors"])
    unexpected = [e for e in res["errors"] if e["index"] not in expected]
    missing = [i for i in expected if i not in got]
    state = res.get("state") or {"vars": {}, "rss_bytes": None}
    vs = state["vars"]
    total = sum(v.get("bytes", 0) for v in vs.values())
    return {
        "name": name,
        "ok": not unexpected and not missing and res.get("state") is not None,
        "unexpected_errors": unexpected,
        "missing_errors": missing,
        "runtime_s": res.get("runtime_s"),
        "startup_s": res.get("startup_s"),
        "slowest_cell_s": max((c["seconds"] for c in res["cells"]), default=0.0),
        "cell_seconds": {c["index"]: c["seconds"] for c in res["cells"]},
        "n_code_cells": len(res["cells"]),
        "n_vars": len(vs),
        "state_bytes": total,
        "rss_bytes": state.get("rss_bytes"),
        "not_picklable": sorted(k for k, v in vs.items() if "pickle" in v.get("errors", {})),
        "not_dillable": sorted(k for k, v in vs.items() if "via" not in v),
        "fingerprints": {k: v.get("fp") for k, v in vs.items()},
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=("small", "medium", "large"), default="small")
    p.add_argument("--only", nargs="*", help="substrings of notebook paths to select")
    p.add_argument("--jobs", type=int, default=1, help="notebooks run in parallel (default 1)")
    p.add_argument("--threads", type=int, default=1,
                   help="OMP/OpenBLAS/MKL threads per kernel, applied unless already set in the environment "
                        "(default 1; 0 = leave the libraries' defaults). OpenMP code (HistGradientBoosting) in "
                        "an ipykernel on a busy 2-core machine was up to 10x slower with 2 threads than with 1.")
    p.add_argument("--timeout", type=float, default=1800.0, help="per-cell timeout in seconds")
    p.add_argument("--no-generate", action="store_true", help="do not (re)generate data")
    p.add_argument("--json", help="write the full results to this file")
    p.add_argument("--update-manifest", action="store_true",
                   help="record runtime/state size for this size (and pickle findings) in manifest.json")
    p.add_argument("--kernel-stderr", action="store_true", help="show the kernels' stderr")
    p.add_argument("--check-determinism", action="store_true",
                   help="run each notebook twice and compare value fingerprints of every variable")
    a = p.parse_args(argv)

    manifest = load_manifest()
    entries = manifest["notebooks"]
    on_disk = set()
    for root, dirs, files in os.walk(HERE):
        dirs[:] = [d for d in dirs if d not in ("data", "out", ".ipynb_checkpoints", "__pycache__")]
        on_disk |= {os.path.relpath(os.path.join(root, f), HERE) for f in files if f.endswith(".ipynb")}
    listed = {e["path"] for e in entries}
    problems = []
    if on_disk != listed:
        problems.append(f"manifest/disk mismatch: only on disk {sorted(on_disk - listed)}, only in manifest {sorted(listed - on_disk)}")
    if a.only:
        entries = [e for e in entries if any(s in e["path"] for s in a.only)]
    for e in entries:
        for prob in check_format(os.path.join(HERE, e["path"]), e):
            problems.append(f"{e['path']}: {prob}")
    for prob in problems:
        print("FORMAT:", prob)

    if not a.no_generate:
        from datagen.__main__ import generate

        out = os.environ.get("NBFERRY_DATA_DIR") or os.path.join(HERE, "data", a.size)
        t0 = time.perf_counter()
        for ds in sorted({e["dataset"] for e in entries}):
            generate(ds, a.size, out, quiet=True)
        print(f"data ({a.size}) ready in {out} ({time.perf_counter() - t0:.1f}s)")

    print_lock = threading.Lock()
    thread_env = {}
    if a.threads > 0:
        for var in THREAD_VARS:
            if var not in os.environ:
                thread_env[var] = str(a.threads)

    def one(e):
        path = os.path.join(HERE, e["path"])
        runs = 2 if a.check_determinism else 1
        summaries = []
        for _ in range(runs):
            try:
                res = run_notebook(path, a.size, a.timeout, kernel_stderr=a.kernel_stderr,
                                   fingerprints=a.check_determinism, extra_env=thread_env)
            except Exception as ex:  # noqa: BLE001
                res = {"cells": [], "errors": [{"index": -1, "ename": type(ex).__name__, "evalue": str(ex)}], "state": None}
            summaries.append(summarize(e["path"], e, res))
        s = summaries[0]
        if a.check_determinism:
            f1, f2 = summaries[0]["fingerprints"], summaries[1]["fingerprints"]
            s["differs_between_runs"] = sorted(k for k in set(f1) | set(f2)
                                               if f1.get(k) != f2.get(k) and f1.get(k) is not None and f2.get(k) is not None)
            s["not_comparable"] = sorted(k for k in f1 if f1.get(k) is None)
        with print_lock:
            print(format_row(s, a.check_determinism), flush=True)
        return e, s

    if thread_env:
        print("kernel env: " + " ".join(f"{k}={v}" for k, v in sorted(thread_env.items())))
    header = f"{'notebook':48s} {'cells':>5s} {'run_s':>7s} {'state_MB':>9s} {'rss_MB':>7s} {'vars':>4s}  status / not picklable (pickle; also not dill)"
    print(header)
    print("-" * len(header))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        results = list(pool.map(one, entries))
    n_fail = sum(not s["ok"] for _, s in results)
    print("-" * len(header))
    total_run = sum(s["runtime_s"] or 0 for _, s in results)
    print(f"{len(results) - n_fail} passed, {n_fail} failed; {total_run:.1f}s in cells, {time.perf_counter() - t0:.1f}s wall")

    if a.json:
        with open(a.json, "w") as f:
            json.dump([s for _, s in results], f, indent=1)
    if a.update_manifest:
        full = load_manifest()
        by_path = {s["name"]: s for _, s in results}
        for e in full["notebooks"]:
            s = by_path.get(e["path"])
            if not s or not s["ok"]:
                continue
            e.setdefault("measured", {})[a.size] = {
                "runtime_s": round(s["runtime_s"], 2),
                "state_mb": round(s["state_bytes"] / 1e6, 2),
                "kernel_rss_mb": round((s["rss_bytes"] or 0) / 1e6, 1),
                "n_vars": s["n_vars"],
            }
            e["not_picklable_vars"] = s["not_picklable"]
            e["not_dillable_vars"] = s["not_dillable"]
            if a.check_determinism:
                e.setdefault("measured", {})[a.size]["differs_between_runs"] = s["differs_between_runs"]
        with open(MANIFEST, "w") as f:
            json.dump(full, f, indent=1)
            f.write("\n")
        print("manifest.json updated")
    return 0 if n_fail == 0 and not problems else 1


def format_row(s: dict, determinism: bool = False) -> str:
    status = "ok" if s["ok"] else "FAIL"
    if s["unexpected_errors"]:
        status += " unexpected " + "; ".join(f"cell {e['index']}: {e.get('ename')}: {str(e.get('evalue'))[:80]}" for e in s["unexpected_errors"])
    if s["missing_errors"]:
        status += f" expected errors did not happen in cells {s['missing_errors']}"
    extra = ""
    if s["not_picklable"]:
        nd = set(s["not_dillable"])
        extra = " " + ", ".join(n + ("*" if n in nd else "") for n in s["not_picklable"])
    if determinism:
        extra += f" | differs between runs: {', '.join(s.get('differs_between_runs', [])) or '-'}"
        extra += f" | not comparable: {len(s.get('not_comparable', []))}"
    rss = (s["rss_bytes"] or 0) / 1e6
    return (f"{s['name']:48s} {s['n_code_cells']:5d} {s['runtime_s'] or 0:7.2f} {s['state_bytes'] / 1e6:9.2f} "
            f"{rss:7.0f} {s['n_vars']:4d}  {status}{extra}")


if __name__ == "__main__":
    sys.exit(main())
