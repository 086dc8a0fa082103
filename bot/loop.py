"""The event loop `dieuphoi run` uses: uvloop where it is installed.

Every button press costs the bot a few milliseconds of CPU in the event loop itself
(callbacks, sockets, the database driver's thread hand-offs); uvloop does that work in C
and roughly halves it, which is what lets one process answer a council's busiest moments
(docs/benchmarks.md §4). Where uvloop cannot be installed (Windows) the standard loop is
used and everything still works, only slower.
"""

from __future__ import annotations

import asyncio


def use_fast_event_loop() -> str:
    """Make new event loops uvloop ones if possible; returns the loop's name for the log."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"
