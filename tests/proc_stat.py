"""Processes as /proc shows them (Linux), for the tests and benchmarks that watch
`dieuphoi run` and the desk process it starts (tests/processes.py runs them)."""

from __future__ import annotations

import os
from pathlib import Path


def proc_stat(pid: int) -> list[str] | None:
    """A process's fields after its name in /proc/<pid>/stat (state, parent, …, utime at
    11, stime at 12); None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()  # pid (comm) state …: comm may hold ")"


def children(pid: int) -> list[int]:
    """The running processes whose parent is `pid`."""
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) and int(stat[1]) == pid
    ]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far."""
    fields = proc_stat(pid)
    if fields is None:
        raise ProcessLookupError(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ended(pid: int) -> bool:
    """Gone, or a zombie nobody has reaped yet."""
    stat = proc_stat(pid)
    return stat is None or stat[0] in ("Z", "X")
