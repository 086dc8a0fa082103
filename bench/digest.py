"""Benchmark: the weekly digest of a large council, its text and its chart.

Claim: "A council with 40 agencies, 2,000 tasks and 50,000 reports: building its digest
takes under 200 ms on SQLite and on PostgreSQL (print both), the chart under 1 s."

The data is written directly in the database with bulk inserts (the subject is the
digest, not the set-up): the reference councils and agencies, 40 agencies in the DBSH
council with 3 members each (most registered with a Telegram user, a few unregistered or
unreachable in private), 2,000 tasks due from 300 days before to 120 days after the digest
moment (most of the old ones done, a few cancelled, so there are overdue, due-soon and
later open tasks), 2 or 3 agencies per task, 50,000 status reports in time order over each
task's life (a `done` report closing each finished agency part, some with notes), weekly
digests recorded for the past 40 weeks, and 8 meetings with answers.

"Building" = `digest.collect` + `digest.render` (as `bot.outbox.render.build_digest`
does after `digest.open_period`, which is timed separately), each run in its own session
whose transaction is rolled back; the chart = `bot.chart.reporting_chart` on
`data.chart`. Runs: one warm-up, then RUNS timed; p50/max printed, with the size of the
text and the number of Telegram messages `bot.text.split_message` makes of it.

Run: `.venv/bin/python -m bench.digest [--database-url URL]`.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.common import bench_database, header, parser, percentile, verdict
from bot import i18n
from bot.app import timing_from
from bot.chart import reporting_chart
from bot.config import load_settings
from bot.db import Sessionmaker, make_engine, make_sessionmaker, transaction
from bot.heap import settle
from bot.i18n import use_locale
from bot.models import (
    Agency,
    Council,
    CouncilMembership,
    Digest,
    Meeting,
    MeetingResponse,
    Member,
    ReportStatus,
    RsvpAnswer,
    StatusReport,
    Task,
    TaskAgency,
    TelegramUser,
)
from bot.schedule import Timing
from bot.services import digest
from bot.services.people import name_key
from bot.services.reference import seed_reference_data
from bot.text import split_message, visible_length

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
COUNCIL = "DBSH"
AGENCIES = 40
MEMBERS_PER_AGENCY = 3
TASKS = 2_000
REPORTS = 50_000
MEETINGS = 8
WEEKS_OF_DIGESTS = 40
RUNS = 20
UNFROZEN_RUNS = 20
BUILD_LIMIT = 0.200  # seconds
CHART_LIMIT = 1.0
LOCALE = "vi"
# The digest moment: the default schedule (Monday 08:30 in Hanoi).
NOW = datetime(2026, 11, 30, 8, 30, tzinfo=HANOI).astimezone(UTC)
TODAY = NOW.astimezone(HANOI).date()
EARLIEST_DUE, LATEST_DUE = -300, 120  # days from TODAY

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
GIVEN = ["Văn An", "Thị Bình", "Quốc Cường", "Thu Dung", "Minh Đức", "Ngọc Hà", "Hữu Khánh"]
SUBJECTS = [
    "Báo cáo tình hình thực hiện quy hoạch vùng",
    "Rà soát danh mục dự án liên vùng",
    "Kế hoạch phòng chống thiên tai",
    "Đề án phát triển hạ tầng giao thông",
    "Báo cáo giải ngân vốn đầu tư công",
    "Góp ý dự thảo nghị quyết",
    "Tổng hợp kiến nghị của địa phương",
]
NOTES = [
    "Đã gửi văn bản, chờ ý kiến của Bộ.",
    "Chậm do chưa có số liệu của các sở.",
    "Đang trình lãnh đạo ký.",
    "Vướng mặt bằng, đề nghị Hội đồng hỗ trợ.",
    "Hoàn thành dự thảo, đang lấy ý kiến.",
]
# (status, weight) of the reports that do not close a part.
STATUSES = [(ReportStatus.ON_TRACK, 70), (ReportStatus.AT_RISK, 20), (ReportStatus.BLOCKED, 10)]


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock_time(hour, minute), tzinfo=HANOI).astimezone(UTC)


@dataclass
class Part:
    task_id: int
    agency_id: int
    start: datetime  # the task's creation
    end: datetime  # when the part was done, else NOW
    done: bool


@dataclass
class Built:
    council: Council
    agencies: int
    members: int
    registered: int
    unreachable: int
    tasks: int
    open_tasks: int
    cancelled: int
    reports: int
    notes: int
    meetings: int
    responses: int
    seconds: float


async def build(sessions: Sessionmaker, rng: random.Random) -> Built:
    began = time.perf_counter()
    async with transaction(sessions) as session:
        await seed_reference_data(session, NOW, "bench")
    async with transaction(sessions) as session:
        council = await session.scalar(select(Council).where(Council.code == COUNCIL))
        assert council is not None
        agencies = list((await session.scalars(select(Agency).order_by(Agency.id))).all())
        agencies = agencies[:AGENCIES]
        members, registered, unreachable = await _members(session, council, agencies)
        parts, tasks, open_tasks, cancelled = await _tasks(session, council, agencies, rng)
        reports, notes = await _reports(session, parts, members, rng)
        meetings, responses = await _meetings(session, council, members, rng)
        for week in range(1, WEEKS_OF_DIGESTS + 1):
            moment = NOW - timedelta(weeks=week)
            session.add(
                Digest(
                    council_id=council.id,
                    period=moment.astimezone(HANOI).date().isoformat(),
                    created_at=moment,
                )
            )
    return Built(
        council=council,
        agencies=len(agencies),
        members=sum(len(m) for m in members.values()),
        registered=registered,
        unreachable=unreachable,
        tasks=tasks,
        open_tasks=open_tasks,
        cancelled=cancelled,
        reports=reports,
        notes=notes,
        meetings=meetings,
        responses=responses,
        seconds=time.perf_counter() - began,
    )


async def _members(
    session: AsyncSession, council: Council, agencies: list[Agency]
) -> tuple[dict[int, list[int]], int, int]:
    """3 members per agency; every 20th not registered, every 30th unreachable in private."""
    users: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    number = 0
    for agency in agencies:
        for _ in range(MEMBERS_PER_AGENCY):
            number += 1
            family, given = FAMILY[number % len(FAMILY)], GIVEN[number % len(GIVEN)]
            full_name = f"{family} {given} {agency.code}{number:03d}"
            user_id = None
            if number % 20 != 19:
                user_id = 800_000_000 + number
                users.append(
                    {
                        "id": user_id,
                        "first_name": given.split()[-1],
                        "last_name": family,
                        "telegram_language": "vi",
                        "private_chat_ok": number % 30 != 7,
                        "first_seen_at": NOW - timedelta(days=300),
                        "last_seen_at": NOW - timedelta(days=1),
                    }
                )
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
    await session.execute(insert(TelegramUser), users)
    ids = list(
        (
            await session.scalars(
                insert(Member).returning(Member.id, sort_by_parameter_order=True), rows
            )
        ).all()
    )
    await session.execute(
        insert(CouncilMembership), [{"council_id": council.id, "member_id": i} for i in ids]
    )
    by_agency: dict[int, list[int]] = {}
    for member_id, row in zip(ids, rows, strict=True):
        by_agency.setdefault(row["agency_id"], []).append(member_id)
    unreachable = sum(1 for u in users if not u["private_chat_ok"])
    return by_agency, len(users), unreachable


async def _tasks(
    session: AsyncSession,
    council: Council,
    agencies: list[Agency],
    rng: random.Random,
    count: int = TASKS,
) -> tuple[list[Part], int, int, int]:
    """2,000 tasks (`count`) due around TODAY; old ones mostly done, 2 % cancelled."""
    plans: list[tuple[dict[str, Any], list[int], list[datetime | None]]] = []
    for number in range(count):
        offset = rng.randint(EARLIEST_DUE, LATEST_DUE)
        due_on = TODAY + timedelta(days=offset)
        created = _local(due_on - timedelta(days=rng.randint(30, 120)), 9, rng.randint(0, 59))
        created = min(created, NOW - timedelta(days=rng.randint(1, 10)))  # not in the future
        chosen = rng.sample([a.id for a in agencies], rng.choices([2, 3], [60, 40])[0])
        # Share of agency parts done, by how far the deadline is behind.
        share = 0.95 if offset < -30 else 0.6 if offset < 0 else 0.1
        done_at: list[datetime | None] = []
        for _ in chosen:
            finished = _local(due_on + timedelta(days=rng.randint(-20, 10)), 15)
            finished = min(max(finished, created + timedelta(hours=2)), NOW - timedelta(hours=1))
            done_at.append(finished if rng.random() < share else None)
        cancelled_at = NOW - timedelta(days=5) if rng.random() < 0.02 else None
        closed = [d for d in done_at if d is not None]
        task_done = max(closed) if len(closed) == len(done_at) else None
        row: dict[str, Any] = {
            "council_id": council.id,
            "title": f"{rng.choice(SUBJECTS)} (số {number + 1})",
            "due_on": due_on,
            "period": None,
            "ref": f"{rng.randint(100, 9999)}/VPCP-KTTH" if number % 3 == 0 else None,
            "created_at": created,
            "created_by": "bench",
            "cancelled_at": cancelled_at,
            "done_at": task_done,
        }
        plans.append((row, chosen, done_at))
    ids = list(
        (
            await session.scalars(
                insert(Task).returning(Task.id, sort_by_parameter_order=True),
                [row for row, _c, _d in plans],
            )
        ).all()
    )
    assignments: list[dict[str, Any]] = []
    parts: list[Part] = []
    for task_id, (row, chosen, done_at) in zip(ids, plans, strict=True):
        for agency_id, part_done in zip(chosen, done_at, strict=True):
            assignments.append({"task_id": task_id, "agency_id": agency_id, "done_at": part_done})
            end = part_done or min(NOW, row["cancelled_at"] or NOW)
            parts.append(Part(task_id, agency_id, row["created_at"], end, part_done is not None))
    await session.execute(insert(TaskAgency), assignments)
    open_tasks = sum(1 for r, _c, _d in plans if r["done_at"] is None and r["cancelled_at"] is None)
    cancelled = sum(1 for r, _c, _d in plans if r["cancelled_at"] is not None)
    return parts, len(ids), open_tasks, cancelled


async def _reports(
    session: AsyncSession,
    parts: list[Part],
    members: dict[int, list[int]],
    rng: random.Random,
    count: int = REPORTS,
) -> tuple[int, int]:
    """50,000 reports in time order: one `done` per finished part, the rest at moments
    spread uniformly from the first task's creation to NOW, each on a part open then."""
    rows: list[dict[str, Any]] = []
    for part in parts:
        if part.done:
            rows.append(_report(part, ReportStatus.DONE, part.end, members, rng))
    parts = sorted(parts, key=lambda p: p.start)
    starts = [p.start for p in parts]
    first = starts[0].timestamp()
    statuses, weights = zip(*STATUSES, strict=True)
    while len(rows) < count:
        # A moment uniformly in time, then one of the parts open at that moment.
        at = datetime.fromtimestamp(rng.uniform(first, NOW.timestamp()), UTC)
        part = parts[rng.randrange(bisect.bisect_right(starts, at))]
        if at >= part.end - timedelta(minutes=1):
            continue  # that part was done (or cancelled) before: draw again
        rows.append(_report(part, rng.choices(statuses, weights)[0], at, members, rng))
    rows.sort(key=lambda r: r["created_at"])  # ids in time order, as the bot writes them
    for start in range(0, len(rows), 10_000):
        await session.execute(insert(StatusReport), rows[start : start + 10_000])
    return len(rows), sum(1 for r in rows if r["note"])


