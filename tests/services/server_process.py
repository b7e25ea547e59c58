"""The standalone server as a child process that tests can kill and restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """``python -m services.server`` on 127.0.0.1:port over one database file."""

    def __init__(
        self,
        db: Path,
        port: int | None = None,
        *,
        latency_ms: int = 5,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.db = db
        self.args = args or []
        self.env = env or {}
        self.port = port or free_port()
        self.latency_ms = latency_ms
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.kills = 0

    @property
    def log_path(self) -> Path:
        return self.db.with_suffix(".log")

    async def start(self, verify: bool | ssl.SSLContext = True) -> None:
        self._spawn()
        await self._until_ready(verify=verify)

    def _spawn(self) -> None:
        if self._log is None:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--db",
                str(self.db),
                "--seed",
                "demo",
                "--rate-limit",
                "0",
                "--latency-ms",
                str(self.latency_ms),
                *self.args,
            ],
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )

    async def _until_ready(
        self, within: float = 30.0, verify: bool | ssl.SSLContext = True
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        async with httpx.AsyncClient(base_url=self.url, timeout=1.0, verify=verify) as probe:
            while True:
                if self._proc is not None and self._proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {self._proc.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    answer = await probe.get(
                        "/users/me", headers={"Authorization": "Bearer demo-admin"}
                    )
                    if answer.status_code == 200:
                        return
                if loop.time() > deadline:
                    raise RuntimeError("the server did not start in time")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, connections cut mid-request."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()
            self.kills += 1
        self._proc = None

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


@contextlib.asynccontextmanager
async def served_here(app: Any, protocol: type[asyncio.Protocol]) -> AsyncIterator[int]:
    """``app`` under uvicorn with ``protocol``, in this test's own loop, on a free
    127.0.0.1 port (yielded); stopped at the end."""
    import uvicorn

    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), http=protocol, lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn says so by this flag only)
        await asyncio.sleep(0.01)
    try:
        yield config.port
    finally:
        server.should_exit = True
        await task
