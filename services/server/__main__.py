"""Run the server as a standalone server.

python -m services.server --host 127.0.0.1 --port 8765 --db server.db --seed demo
"""

from __future__ import annotations

import argparse

import uvicorn

from services import limits
from services.server.app import DEFAULT_LATENCY_MS, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", required=True, help="SQLite file (attachments go beside it)")
    parser.add_argument("--seed", choices=["demo"], default=None, help="load the demo location")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=limits.RATE_LIMIT_REQUESTS,
        help="requests per 10 s per token (0 turns it off)",
    )
    parser.add_argument("--latency-ms", type=int, default=DEFAULT_LATENCY_MS)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    args = parser.parse_args(argv)
    app = create_app(
        args.db,
        seed=args.seed,
        rate_limit=args.rate_limit,
        latency_ms=args.latency_ms,
        fail_rate=args.fail_rate,
    )
    # Open event streams would otherwise hold a Ctrl+C for as long as they stay connected.
    uvicorn.run(
        app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2
    )


if __name__ == "__main__":
    main()
