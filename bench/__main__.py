"""Run every benchmark in this package (``python -m bench``, ``python3 dev.py bench``).

Each ``bench_*`` module offers ``main()``, which prints its figures. Before and after them
the run times one fixed piece of pure Python: this machine's speed moves by a quarter
and more within hours (bench/RESULTS.md, issue 19), so two runs' figures compare only
beside the speed each ran at.
"""

from __future__ import annotations

import importlib
import pkgutil
import statistics
import time

import bench


def _workload() -> int:
    # Loops, calls, a dict and a list: the interpreter's everyday work, a few ms of it.
    seen: dict[int, int] = {}
    items: list[int] = []
    for i in range(100_000):
        seen[i % 1024] = seen.get(i % 1024, 0) + i
        items.append(i & 255)
    return sum(items) + len(seen)


def machine_speed(label: str) -> None:
    times = []
    for _ in range(15):
        started = time.perf_counter()
        _workload()
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"== machine speed {label} ({time.strftime('%H:%M', time.gmtime())} UTC): a fixed "
        f"pure-Python workload, median of 15: {statistics.median(times):.1f} ms "
        f"(fastest {min(times):.1f})",
        flush=True,
    )


def main() -> None:
    machine_speed("before")
    for module in pkgutil.iter_modules(bench.__path__):
        if module.name.startswith("bench_"):
            print(f"== {module.name}", flush=True)
            importlib.import_module(f"bench.{module.name}").main()
    machine_speed("after")


if __name__ == "__main__":
    main()
