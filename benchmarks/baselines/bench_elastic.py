"""ElasticNotebook adapter (optional; the runner is pointed at an installation, nothing is vendored).

EN is loaded as its examples do: its repository root on sys.path, then `%load_ext ElasticNotebook`.
Cells are recorded by prefixing them with `%%RecordEvent` (done by the runner); `%Checkpoint` and
`%LoadCheckpoint` save and restore. EN prints failures instead of raising in some paths, so the
runner judges the result by fingerprints, not by EN's own report.
"""
import json
import os
import sys
import time

from IPython import get_ipython


def load_extension(root):
    if root not in sys.path:
        sys.path.insert(0, root)
    t0 = time.perf_counter()
    get_ipython().run_line_magic("load_ext", "ElasticNotebook")
    return json.dumps({"seconds": time.perf_counter() - t0})


def checkpoint(path):
    t0 = time.perf_counter()
    get_ipython().run_line_magic("Checkpoint", path)
    seconds = time.perf_counter() - t0
    return json.dumps({"seconds": seconds, "bytes": os.path.getsize(path) if os.path.exists(path) else 0})


def restore(path):
    t0 = time.perf_counter()
    get_ipython().run_line_magic("LoadCheckpoint", path)
    return json.dumps({"seconds": time.perf_counter() - t0})
