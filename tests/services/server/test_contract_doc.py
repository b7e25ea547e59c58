"""docs/contract.md names every operation the server publishes in /openapi.json."""

from __future__ import annotations

import re
from pathlib import Path

from services.server.app import create_app

DOC = Path(__file__).resolve().parents[3] / "docs" / "contract.md"


def documented() -> set[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8").split("## LeadConnector")[0]
    found = set()
    for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)", text):
        found.add((method, path))
    # "`PATCH /contacts/{contactId}` ... or `PUT`": the second verb of the same path.
    if ("PATCH", "/contacts/{contactId}") in found:
        found.add(("PUT", "/contacts/{contactId}"))
    return found


def test_every_published_operation_is_in_the_contract(tmp_path: Path) -> None:
    document = create_app(tmp_path / "s.db").openapi()
    published = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    published |= {("POST", "/webhooks/twilio"), ("POST", "/webhooks/telnyx")}
    published |= {("GET", "/openapi.json")}  # the document itself
    missing = published - documented()
    assert not missing, f"in /openapi.json but not in docs/contract.md: {sorted(missing)}"
    stale = {op for op in documented() if op not in published}
    assert not stale, f"in docs/contract.md but not served: {sorted(stale)}"
