"""Keep the garbage collector off the objects that live as long as the process.

After start-up the bot holds some 130,000 tracked objects (python-telegram-bot,
SQLAlchemy, the catalogs) that are never freed, and matplotlib adds some 45,000 more with
its first chart. Python's full (generation 2) collection walks all of them each time it
runs, 90–180 ms on this kind of machine, and it runs every so often in the middle of
whatever the bot is doing: a button press or a digest then takes that much longer
(docs/benchmarks.md §3). Freezing moves the objects alive at that moment into a
permanent generation the collector does not walk; everything created later is collected
as usual.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call when long-lived objects have just been made: once the application is built
    (before it serves), and once matplotlib has drawn its first chart."""
    gc.collect()  # what was garbage by then is freed, not frozen for good
    gc.freeze()
