"""Benchmark: one person floods the bot while others press status buttons.

Claim (issue 9, point 5): "one user sends 100 texts in 2 s while 20 others press status
buttons; the others' press-to-answer p99 stays under 2 s", and the flooder only slows
themselves.

The world and the bot are bench.presses': the real `dieuphoi run` in its own process, 200
registered members, each with the messages carrying their status buttons. For SECONDS
seconds one registered member sends FLOOD_RATE texts a second (100 every 2 s), while
PRESSERS other members press a status button once a second each. The latency of a press
is from injecting it to the fake receiving the bot's answerCallbackQuery. Also printed:
how the flooder was answered (answers, the "slow down" notices, updates dropped).

Run: `.venv/bin/python -m bench.flood [--database-url URL] [--seconds S]`.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from bench.common import bench_database, header, parser, percentile, verdict
from bench.presses import (
    TimedFakeBotApi,
    _ms,
    ask_status,
    build_world,
    cpu_seconds,
    drain,
    inject,
    plan,
    problems_in,
    start_bot,
    stop_bot,
)
from bot.db import make_engine, make_sessionmaker
from bot.models import InboxState, InboxUpdate
from tests.fakebotapi import RateLimiter, RateLimits

PRESSERS = 20
FLOOD_RATE = 50.0  # texts a second: 100 in 2 s
SECONDS = 20.0
P99_LIMIT = 2.0
NOTICE = "nhanh hơn mức tôi có thể trả lời"


async def flood(api: TimedFakeBotApi, user: object, rate: float, seconds: float) -> int:
    began = time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - began) < seconds:
        due = int(elapsed * rate) + 1
        while sent < due:
            api.send_message(user, f"tin nhắn thứ {sent}")  # type: ignore[arg-type]
            sent += 1
        await asyncio.sleep(1.0 / rate)
    return sent


async def bench(url: str, seconds: float) -> int:
    header(
        f"flood: one member sends {FLOOD_RATE * 2:.0f} texts every 2 s while {PRESSERS} "
        "others press status buttons",
        url,
    )
    print(f"   load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    api = TimedFakeBotApi(limits=RateLimits(enabled=False))  # off for the set-up
    await api.start()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    folder = tempfile.TemporaryDirectory(prefix="dieuphoi-flood-")
    workdir = Path(folder.name)
    process = None
    try:
        people = await build_world(api, sessions)
        process = await start_bot(api, url, workdir, None)
        await ask_status(api, people)
        await asyncio.sleep(2.0)
        limits = RateLimits()
        api.limits, api.limiter = limits, RateLimiter(limits)
        flooder, pressers = people[0], people[1 : PRESSERS + 1]
        presses = plan(pressers, int(PRESSERS * seconds))
        sent_before = len(api.sent)
        log_before = (workdir / "bot.log").read_text(errors="replace")
        bot_cpu = cpu_seconds(process.pid)
        texts, _started = await asyncio.gather(
            flood(api, flooder.user, FLOOD_RATE, seconds), inject(api, presses, PRESSERS)
        )
        waited = await drain(api, presses, 120)
        await asyncio.sleep(3.0)
        bot_cpu = cpu_seconds(process.pid) - bot_cpu
        latency = [
            api.answered_at[p.query_id] - p.injected
            for p in presses
            if p.query_id in api.answered_at
        ]
        to_flooder = [
            m.get("text", "") for m in api.sent[sent_before:] if m["chat"]["id"] == flooder.user.id
        ]
        async with sessions() as session:
            states = Counter(
                (
                    await session.scalars(
                        select(InboxUpdate.state).where(InboxUpdate.person == flooder.user.id)
                    )
                ).all()
            )
        log = (workdir / "bot.log").read_text(errors="replace")[len(log_before) :]
    finally:
        if process is not None:
            await stop_bot(process)
        await api.stop()
        await engine.dispose()
        folder.cleanup()

    answered = len(latency)
    print(
        f"\npresses of the {PRESSERS} others: {len(presses)} injected in {seconds:g} s, "
        f"{answered} answered (the last {waited:.1f} s after the injection ended)"
    )
    print(f"   latency, press → answer: {_ms(latency)}")
    notices = sum(NOTICE in t for t in to_flooder)
    print(
        f"the flooder: {texts} texts sent; {len(to_flooder) - notices} answered, "
        f"{notices} 'slow down' notices; inbox states {dict(states)}"
    )
    print(f"bot CPU {bot_cpu:.1f} s ({bot_cpu / max(1.0, seconds) * 100:.0f} % of a core)")
    problems = [p for p in problems_in(log) if "sends faster than" not in p]
    print(f"bot warnings/errors other than the flood's: {len(problems)}")
    for line in problems[:5]:
        print(f"   {line}")
    p99 = percentile(latency, 0.99) if latency else float("inf")
    dropped = states[InboxState.DROPPED]
    print("\n-- verdicts")
    print(
        "  ",
        verdict(
            answered == len(presses) and p99 < P99_LIMIT,
            f"the others' press p99 under {P99_LIMIT:g} s while one floods: p50 "
            f"{percentile(latency, 0.5) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms",
        ),
    )
    print(
        "  ",
        verdict(
            dropped > 0 and 1 <= notices <= int(seconds // 60) + 1,
            f"the flooder's surplus dropped ({dropped}), asked to slow down once a minute at "
            f"most ({notices})",
        ),
    )
    return 0


def main() -> int:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--seconds", type=float, default=SECONDS, help="length of the run")
    args = arguments.parse_args()
    with bench_database(args.database_url) as url:
        return asyncio.run(bench(url, args.seconds))


if __name__ == "__main__":
    raise SystemExit(main())