def _report(
    part: Part,
    status: ReportStatus,
    at: datetime,
    members: dict[int, list[int]],
    rng: random.Random,
) -> dict[str, Any]:
    return {
        "task_id": part.task_id,
        "agency_id": part.agency_id,
        "member_id": rng.choice(members[part.agency_id]),
        "status": status,
        "note": rng.choice(NOTES) if rng.random() < 0.15 else None,
        "created_at": at,
    }


async def _meetings(
    session: AsyncSession, council: Council, members: dict[int, list[int]], rng: random.Random
) -> tuple[int, int]:
    """8 meetings, from 6 weeks before to 7 weeks after NOW; 60 % of members answered."""
    everyone = [m for ids in members.values() for m in ids]
    rows = [
        {
            "council_id": council.id,
            "title": f"Phiên họp thường kỳ số {number + 1}",
            "place": "Văn phòng Chính phủ",
            "starts_at": _local(TODAY + timedelta(days=7 * number - 40), 9),
            "revision": 1,
            "planned_at": NOW - timedelta(days=60),
            "created_at": NOW - timedelta(days=60),
            "created_by": "bench",
        }
        for number in range(MEETINGS)
    ]
    ids = list(
        (
            await session.scalars(
                insert(Meeting).returning(Meeting.id, sort_by_parameter_order=True), rows
            )
        ).all()
    )
    answers = list(RsvpAnswer)
    responses = [
        {
            "meeting_id": meeting_id,
            "member_id": member_id,
            "answer": rng.choices(answers, [70, 20, 10])[0],
            "answered_at": NOW - timedelta(days=rng.randint(1, 20)),
        }
        for meeting_id in ids
        for member_id in everyone
        if rng.random() < 0.6
    ]
    await session.execute(insert(MeetingResponse), responses)
    return len(ids), len(responses)


