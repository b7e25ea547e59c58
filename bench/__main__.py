"""Run every benchmark in this package (``python -m bench``, ``python3 dev.py bench``).

Each ``bench_*`` module offers ``main()``, which prints its figures.
"""

from __future__ import annotations

import importlib
import pkgutil

import bench


def main() -> None:
    for module in pkgutil.iter_modules(bench.__path__):
        if module.name.startswith("bench_"):
            print(f"== {module.name}", flush=True)
            importlib.import_module(f"bench.{module.name}").main()


if __name__ == "__main__":
    main()
