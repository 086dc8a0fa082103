"""Benchmark: the desk's overview of every council, and the weight of every page.

Claims (issue 13): "The overview for 6 councils, 51 agencies, 2,000 tasks and 50,000
reports is built in under 300 ms p95 on SQLite and PostgreSQL; every page under 200 KB
with all its assets."

The data is written directly with bulk inserts (bench/digest.py's generators): the six
councils and 51 agencies of the reference data (17 ministries and 34 provinces); each
council has the 17 ministries and its share of the provinces; 2 members per agency and
council (most registered, a few never started or blocked); 2,000 tasks spread over the
councils (due from 300 days before to 120 after the moment, the old ones mostly done),
50,000 status reports over their lives, 8 meetings a council with answers, a few hundred
audit records. The moment is bench/digest.py's NOW (Monday 30/11/2026 08:30 in Hanoi).

1. "Built" = `overview.council_overviews` (every query and the classification) in its own
   session, rolled back: one warm-up, then RUNS timed; p50/p95/max.
2. The page as a browser gets it: GET / from the desk's own aiohttp server (the real
   middlewares, session look-up, template), signed in as an admin: p50/p95/max.
3. Every page the desk has (admins' and a member's), its HTML plus the stylesheet and the
   script it loads, in bytes, uncompressed: the heaviest against 200 KB.

Run: `.venv/bin/python -m bench.desk [--database-url URL]`.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import insert, select

from bench.common import bench_database, header, parser, percentile, verdict
from bench.digest import NOW, Part, _meetings, _reports, _tasks
from bot import i18n
from bot.app import Deps, timing_from
from bot.clock import FrozenClock
from bot.config import load_settings
from bot.db import Sessionmaker, make_engine, make_sessionmaker, transaction
from bot.models import (
    Admin,
    Agency,
    AgencyKind,
    AuditLog,
    Council,
    CouncilMembership,
    Member,
    TelegramUser,
)
from bot.services import desk, overview
from bot.services.people import TelegramIdentity, identify, name_key
from bot.services.reference import seed_reference_data

TASKS = 2_000
REPORTS = 50_000
MEMBERS_PER_AGENCY = 2
RUNS = 30
PAGE_RUNS = 20
BUILD_LIMIT = 0.300  # seconds, p95
PAGE_LIMIT = 200 * 1024  # bytes, with its assets
ADMIN_ID = 700_000_001
HOST = "127.0.0.1"


@dataclass
class World:
    councils: int
    agencies: int
    members: int
    tasks: int
    open_tasks: int
    reports: int
    meetings: int
    member_user_id: int
    seconds: float


async def build(sessions: Sessionmaker, rng: random.Random) -> World:
    began = time.perf_counter()
    async with transaction(sessions) as session:
        await seed_reference_data(session, NOW, "bench")
    async with transaction(sessions) as session:
        councils = list((await session.scalars(select(Council).order_by(Council.id))).all())
        agencies = list((await session.scalars(select(Agency).order_by(Agency.id))).all())
        ministries = [a for a in agencies if a.kind != AgencyKind.PROVINCE]
        provinces = [a for a in agencies if a.kind == AgencyKind.PROVINCE]
        seats = {
            council.id: ministries + provinces[index :: len(councils)]
            for index, council in enumerate(councils)
        }
        members, member_user_id = await _members(session, councils, seats)
        parts: list[Part] = []
        tasks = open_tasks = meetings = 0
        for index, council in enumerate(councils):
            share = TASKS // len(councils) + (1 if index < TASKS % len(councils) else 0)
            made, count, still_open, _cancelled = await _tasks(
                session, council, seats[council.id], rng, count=share
            )
            parts += made
            tasks += count
            open_tasks += still_open
            in_council = {a.id: members[a.id] for a in seats[council.id]}
            meetings += (await _meetings(session, council, in_council, rng))[0]
        reports, _notes = await _reports(session, parts, members, rng, count=REPORTS)
        session.add(
            Admin(telegram_user_id=ADMIN_ID, name="Ban thư ký", added_at=NOW, added_by="bench")
        )
        session.add(
            TelegramUser(
                id=ADMIN_ID,
                first_name="Thư ký",
                private_chat_ok=True,
                first_seen_at=NOW,
                last_seen_at=NOW,
            )
        )
        await session.execute(
            insert(AuditLog),
            [
                {
                    "at": NOW - timedelta(minutes=n),
                    "actor": f"tg:{ADMIN_ID}",
                    "action": "task.create",
                    "details": {"task_id": n + 1},
                }
                for n in range(300)
            ],
        )
    return World(
        councils=len(councils),
        agencies=len(agencies),
        members=sum(len(ids) for ids in members.values()),
        tasks=tasks,
        open_tasks=open_tasks,
        reports=reports,
        meetings=meetings,
        member_user_id=member_user_id,
        seconds=time.perf_counter() - began,
    )


async def _members(
    session: Any, councils: list[Council], seats: dict[int, list[Agency]]
) -> tuple[dict[int, list[int]], int]:
    """MEMBERS_PER_AGENCY members of each agency in each council it sits on; every 20th
    never started the bot, every 30th blocked it. Returns member ids by agency, and the
    Telegram id of one registered member (for the member's page)."""
    users: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    council_of: list[int] = []
    number = 0
    for council in councils:
        for agency in seats[council.id]:
            for _ in range(MEMBERS_PER_AGENCY):
                number += 1
                user_id = 810_000_000 + number if number % 20 != 19 else None
                if user_id is not None:
                    users.append(
                        {
                            "id": user_id,
                            "first_name": f"Người {number}",
                            "telegram_language": "vi",
                            "private_chat_ok": number % 30 != 7,
                            "first_seen_at": NOW - timedelta(days=300),
                            "last_seen_at": NOW - timedelta(days=1),
                        }
                    )
                full_name = f"Nguyễn Văn {agency.code}{number:04d}"
                rows.append(
                    {
                        "full_name": full_name,
                        "name_key": name_key(full_name),
                        "position": "Chuyên viên",
                        "agency_id": agency.id,
                        "telegram_user_id": user_id,
                        "registered_at": NOW - timedelta(days=300) if user_id else None,
                        "created_at": NOW - timedelta(days=320),
                        "updated_at": NOW - timedelta(days=320),
                    }
                )
                council_of.append(council.id)
    await session.execute(insert(TelegramUser), users)
    ids = list(
        (
            await session.scalars(
                insert(Member).returning(Member.id, sort_by_parameter_order=True), rows
            )
        ).all()
    )
    await session.execute(
        insert(CouncilMembership),
        [{"council_id": c, "member_id": m} for c, m in zip(council_of, ids, strict=True)],
    )
    by_agency: dict[int, list[int]] = {}
    for member_id, row in zip(ids, rows, strict=True):
        by_agency.setdefault(row["agency_id"], []).append(member_id)
    return by_agency, int(users[0]["id"])


async def time_build(sessions: Sessionmaker, deps: Deps) -> list[float]:
    async with transaction(sessions) as session:
        who = await identify(session, TelegramIdentity(ADMIN_ID), "vi")
    times = []
    for run in range(RUNS + 1):
        async with sessions() as session:
            began = time.perf_counter()
            views = await overview.council_overviews(session, who, NOW, deps.timing.calendar)
            elapsed = time.perf_counter() - began
            await session.rollback()
        if run:  # the first is the warm-up
            times.append(elapsed)
    assert len(views) == 6 and sum(len(v.tasks) for v in views) > 0
    return times


async def _signed_in(sessions: Sessionmaker, user_id: int) -> str:
    async with transaction(sessions) as session:
        who = await identify(session, TelegramIdentity(user_id), "vi")
        return (await desk.open_session(session, NOW, who, desk.VIA_LINK)).session_id


ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')


async def pages(base: str, cookie: str, paths: list[str]) -> dict[str, tuple[int, int, int]]:
    """Each page's (status, HTML bytes, HTML + its stylesheet and script bytes)."""
    found: dict[str, tuple[int, int, int]] = {}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, cookies={"desk_session": cookie}) as http:
        for path in paths:
            async with http.get(base + path, allow_redirects=False) as response:
                body = await response.read()
                status = response.status
            total = len(body)
            for asset in ASSET.findall(body.decode("utf-8", "replace")):
                async with http.get(base + asset) as response:
                    total += len(await response.read())
            found[path] = (status, len(body), total)
    return found