class Probe:
    """While on: seconds spent in SQL statements (driver execute, rows fetched) and in
    Python garbage collections, to tell where a slow `collect` spent its time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.sql = 0.0
        self.statements = 0
        self.gc = 0.0
        self.gc_full = 0
        self.gc_full_seconds = 0.0
        self._sql_started = 0.0
        self._gc_started = 0.0

    def __enter__(self) -> Probe:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        gc.callbacks.append(self._collection)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)
        gc.callbacks.remove(self._collection)

    def _before(self, *_args: object) -> None:
        self._sql_started = time.perf_counter()

    def _after(self, *_args: object) -> None:
        self.sql += time.perf_counter() - self._sql_started
        self.statements += 1

    def _collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        pause = time.perf_counter() - self._gc_started
        self.gc += pause
        if info["generation"] == 2:
            self.gc_full += 1
            self.gc_full_seconds += pause


@dataclass
class Run:
    open_period: float
    collect: float
    render: float
    collect_sql: float
    statements: int
    gc: float  # collections during collect + render
    gc_full: int
    gc_full_seconds: float
    data: digest.DigestData
    text: str

    @property
    def building(self) -> float:
        return self.collect + self.render


async def one_run(
    engine: AsyncEngine, sessions: Sessionmaker, council_id: int, timing: Timing, number: int
) -> tuple[Run, int]:
    """open_period, collect and render in one transaction, rolled back afterwards.

    Returns the run and how many digest rows outlived the rollback (see `leaked`).
    """
    period = f"bench:{number}"
    async with sessions() as session, session.begin() as outer:
        council = await session.get(Council, council_id)
        assert council is not None
        started = time.perf_counter()
        _new, previous = await digest.open_period(session, council, period, NOW)
        opened = time.perf_counter()
        with Probe(engine) as probe:
            data = await digest.collect(session, council, NOW, timing, previous)
            collected = time.perf_counter()
            sql, statements = probe.sql, probe.statements
            with use_locale(LOCALE):
                text = digest.render(data, timing, NOW, LOCALE)
            rendered = time.perf_counter()
        await outer.rollback()
    run = Run(
        open_period=opened - started,
        collect=collected - opened,
        render=rendered - collected,
        collect_sql=sql,
        statements=statements,
        gc=probe.gc,
        gc_full=probe.gc_full,
        gc_full_seconds=probe.gc_full_seconds,
        data=data,
        text=text,
    )
    return run, await leaked(sessions, period)


async def leaked(sessions: Sessionmaker, period: str) -> int:
    """Digest rows of `period` still there after the run's transaction was rolled back.

    On SQLite the SAVEPOINT of `digest.open_period` commits on its own (the pysqlite
    driver has not begun a transaction after SELECTs only, so RELEASE ends the
    outermost one). They are deleted here so every run sees the same digests.
    """
    async with transaction(sessions) as session:
        result = await session.execute(delete(Digest).where(Digest.period == period))
    return int(getattr(result, "rowcount", 0) or 0)


def chart_of(data: digest.DigestData, council: Council) -> tuple[float, bytes | None]:
    with use_locale(LOCALE):
        started = time.perf_counter()
        picture = reporting_chart(data.chart, council.name(LOCALE))
        return time.perf_counter() - started, picture


def _ms(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms "
        f"(n={len(values)})"
    )


async def bench(url: str) -> int:
    header("digest: a council with 40 agencies, 2,000 tasks and 50,000 reports", url)
    print(f"   load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    i18n.load_catalogs()
    settings = load_settings(
        env_file=None, telegram_bot_token="123456:TEST-token", database_url=url
    )
    timing = timing_from(settings)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        built = await build(sessions, random.Random(2026))
        if url.startswith("postgres"):
            async with engine.connect() as connection:  # as autovacuum would after a load
                await connection.exec_driver_sql("ANALYZE")
        async with sessions() as session:
            since_week = await session.scalar(
                select(func.count())
                .select_from(StatusReport)
                .where(StatusReport.created_at > NOW - timedelta(weeks=1))
            )
        b = built
        print(
            f"data ({b.seconds:.1f} s to insert): council {COUNCIL}, {b.agencies} agencies, "
            f"{b.members} members ({b.registered} registered, {b.unreachable} of them "
            f"unreachable in private), {b.tasks} tasks ({b.open_tasks} open, {b.cancelled} "
            f"cancelled), {b.reports} reports ({b.notes} with a note, {since_week} in the week "
            f"before the digest), {WEEKS_OF_DIGESTS} earlier digests, {b.meetings} meetings "
            f"with {b.responses} answers"
        )
        print(f"digest moment: {NOW.astimezone(HANOI):%Y-%m-%d %H:%M} Hanoi ({LOCALE})")
        runs: list[Run] = []
        charts: list[float] = []
        picture: bytes | None = None
        leaks = 0
        # As `dieuphoi run` does once the application is built (bot/heap.py): the set-up's
        # garbage is freed and what lives on is kept out of the collector's walks.
        settle()
        for number in range(RUNS + 1):
            run, leak = await one_run(engine, sessions, built.council.id, timing, number)
            leaks += leak
            seconds, picture = chart_of(run.data, built.council)
            if runs:  # keep only the last run's objects, as the bot keeps none
                runs[-1].data, runs[-1].text = digest.DigestData(built.council), ""
            if number == 0:
                print(
                    f"warm-up: open_period {run.open_period * 1000:.1f} ms, collect "
                    f"{run.collect * 1000:.1f} ms, render {run.render * 1000:.1f} ms, chart "
                    f"{seconds * 1000:.1f} ms"
                )
                continue
            runs.append(run)
            charts.append(seconds)
        # Extra: the same with the whole heap back in the collector's reach, as before the
        # bot froze it at start-up: what the full collections cost.
        gc.unfreeze()
        unfrozen: list[Run] = []
        unfrozen_charts: list[float] = []
        for number in range(RUNS + 1, RUNS + 1 + UNFROZEN_RUNS):
            run, leak = await one_run(engine, sessions, built.council.id, timing, number)
            leaks += leak
            unfrozen_charts.append(chart_of(run.data, built.council)[0])
            run.data, run.text = digest.DigestData(built.council), ""
            unfrozen.append(run)
    finally:
        await engine.dispose()

    last = runs[-1]
    data, text = last.data, last.text
    parts = split_message(text)
    print("\ndigest content:")
    print(
        f"   overdue tasks {len(data.overdue)}, due in 14 days {len(data.due_soon)}, reports "
        f"since the previous digest {len(data.reports)}, silent agencies {len(data.silent)} "
        f"({sum(len(v) for v in data.silent.values())} task entries), unreachable members "
        f"{len(data.unreachable)}, unregistered {data.unregistered}, upcoming meetings "
        f"{len(data.meetings)}, chart bars {len(data.chart)}"
    )
    print(
        f"   text: {len(text):,} characters of HTML ({visible_length(text):,} visible, UTF-16), "
        f"{text.count(chr(10)) + 1:,} lines → {len(parts)} Telegram messages "
        f"(split_message, 4,096 each)"
    )
    print(f"   chart: PNG of {len(picture or b''):,} bytes")
    building = [r.building for r in runs]
    print(f"\ntimes over {RUNS} runs:")
    print(f"   open_period          {_ms([r.open_period for r in runs])}")
    print(f"   collect              {_ms([r.collect for r in runs])}")
    print(f"   render               {_ms([r.render for r in runs])}")
    print(f"   building (c. + r.)   {_ms(building)}")
    print(f"   chart                {_ms(charts)}")
    print(
        f"   inside collect: SQL (execute + fetch) p50 "
        f"{percentile([r.collect_sql for r in runs], 0.5) * 1000:.1f} ms in "
        f"{last.statements} statements, the rest (Python) p50 "
        f"{percentile([r.collect - r.collect_sql for r in runs], 0.5) * 1000:.1f} ms"
    )
    gc_runs = [r for r in runs if r.gc_full]
    print(
        f"   garbage collection during collect + render: p50 "
        f"{percentile([r.gc for r in runs], 0.5) * 1000:.1f} ms, max "
        f"{max(r.gc for r in runs) * 1000:.1f} ms, of which full (gen 2) collections "
        f"{sum(r.gc_full_seconds for r in runs) / len(runs) * 1000:.1f} ms per run on average "
        f"({sum(r.gc_full for r in runs)} in {len(gc_runs)} runs); objects tracked after the "
        f"runs: {len(gc.get_objects()):,}"
    )
    slowest = max(runs, key=lambda r: r.building)
    print(
        f"   slowest run: building {slowest.building * 1000:.1f} ms = SQL "
        f"{slowest.collect_sql * 1000:.1f} + GC {slowest.gc * 1000:.1f} + other "
        f"{(slowest.building - slowest.collect_sql - slowest.gc) * 1000:.1f} ms"
    )
    print(
        f"   extra, heap not frozen (gc.unfreeze()): building "
        f"{_ms([r.building for r in unfrozen])}; GC p50 "
        f"{percentile([r.gc for r in unfrozen], 0.5) * 1000:.1f} ms, full collections "
        f"{sum(r.gc_full for r in unfrozen)}; chart {_ms(unfrozen_charts)}"
    )
    print(
        f"   digest rows left behind by the rolled-back runs: {leaks} of "
        f"{RUNS + 1 + UNFROZEN_RUNS}"
        + ("  (open_period's SAVEPOINT commits on its own on SQLite)" if leaks else "")
    )
    worst = max(building)
    print("\n-- verdicts")
    print(
        "  ",
        verdict(
            worst < BUILD_LIMIT,
            f"building under 200 ms: p50 {percentile(building, 0.5) * 1000:.1f} ms, "
            f"max {worst * 1000:.1f} ms",
        ),
    )
    print(
        "  ",
        verdict(
            max(charts) < CHART_LIMIT,
            f"chart under 1 s: p50 {percentile(charts, 0.5) * 1000:.1f} ms, "
            f"max {max(charts) * 1000:.1f} ms",
        ),
    )
    return 0


async def _no_completion(*_args: Any, **_kwargs: Any) -> list[Any]:
    return []


def main() -> int:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument(
        "--without-completion",
        action="store_true",
        help="leave out the completion counts (to measure what they cost)",
    )
    args = arguments.parse_args()
    if args.without_completion:
        digest._completion = _no_completion  # type: ignore[assignment]
    with bench_database(args.database_url) as url:
        return asyncio.run(bench(url))


if __name__ == "__main__":
    raise SystemExit(main())
