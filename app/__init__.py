"""The Flet app: views, components and their view-models over ``services``."""

import sys

# httpx's own package imports its command-line tool, which imports click, rich and
# pygments when they are installed (~40 ms of every start, before the first screen).
# The app never runs it: leave it out, and httpx falls back to a stub (issue 19).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
