"""The carrier queue: due jobs claimed together, nothing due taken without a write, and
no step that reads a whole table."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from services.server import clock
from services.server.carrier_queue import enqueue
from services.server.core import MessagingServer
from services.server.embedded import EmbeddedTransport
from services.server.seed import apply_seed
from services.server.writes import NewMessage, insert_message


def test_due_jobs_are_claimed_together_and_nothing_due_takes_no_write(tmp_path: Path) -> None:
    server = MessagingServer(tmp_path / "queue.db", latency_ms=60_000)
    apply_seed(server, "demo")
    conversations = [r["id"] for r in server.db.all("SELECT id FROM conversations LIMIT 5")]
    with server.write() as conn:
        conn.execute("DELETE FROM carrier_jobs")
        for conversation_id in conversations:
            enqueue(conn, "group", conversation_id, now_ms=0)
    writes: list[str] = []
    server.db._conn.set_trace_callback(
        lambda sql: writes.append(sql) if sql.startswith("BEGIN") else None
    )
    try:
        first = server.queue._claim(3)  # room for three of the five due
        assert len(first) == 3 and len(writes) == 1
        rest = server.queue._claim(8)
        assert len(rest) == 2 and len(writes) == 2
        assert {j.conversation_id for j in first + rest} == set(conversations)
        assert server.queue._claim(8) == [] and len(writes) == 2  # a read found nothing due
    finally:
        server.db._conn.set_trace_callback(None)
    running = server.db.scalar("SELECT COUNT(*) FROM carrier_jobs WHERE state = 'running'")
    assert running == 5
    server.db.close()


@pytest.mark.anyio
async def test_a_send_and_its_carrier_job_find_their_rows_through_indexes(
    transport: EmbeddedTransport, raw: httpx.AsyncClient
) -> None:
    """Every statement of a send, its carrier job and its delivery report: no statement
    reads a whole table, or it would cost more with every message ever sent."""
    conn = transport.server.db._conn
    statements: set[str] = set()
    conn.set_trace_callback(statements.add)
    try:
        conversation = (await raw.get("/conversations/search")).json()["conversations"][0]["id"]
        for n in range(3):
            body = {"type": "SMS", "conversationId": conversation, "message": f"plan {n}"}
            assert (await raw.post("/conversations/messages", json=body)).status_code == 201
        pending = "SELECT COUNT(*) FROM carrier_jobs WHERE state IN ('queued', 'running')"
        for _ in range(200):  # the instant carrier reports in the background
            await asyncio.sleep(0.01)
            if transport.server.db.scalar(pending) == 0:
                break
    finally:
        conn.set_trace_callback(None)
    assert any("carrier_jobs SET ready" in s for s in statements)
    whole_tables = {
        (s, line)
        for s in statements
        if s.split()[0].upper() in {"SELECT", "UPDATE", "DELETE", "INSERT"}
        for *_, line in conn.execute(f"EXPLAIN QUERY PLAN {s}").fetchall()
        if re.fullmatch(r"SCAN \w+", line) and not line.endswith("_config")
    }
    assert whole_tables == set()


@pytest.mark.anyio
async def test_a_conversation_s_queued_sends_cost_one_write_each(tmp_path: Path) -> None:
    """Each send's outcome is recorded in the transaction that claims the next one."""
    server = MessagingServer(tmp_path / "queue.db", latency_ms=60_000)  # no reports yet
    apply_seed(server, "demo")
    conversation = server.db.scalar("SELECT id FROM conversations WHERE kind = 'contacts' LIMIT 1")
    recipients = [
        (r["id"], r["phone"])
        for r in server.db.all(
            "SELECT id, phone FROM participants WHERE conversation_id = ?", (conversation,)
        )
    ]
    with server.write() as conn:
        conn.execute("DELETE FROM carrier_jobs")
        conn.execute("UPDATE conversations SET carrier_ready = 1 WHERE id = ?", (conversation,))
        for n in range(6):
            message_id = insert_message(
                conn,
                NewMessage(conversation, "outbound", f"queued {n}", clock.now(), "queued"),
                recipients=recipients,
            )
            enqueue(conn, "send", conversation, message_id, now_ms=0)
    writes: list[str] = []
    looks: list[str] = []  # the worker's look for due jobs

    def traced(sql: str) -> None:
        if sql.startswith("BEGIN"):
            writes.append(sql)
        elif sql.startswith("SELECT * FROM carrier_jobs WHERE state = 'queued'") and sql.endswith(
            "LIMIT 1"
        ):
            looks.append(sql)

    server.db._conn.set_trace_callback(traced)
    try:
        server.queue.start()
        pending = "SELECT COUNT(*) FROM carrier_jobs WHERE state != 'done'"
        for _ in range(500):
            await asyncio.sleep(0.01)
            if server.db.scalar(pending) == 0:
                break
    finally:
        server.db._conn.set_trace_callback(None)
        await server.aclose()
    assert server.db.scalar(pending) == 0
    sent = server.db.scalar(
        "SELECT COUNT(*) FROM carrier_messages c JOIN messages m ON m.id = c.message_id"
        " WHERE m.conversation_id = ?",
        (conversation,),
    )
    assert sent == 6
    # The start's recovery, the first claim, then one for each send's outcome (was 13).
    assert len(writes) == 1 + 1 + 6
    # Each outcome claimed every due job: the worker looked at the start, not after each.
    assert len(looks) == 1, looks
    server.db.close()
