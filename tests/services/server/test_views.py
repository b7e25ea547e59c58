"""Wire views read what they show in a few queries, however many people a thread has."""

from __future__ import annotations

from pathlib import Path

from services.server import views
from services.server.core import MessagingServer
from services.server.seed import apply_seed


def test_a_conversation_is_read_in_the_same_few_queries_whatever_its_size(
    tmp_path: Path,
) -> None:
    server = MessagingServer(tmp_path / "views.db", latency_ms=60_000)
    apply_seed(server, "demo")
    sizes = server.db.all(
        "SELECT conversation_id, COUNT(*) AS n FROM participants GROUP BY conversation_id"
        " ORDER BY n"
    )
    small, large = sizes[0]["conversation_id"], sizes[-1]["conversation_id"]
    assert sizes[-1]["n"] > sizes[0]["n"]
    counts = []
    for conversation_id in (small, large):
        queries: list[str] = []
        server.db._conn.set_trace_callback(queries.append)
        try:
            wire = views.load_conversation(server.db, conversation_id)
            contacts = server.contacts_of(server.conversation(conversation_id))  # type: ignore[arg-type]
        finally:
            server.db._conn.set_trace_callback(None)
        assert wire is not None
        assert all(p["currentName"] or p["deleted"] for p in wire["participants"])
        assert set(contacts) <= {p["contactId"] for p in wire["participants"]} | {wire["contactId"]}
        counts.append(len(queries))
    assert counts[0] == counts[1]  # one query per table, not one per person
    server.db.close()
