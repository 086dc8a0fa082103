"""Benchmark: what an idle bot costs.

Claim (issue 9, point 13): an idle bot (nothing due, nobody writing) uses under 1 % of a
core; it was 3.4 % when the sender looked for work every 0.25 s and the broadcast job every
second.

The real `dieuphoi run` in its own process, against the fake Bot API (long polling with
nothing to fetch), on a database with the reference data and the demo work of letter
6411/VPCP-KTTH (`dieuphoi seed --demo`: past meetings and tasks, nothing due). After
SETTLE seconds the bot's CPU time (user + system, /proc) is read over SECONDS seconds.

Run: `.venv/bin/python -m bench.idle [--database-url URL] [--seconds S]`.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from bench.common import bench_database, header, parser, verdict
from bench.presses import cpu_seconds, problems_in, start_bot, stop_bot
from tests.cli import cli_env, run_cli
from tests.fakebotapi import FakeBotApi

SETTLE = 15.0
SECONDS = 60.0
LIMIT = 0.01  # of one core


async def bench(url: str, seconds: float) -> int:
    header(f"idle: the bot with nothing to do, for {seconds:g} s", url)
    print(f"   load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    api = FakeBotApi()
    await api.start()
    folder = tempfile.TemporaryDirectory(prefix="dieuphoi-idle-")
    workdir = Path(folder.name)
    env = cli_env(
        workdir, DATABASE_URL=url, TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_BASE_URL=api.base_url,
    )  # fmt: skip
    process = None
    try:
        seeded = await run_cli("seed", "--demo", env=env, cwd=workdir)
        assert seeded.code == 0, seeded.err
        print(f"   {seeded.out.strip()}")
        process = await start_bot(api, url, workdir, None)  # type: ignore[arg-type]
        await asyncio.sleep(SETTLE)
        calls_before = len(api.calls)
        cpu_before, wall_before = cpu_seconds(process.pid), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu = cpu_seconds(process.pid) - cpu_before
        wall = time.perf_counter() - wall_before
        calls = [name for name, _params, _status in api.calls[calls_before:]]
        log = (workdir / "bot.log").read_text(errors="replace")
    finally:
        if process is not None:
            await stop_bot(process)
        await api.stop()
        folder.cleanup()
    share = cpu / wall
    print(f"\nbot CPU over {wall:.1f} s: {cpu:.2f} s = {share * 100:.2f} % of a core")
    print(
        f"Bot API calls meanwhile: {len(calls)} ({', '.join(sorted(set(calls))) or 'none'}); "
        f"warnings/errors logged: {len(problems_in(log))}"
    )
    print("\n-- verdicts")
    print(
        "  ", verdict(share < LIMIT, f"idle under {LIMIT * 100:g} % of a core: {share * 100:.2f} %")
    )
    return 0


def main() -> int:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--seconds", type=float, default=SECONDS, help="length of the look")
    args = arguments.parse_args()
    with bench_database(args.database_url) as url:
        return asyncio.run(bench(url, args.seconds))


if __name__ == "__main__":
    raise SystemExit(main())
