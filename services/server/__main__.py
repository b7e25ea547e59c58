"""``python -m services.server``: the messaging server, and its admin command.

    python -m services.server --db server.db [--seed demo] [--host 127.0.0.1 --port 8765]
    python -m services.server --db server.db --carrier twilio --public-url https://sms.example.com
    python -m services.server admin --db server.db user add --location loc_… --name "Dana W" …

Everything the server refuses at start (a missing setting, credentials the carrier
does not accept) is one sentence on standard error and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

from services.server import cli

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))
