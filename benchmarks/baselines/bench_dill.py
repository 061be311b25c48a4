"""dill.dump_session / load_session baseline, run inside a kernel by the benchmark runner.

The runner evaluates `save(path)` in the source kernel and `load(path)` in a fresh kernel as
user expressions, so nothing is bound in the user namespace. Both return a JSON string.
"""
import json
import os
import time


def _dill():
    import dill

    return dill


def save(path):
    dill = _dill()
    t0 = time.perf_counter()
    # dump_session was renamed dump_module in dill 0.3.6; the old name still works (deprecated).
    dump = getattr(dill, "dump_session", None) or dill.dump_module
    dump(path)
    seconds = time.perf_counter() - t0
    return json.dumps({"seconds": seconds, "bytes": os.path.getsize(path), "dill": dill.__version__})


def load(path):
    dill = _dill()
    t0 = time.perf_counter()
    load_ = getattr(dill, "load_session", None) or dill.load_module
    load_(path)
    return json.dumps({"seconds": time.perf_counter() - t0})
