"""The carrier queue's claims: due jobs taken together, nothing due taken without a write."""

from __future__ import annotations

from pathlib import Path

from services.server.carrier_queue import enqueue
from services.server.core import MessagingServer
from services.server.seed import apply_seed


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
