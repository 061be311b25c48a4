"""Blob checksum cost: each algorithm's throughput on 1 GiB, alone (CPU) and beside a write+fsync
as `save` does it (chunk k hashed by workers while this thread writes it).

    ../.venv/bin/python bench/checksum.py [--mib 1024] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from nbferry_shim import chunksum  # noqa: E402


def alone(data: memoryview, algorithm: str) -> float:
    t0 = time.perf_counter()
    chunksum.sum_parts([data], algorithm)
    return time.perf_counter() - t0


def with_write(data: memoryview, algorithm: str | None, directory: str) -> float:
    fd, path = tempfile.mkstemp(dir=directory)
    os.close(fd)
    try:
        t0 = time.perf_counter()
        with open(path, "wb") as f:
            if algorithm is None:
                f.write(data)
            else:
                with chunksum.Summer(algorithm) as summer:
                    for pieces in chunksum.chunks([data]):
                        summer.add(pieces)
                        for p in pieces:
                            f.write(p)
                    summer.hexdigest()
            f.flush()
            os.fsync(f.fileno())
        return time.perf_counter() - t0
    finally:
        os.unlink(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = memoryview(os.urandom(1 << 20) * args.mib)
    mib = args.mib
    print(f"{mib} MiB, {os.cpu_count()} CPUs, median of {args.repeat}")
    for label, run in [
        ("write+fsync, no checksum", lambda: with_write(data, None, args.dir)),
        *[(f"{a} alone", (lambda a=a: alone(data, a))) for a in chunksum.ALGORITHMS],
        *[(f"write+fsync with {a}", (lambda a=a: with_write(data, a, args.dir))) for a in chunksum.ALGORITHMS],
    ]:
        times = sorted(run() for _ in range(args.repeat))
        t = times[len(times) // 2]
        print(f"  {label:<28} {t:6.2f} s  {mib / t:7.0f} MiB/s")


if __name__ == "__main__":
    main()
