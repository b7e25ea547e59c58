"""The server's command line: ``serve`` (the default) with its flags, and ``admin``.

``python -m services.server --db X ...`` serves; ``python -m services.server admin --db X
...`` sets the business up (services/server/admin.py).

A real carrier's credentials come from the environment only (see
``carriers/config.py``), and so do OneSignal's for push notifications (see
``push/onesignal.py``); before serving, one cheap call to each proves them,
so a wrong token stops the server at once with a sentence instead of
failing every send later.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import socket
import sys
from collections.abc import Callable, Mapping, Sequence

import httpx
import uvicorn

from services import limits
from services.server import logs
from services.server.app import DEFAULT_LATENCY_MS, create_app
from services.server.auth import MAX_FAILURES
from services.server.carriers.base import Carrier, CarrierError, ErrorKind
from services.server.carriers.config import CarrierKind, make_carrier
from services.server.coalesce import CoalescingProtocol
from services.server.push.base import PushError, PushErrorKind, PushService
from services.server.push.onesignal import OneSignalPush, settings_from_env

CARRIERS = ("simulated", "twilio", "telnyx")
# The exit code uvicorn.run gives a server that could not start (its port taken).
STARTUP_FAILURE = 3


def broker_url(env: Mapping[str, str]) -> str | None:
    """``GROUPCHAT_REDIS_URL`` (several server processes on one database), proved by a
    ping before serving; None when unset (one process)."""
    url = env.get("GROUPCHAT_REDIS_URL", "").strip()
    if not url:
        return None
    import redis  # only a server with a broker needs it

    try:
        redis.Redis.from_url(url, socket_timeout=5).ping()
    except (redis.RedisError, OSError, ValueError) as error:
        raise Refusal(
            f"Redis at GROUPCHAT_REDIS_URL did not answer ({type(error).__name__});"
            " check the address, or unset it to run a single process."
        ) from None
    return url


class Refusal(Exception):
    """Why the server will not start, in one sentence."""


def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.server",
        description="The Group Chat for SMS messaging server. To set up its business"
        " (users, tokens, contacts, numbers, backups): python -m services.server admin --help",
    )
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
    parser.add_argument(
        "--carrier",
        choices=CARRIERS,
        default="simulated",
        help="the phone network: simulated (default), twilio or telnyx",
    )
    parser.add_argument(
        "--public-url",
        default=None,
        help="this server's address as the carrier calls it (required for a real carrier)",
    )
    ops = parser.add_argument_group("running as a service")
    ops.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    ops.add_argument(
        "--log-format", default="json", choices=["json", "text"], help="json: one object a line"
    )
    ops.add_argument(
        "--max-failed-sign-ins",
        type=int,
        default=MAX_FAILURES,
        help=f"wrong tokens one address may try in 10 minutes (default {MAX_FAILURES})",
    )
    ops.add_argument("--ssl-certfile", default=None, help="serve HTTPS with this certificate")
    ops.add_argument("--ssl-keyfile", default=None, help="the certificate's private key")
    ops.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDR",
        help="a reverse proxy whose X-Forwarded-For/-Proto headers are believed (repeatable;"
        " none by default)",
    )
    simulated = parser.add_argument_group("simulated carrier")
    simulated.add_argument("--latency-ms", type=int, default=DEFAULT_LATENCY_MS)
    simulated.add_argument("--fail-rate", type=float, default=0.0)
    return parser


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["admin"]:
        from services.server import admin  # only what the admin command needs

        return admin.main(argv[1:])
    args = serve_parser().parse_args(argv)
    logs.configure(args.log_level, args.log_format)
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        print(
            "The server did not start: give both --ssl-certfile and --ssl-keyfile.", file=sys.stderr
        )
        return 2
    try:
        carrier = real_carrier(args.carrier, args.public_url, os.environ)
        push = push_service(os.environ)
        redis_url = broker_url(os.environ)
    except Refusal as refusal:
        print(f"The server did not start: {refusal}", file=sys.stderr)
        return 2
    app = create_app(
        args.db,
        seed=args.seed,
        rate_limit=args.rate_limit,
        latency_ms=args.latency_ms,
        fail_rate=args.fail_rate,
        carrier=carrier,
        public_url=args.public_url,
        push=push,
        redis_url=redis_url,
    )
    app.state.server.auth.max_failures = args.max_failed_sign_ins
    settle_heap()
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        http=CoalescingProtocol,  # an answer's head and body in one write
        log_config=None,  # logs.configure() set the format
        access_log=False,  # the middleware writes one line per request, with its id
        proxy_headers=bool(args.trusted_proxy),
        forwarded_allow_ips=",".join(args.trusted_proxy) or None,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        # Requests in flight get a few seconds (open event streams end at once: see
        # GracefulServer). Sends already handed to the carrier finish after that, in the
        # lifespan's shutdown (carrier_queue.DRAIN_S), since they run outside requests.
        timeout_graceful_shutdown=3,
    )
    server = GracefulServer(config, on_stop=app.state.server.hub.end_streams)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    # A server that could not start (its port taken) said why in the log, as uvicorn does.
    return 0 if server.started else STARTUP_FAILURE


class GracefulServer(uvicorn.Server):
    """uvicorn's server, which ends the app's event streams as it begins to stop: they end
    as answers do (every event logged has gone out) and devices reconnect at once, to the
    next server, instead of being cut when the graceful stop's time is up, each with a
    traceback in the log."""

    def __init__(self, config: uvicorn.Config, on_stop: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_stop = on_stop

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._on_stop()
        await super().shutdown(sockets)


def settle_heap() -> None:
    """Set what lives as long as the server (modules, the app and its routes, the
    schemas) aside from the garbage collector: its full passes then walk only what
    requests made since. Without this, under load one pass every ~1,500 sends walked it
    all and held the event loop 27 ms (issue 19), every stream and request waiting."""
    gc.collect()
    gc.freeze()


def real_carrier(kind: str, public_url: str | None, env: Mapping[str, str]) -> Carrier | None:
    """The configured real carrier, its credentials proved; None for the simulated one."""
    if kind == "simulated":
        return None
    if not public_url:
        raise Refusal(f"--public-url is required with --carrier {kind}: it is where {kind} calls.")
    carrier_kind: CarrierKind = "twilio" if kind == "twilio" else "telnyx"
    try:
        asyncio.run(_prove(carrier_kind, public_url, env))
        return make_carrier(carrier_kind, env, public_url)
    except CarrierError as error:
        if error.kind is ErrorKind.RETRYABLE:
            raise Refusal(
                f"{kind.title()} could not be reached to check the credentials. Check this"
                " machine's connection to the internet, then start the server again."
            ) from None
        raise Refusal(error.message) from None


def push_service(env: Mapping[str, str]) -> PushService | None:
    """OneSignal when ONESIGNAL_APP_ID and ONESIGNAL_REST_API_KEY are set, its credentials
    proved with one cheap call; None (no push notifications) when neither is."""
    try:
        settings = settings_from_env(env)
        if settings is None:
            return None
        asyncio.run(_prove_push(OneSignalPush(settings)))
    except PushError as error:
        if error.kind is PushErrorKind.RETRYABLE:
            raise Refusal(
                "OneSignal could not be reached to check the push credentials. Check this"
                " machine's connection to the internet, then start the server again."
            ) from None
        raise Refusal(error.message) from None
    return OneSignalPush(settings)


async def _prove_push(push: OneSignalPush) -> None:
    # Its own client (made on this loop, closed here), like the carrier's check.
    try:
        await push.verify()
    finally:
        await push.aclose()


async def _prove(kind: CarrierKind, public_url: str, env: Mapping[str, str]) -> None:
    # Its own client: connections must not outlive this event loop into uvicorn's.
    async with httpx.AsyncClient() as http:
        await make_carrier(kind, env, public_url, http=http).verify()
