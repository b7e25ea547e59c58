"""How long it takes to get a 12-megapixel photo under the reliable MMS size.

    .venv/bin/python -m bench.bench_compress [--runs N] [--max-kb K]

Builds the same noisy 4000x3000 JPEG the tests use (about 6.6 MB, a worst
case for JPEG), then times ``optimise_image`` on it: the figures are the
median and best wall time, the output size and how many full-size encodes
it took (1 means the size estimate was right the first time).
"""

from __future__ import annotations

import argparse
import statistics
import time

from services.attachments.display import human_size
from services.attachments.images import optimise_image
from services.limits import RELIABLE_MMS_BYTES
from tests.services.attachment_files import photo_12mp


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-kb", type=int, default=RELIABLE_MMS_BYTES // 1024)
    args = parser.parse_args(argv)
    limit = args.max_kb * 1024
    source = photo_12mp()
    timings: list[float] = []
    for _run in range(args.runs):
        started = time.perf_counter()
        output = optimise_image(source, "IMG_0001.jpg", max_bytes=limit)
        timings.append(time.perf_counter() - started)
    print(f"input   4000x3000 JPEG, {len(source):,} bytes ({human_size(len(source))})")
    print(
        f"output  {output.width}x{output.height} {output.mime}, {len(output.data):,} bytes "
        f"({human_size(len(output.data))}), limit {limit:,} bytes, {output.passes} pass(es)"
    )
    print(
        f"time    median {statistics.median(timings) * 1000:.0f} ms, "
        f"best {min(timings) * 1000:.0f} ms over {len(timings)} runs"
    )


if __name__ == "__main__":
    main()
