"""Kishu adapter: attach Kishu to a kernel, commit, and check a commit out in a fresh kernel.

Kishu finds its notebook through the Jupyter server; a benchmark has none, so the runner sets
Kishu's own headless switches (TEST_NOTEBOOK_PATH, ENV_KISHU_TEST_MODE: no frontend save/reload,
counter commit ids) and points it at a copy of the notebook in a scratch directory, where Kishu
writes its metadata and its <notebook>.kishudb next to it. Functions return JSON strings.
"""
import json
import time

from IPython import get_ipython

# Kishu calls eval("get_ipython()") in its own module, which works inside a cell, where IPython
# puts get_ipython in builtins; these helpers run as user expressions, so they open that trap.


def init(notebook_path):
    from kishu import init_kishu

    t0 = time.perf_counter()
    with get_ipython().builtin_trap:
        init_kishu(notebook_path)
    return json.dumps({"seconds": time.perf_counter() - t0})


def _timed_kishu(method, arg, key):
    """Calls the session's Kishu object (`_kishu.<method>(arg)`) and reports its time and result."""
    shell = get_ipython()
    t0 = time.perf_counter()
    with shell.builtin_trap:
        result = getattr(shell.user_ns["_kishu"], method)(arg)
    return json.dumps({"seconds": time.perf_counter() - t0, key: str(result)})


def commit(message):
    return _timed_kishu("commit", message, "commit")


def checkout(commit_id):
    return _timed_kishu("checkout", commit_id, "message")


def database(notebook_path):
    from kishu.storage.path import KishuPath
    from pathlib import Path

    return json.dumps({"path": str(KishuPath.database_path(Path(notebook_path)))})


def head(_unused=""):
    """The commit Kishu's session is at (after its automatic commit of the last cell)."""
    shell = get_ipython()
    with shell.builtin_trap:
        commit_id = shell.user_ns["_kishu"]._kishu_graph.head()
    return json.dumps({"commit": str(commit_id)})
