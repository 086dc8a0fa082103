"""Benchmarks of the outbox: `python -m bench.outbox_dispatch`, `python -m bench.quarter`.

Each script builds its own throw-away database (a temporary SQLite file unless
`--database-url` names an empty PostgreSQL database), drives the real bot against the
fake Bot API server of the tests, and prints what it measured. See bench/README.md.
"""