async def time_page(base: str, cookie: str) -> list[float]:
    times = []
    async with aiohttp.ClientSession(cookies={"desk_session": cookie}) as http:
        for run in range(PAGE_RUNS + 1):
            began = time.perf_counter()
            async with http.get(base + "/") as response:
                await response.read()
                assert response.status == 200, response.status
            if run:
                times.append(time.perf_counter() - began)
    return times


async def run(url: str) -> bool:
    from web.app import build_desk

    i18n.load_catalogs()
    port = _free_port()
    settings = load_settings(
        env_file=None,
        telegram_bot_token="1:bench",
        database_url=url,
        web_url=f"http://{HOST}:{port}",
        web_port=port,
    )
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    deps = Deps(settings, FrozenClock(NOW), timing_from(settings), run_jobs=False)
    deps.engine, deps.sessionmaker = engine, sessions
    world = await build(sessions, random.Random(13))
    print(
        f"data: {world.councils} councils, {world.agencies} agencies, {world.members} members, "
        f"{world.tasks} tasks ({world.open_tasks} open), {world.reports} reports, "
        f"{world.meetings} meetings; written in {world.seconds:.1f} s"
    )
    checks: list[tuple[bool, str]] = []
    build_times = await time_build(sessions, deps)
    p95 = percentile(build_times, 0.95)
    print(
        f"1. overview built (council_overviews), {RUNS} runs: "
        f"p50 {percentile(build_times, 0.5) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {max(build_times) * 1000:.1f} ms"
    )
    checks.append((p95 < BUILD_LIMIT, f"overview p95 under {BUILD_LIMIT * 1000:.0f} ms"))
    runner = web.AppRunner(build_desk(deps), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    try:
        base = f"http://{HOST}:{port}"
        admin = await _signed_in(sessions, ADMIN_ID)
        page_times = await time_page(base, admin)
        page_p95 = percentile(page_times, 0.95)
        print(
            f"2. GET / over HTTP (session, middlewares, template), {PAGE_RUNS} runs: "
            f"p50 {percentile(page_times, 0.5) * 1000:.1f} ms, p95 {page_p95 * 1000:.1f} ms, "
            f"max {max(page_times) * 1000:.1f} ms"
        )
        checks.append(
            (page_p95 < BUILD_LIMIT, f"the overview page p95 under {BUILD_LIMIT * 1000:.0f} ms")
        )
        admin_pages = [
            "/", "/tasks", "/tasks/1", "/tasks/new", "/meetings", "/meetings/1",
            "/meetings/new", "/members", "/members/1", "/members/import", "/announcements",
            "/announcements/new", "/audit",
        ]  # fmt: skip
        weights = await pages(base, admin, admin_pages)
        member = await _signed_in(sessions, world.member_user_id)
        weights |= {
            f"{path} (member)": w for path, w in (await pages(base, member, ["/my"])).items()
        }
        print("3. pages, bytes uncompressed (HTML / with the stylesheet and script):")
        for path, (status, html, total) in weights.items():
            print(f"   {path:<22} {status}  {html:>8,} / {total:>8,}")
        statuses_ok = all(status == 200 for status, _h, _t in weights.values())
        heaviest = max(total for _s, _h, total in weights.values())
        checks.append((statuses_ok, "every page answered 200"))
        checks.append((heaviest < PAGE_LIMIT, f"the heaviest page ({heaviest:,} B) under 200 KB"))
    finally:
        await runner.cleanup()
        await engine.dispose()
    for passed, claim in checks:
        print(verdict(passed, claim))
    return all(passed for passed, _claim in checks)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def main() -> int:
    arguments = parser(__doc__.splitlines()[0]).parse_args()
    with bench_database(arguments.database_url) as url:
        header("desk: overview and pages", url)
        ok = asyncio.run(run(url))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
