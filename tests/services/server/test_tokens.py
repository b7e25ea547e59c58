"""Tokens at rest and at the door: hashed, several per user, expiring, revocable at once."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from services.server import accounts, clock, seed
from services.server.app import create_app
from services.server.auth import MAX_FAILURES
from services.server.db import Database
from services.server.embedded import EmbeddedTransport
from tests.services.server_process import REPO, ServerProcess

pytestmark = pytest.mark.anyio
BASE = "http://server.test"


def client(app: object, token: str) -> httpx.AsyncClient:
    transport = EmbeddedTransport(app.state.server, app=app)  # type: ignore[attr-defined]
    return httpx.AsyncClient(
        transport=transport, base_url=BASE, headers={"Authorization": f"Bearer {token}"}
    )


def files_in(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


async def test_a_user_holds_several_named_tokens_and_only_their_hashes_are_kept(
    tmp_path: Path,
) -> None:
    app = create_app(tmp_path / "s.db", seed="demo", rate_limit=0)
    server = app.state.server
    with server.db.tx() as conn:
        phone_id, phone_token = accounts.issue_token(conn, seed.STAFF_ID, name="Sam's phone")
        desk_id, desk_token = accounts.issue_token(conn, seed.STAFF_ID, name="Front desk PC")
    assert phone_token.startswith("gcs_") and len(phone_token) == 4 + 43  # 256 random bits
    for token in (phone_token, desk_token):
        async with client(app, token) as http:
            me = await http.get("/users/me")
            assert me.json()["user"]["id"] == seed.STAFF_ID
    listed = accounts.tokens_of(server.db, seed.STAFF_ID)
    assert {r["name"] for r in listed} >= {"Sam's phone", "Front desk PC"}
    assert all(r["last_used_at"] for r in listed if r["id"] in (phone_id, desk_id))
    server.db.close()
    raw = files_in(tmp_path)
    for token in (phone_token, desk_token, seed.ADMIN_TOKEN, seed.STAFF_TOKEN):
        assert token.encode() not in raw, "a token is in the database file"


async def test_a_revoked_or_expired_token_is_refused_at_once(tmp_path: Path) -> None:
    app = create_app(tmp_path / "s.db", seed="demo", rate_limit=0)
    server = app.state.server
    with server.db.tx() as conn:
        token_id, token = accounts.issue_token(conn, seed.ADMIN_ID, name="laptop")
        _, brief = accounts.issue_token(
            conn, seed.ADMIN_ID, name="brief", expires_at=clock.now() - timedelta(seconds=1)
        )
    async with client(app, token) as http:
        assert (await http.get("/users/me")).status_code == 200
        with server.db.tx() as conn:
            accounts.revoke_token(conn, token_id)
        server.auth.invalidate()  # what the change watch does when another process revokes
        assert (await http.get("/users/me")).status_code == 401
    async with client(app, brief) as http:
        assert (await http.get("/users/me")).status_code == 401


async def test_a_disabled_user_signs_in_no_more(tmp_path: Path) -> None:
    app = create_app(tmp_path / "s.db", seed="demo", rate_limit=0)
    server = app.state.server
    async with client(app, seed.STAFF_TOKEN) as http:
        assert (await http.get("/users/me")).status_code == 200
        # The admin command runs in its own process, with its own connection.
        other = Database(tmp_path / "s.db")
        with other.tx() as conn:
            accounts.set_disabled(conn, seed.STAFF_ID)
        other.close()
        server.changed_elsewhere()
        assert (await http.get("/users/me")).status_code == 401
    async with client(app, seed.ADMIN_TOKEN) as http:
        users = (await http.get("/users/")).json()["users"]
        assert seed.STAFF_ID not in {u["id"] for u in users}


async def test_failed_sign_ins_are_limited_per_address(tmp_path: Path) -> None:
    app = create_app(tmp_path / "s.db", seed="demo", rate_limit=0)
    async with client(app, "gcs_guess") as guesser:
        answers = [(await guesser.get("/users/me")).status_code for _ in range(MAX_FAILURES)]
        assert set(answers) == {401}
        refused = await guesser.get("/users/me")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert "failed sign-ins" in refused.json()["message"]
    # The same address with the right token waits too: guessing is what is limited.
    async with client(app, seed.ADMIN_TOKEN) as http:
        assert (await http.get("/users/me")).status_code == 429


async def test_a_revoked_tokens_open_event_stream_is_closed(tmp_path: Path) -> None:
    db_path = tmp_path / "server.db"
    server = ServerProcess(db_path)
    await server.start()
    admin = Database(db_path)  # the admin command's own connection
    try:
        with admin.tx() as conn:
            token_id, token = accounts.issue_token(conn, seed.ADMIN_ID, name="tablet")
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
            http.stream("GET", "/events", headers=headers) as stream,
        ):
            assert stream.status_code == 200
            chunks = stream.aiter_text()
            assert "cursor" in await anext(chunks)
            # `admin token revoke`, run as a shell would: its own process and connection.
            revoked = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "services.server", "admin", "--db", str(db_path)),
                *("token", "revoke", "--token-id", token_id),
                cwd=REPO,
            )
            assert await revoked.wait() == 0
            loop = asyncio.get_running_loop()
            revoked_at = loop.time()
            async for _ in chunks:  # keep-alives at most, then the end
                pass
            print(f"stream closed {loop.time() - revoked_at:.2f} s after the revocation")
            again = await http.get("/users/me", headers={"Authorization": f"Bearer {token}"})
            assert again.status_code == 401
    finally:
        admin.close()
        server.stop()
