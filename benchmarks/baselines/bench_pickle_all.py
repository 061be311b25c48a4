"""Per-variable pickling baseline (what IPython's %store does): one pickle file per user variable.

Modules are not pickled: their names are recorded and imported again at load, as a user would
re-run the imports. A variable that fails to pickle is lost; the reason is reported. Each
variable is pickled on its own, so aliasing between variables is lost too (by design of %store).
"""
import importlib
import json
import os
import pickle
import time
import types

from IPython import get_ipython

_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def _user_names(shell):
    hidden = getattr(shell, "user_ns_hidden", {})
    for name, value in list(shell.user_ns.items()):
        if name.startswith("_") or name in _IPYTHON_NAMES:
            continue
        if name in hidden and hidden[name] is value:
            continue
        yield name, value


def save(directory):
    shell = get_ipython()
    os.makedirs(directory, exist_ok=True)
    t0 = time.perf_counter()
    index = {"modules": {}, "files": {}, "failed": {}}
    total = 0
    for name, value in _user_names(shell):
        if isinstance(value, types.ModuleType):
            index["modules"][name] = value.__name__
            continue
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # noqa: BLE001 (any failure loses the variable)
            index["failed"][name] = f"{type(error).__name__}: {error}"[:200]
            continue
        file = f"{len(index['files'])}.pkl"
        with open(os.path.join(directory, file), "wb") as f:
            f.write(data)
        index["files"][name] = file
        total += len(data)
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump(index, f)
    seconds = time.perf_counter() - t0
    return json.dumps({"seconds": seconds, "bytes": total, "saved": len(index["files"]),
                       "modules": len(index["modules"]), "failed": index["failed"]})


def load(directory):
    shell = get_ipython()
    t0 = time.perf_counter()
    with open(os.path.join(directory, "index.json")) as f:
        index = json.load(f)
    failed = {}
    for name, module in index["modules"].items():
        try:
            shell.user_ns[name] = importlib.import_module(module)
        except Exception as error:  # noqa: BLE001
            failed[name] = f"import {module}: {type(error).__name__}: {error}"[:200]
    for name, file in index["files"].items():
        try:
            with open(os.path.join(directory, file), "rb") as f:
                shell.user_ns[name] = pickle.load(f)
        except Exception as error:  # noqa: BLE001
            failed[name] = f"{type(error).__name__}: {error}"[:200]
    return json.dumps({"seconds": time.perf_counter() - t0, "failed": failed})
