"""What `flet build` runs ([tool.flet.app] path = ".", module = "main").

flet build looks for `<module>.py` at the root of the app path, and the app
needs both app/ and services/ packaged, so the repository root is the app and
this file hands over to app/main.py. During development use `python -m app`.
"""

import sys

from app.main import run

if __name__ == "__main__":
    sys.exit(run([]))
