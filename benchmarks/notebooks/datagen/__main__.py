"""CLI: ``python -m datagen <dataset|all> --size small|medium|large [--out DIR] [--force]``."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

from . import DATASETS, SIZES, get_module
from .common import GENERATOR_VERSION

DEFAULT_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")


def generate(name: str, size: str, out: str, force: bool = False, quiet: bool = False) -> str:
    """Generate dataset ``name`` into ``<out>/<name>/``; skip if already complete."""
    mod = get_module(name)
    dest = os.path.join(out, name)
    stamp = os.path.join(dest, "_generated.json")
    src = hashlib.sha1()
    for f in (mod.__file__, os.path.join(os.path.dirname(mod.__file__), "common.py")):
        with open(f, "rb") as fh:
            src.update(fh.read())
    meta = {"dataset": name, "size": size, "version": GENERATOR_VERSION, "seed": mod.SEED,
            "source_sha1": src.hexdigest()}
    if not force and os.path.exists(stamp):
        try:
            with open(stamp) as f:
                old = json.load(f)
            if {k: old.get(k) for k in meta} == meta:
                if not quiet:
                    print(f"{name}: up to date in {dest}")
                return dest
        except (OSError, ValueError):
            pass
    os.makedirs(dest, exist_ok=True)
    if os.path.exists(stamp):
        os.remove(stamp)
    t0 = time.perf_counter()
    files = mod.generate(size, dest)
    elapsed = time.perf_counter() - t0
    total = sum(os.path.getsize(os.path.join(dest, f)) for f in files)
    meta.update(files=sorted(files), bytes=total, seconds=round(elapsed, 2))
    with open(stamp, "w") as f:
        json.dump(meta, f, indent=1)
    if not quiet:
        print(f"{name}: {len(files)} files, {total / 1e6:.1f} MB in {elapsed:.1f}s -> {dest}")
    return dest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m datagen", description=__doc__)
    p.add_argument("dataset", choices=(*DATASETS, "all"))
    p.add_argument("--size", choices=SIZES, default="small")
    p.add_argument("--out", help="root directory (default: benchmarks/notebooks/data/<size>)")
    p.add_argument("--force", action="store_true", help="regenerate even if up to date")
    a = p.parse_args(argv)
    out = a.out or os.path.join(DEFAULT_ROOT, a.size)
    names = DATASETS if a.dataset == "all" else (a.dataset,)
    for n in names:
        generate(n, a.size, out, force=a.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
