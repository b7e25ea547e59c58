"""The cycle collector's share of a keystroke: kept off what the app's start made.

CPython's collector stops the app for a full pass over every object it tracks, about
once in every few hundred thousand allocations. After the start that is ~86,000 objects
nearly all of which live as long as the app (every imported module's functions, classes
and constants, the device cache, the embedded server, the first screen), and a full pass
over them and what came later took 70-157 ms: now and then one keystroke in the New
Group wizard did (issue 19's budget is 50 ms for any keystroke).

``gc.freeze`` moves the objects alive at that moment out of every later pass; what the
app makes afterwards is collected as before. Done once, right after the first screen is
drawn: then it holds no garbage to keep (a full pass there found one object) and costs
microseconds. Something frozen that later becomes cyclic garbage stays in memory, but
only things that existed at the start can: the cost is bounded by the start itself.
"""

from __future__ import annotations

import gc

_done = False


def keep_what_started() -> None:
    """Leave the start's objects out of the collector's later passes (once a process)."""
    global _done
    if not _done:
        _done = True
        gc.freeze()
