"""Benchmark: one dispatch pass over 100,000 pending outbox rows, and the bot's footprint.

Claim: "100,000 pending outbox rows across 6 councils: one dispatch pass picks the due
ones with an indexed query in under 50 ms (SQLite and PostgreSQL), the bot's resident
memory stays under 200 MB, and start-up to first poll is under 3 s."

Measured:
1. `store.claim_due(session, now, "bench", limit=200)` with 200 rows due among 100,000
   pending ones, each claim in its own transaction that is rolled back (so every run
   claims the same rows): p50/p95/max over 50 runs after one warm-up, and the query
   plan of the claim showing whether `ix_outbox_due` is used.
2. The real `dieuphoi run` process on that database against the fake Bot API served
   from this process: wall time from spawn to its first getUpdates request, and its
   VmRSS (and peak VmHWM) after ~10 s of running while it sends the due rows.

Run: `.venv/bin/python -m bench.outbox_dispatch [--database-url URL]`.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import math
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import bench_database, header, parser, percentile, registered_person, verdict
from bot.db import Sessionmaker, make_engine, make_sessionmaker, transaction
from bot.models import (
    Agency,
    Council,
    GroupChat,
    Meeting,
    Member,
    Outbox,
    OutboxState,
    Task,
    TaskAgency,
)
from bot.outbox import store
from bot.outbox.plan import PRIORITY_MEETING, PRIORITY_TASK, meeting_subject, task_subject
from bot.schedule import offset_label
from bot.services.reference import seed_reference_data
from tests.cli import cli_env
from tests.fakebotapi import FakeBotApi, FakeUser

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
TOTAL_ROWS = 100_000
DUE_NOW = 200
CLAIM_LIMIT = 200
CLAIMS = 50
MEMBERS_PER_COUNCIL = 50
MEETINGS_PER_COUNCIL = 12
TASKS_PER_COUNCIL = 20
QUARTER = timedelta(days=91)
RUN_SECONDS = 10.0
DIEUPHOI = Path(sys.executable).parent / "dieuphoi"

# Each council: a few ministries plus the provinces of its region.
MINISTRIES = ["BTC", "BXD", "BCT", "BNNMT", "BKHCN", "BNV", "BYT", "VPCP"]
PROVINCES = {
    "TDMNPB": ["CB", "DB", "LCH", "SL", "LS", "TQ", "LCA", "TNG", "PT"],
    "DBSH": ["HN", "HP", "QNI", "BN", "HY", "NB"],
    "BTBDHMT": ["TH", "NA", "HT", "QT", "HUE", "DN", "QNG", "GL", "KH"],
    "TN": ["DLK", "LD"],
    "DNB": ["HCM", "DNA", "TNI"],
    "DBSCL": ["CT", "VL", "DT", "AG", "CM"],
}
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
GIVEN = ["Văn An", "Thị Bình", "Quốc Cường", "Thu Dung", "Minh Đức", "Ngọc Hà", "Hữu Khánh"]
# Share of each kind of row (the due-now ones have no nudges: every task is still ahead).
KINDS = [("meeting_member", 0.30), ("meeting_group", 0.05), ("task_reminder", 0.55)]
KINDS += [("task_nudge", 0.10)]


@dataclass
class World:
    """What the rows point at: registered members, linked groups, meetings, tasks."""

    members: dict[int, list[int]] = field(default_factory=dict)  # council id -> member ids
    by_agency: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    groups: dict[int, int] = field(default_factory=dict)  # council id -> group row id
    meetings: list[Meeting] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    users: list[FakeUser] = field(default_factory=list)


def _local(day: date, at: clock_time) -> datetime:
    return datetime.combine(day, at, tzinfo=HANOI).astimezone(UTC)


async def build_world(session: Any, api: FakeBotApi, now: datetime, rng: random.Random) -> World:
    """Seed, then 300 registered members, 6 linked groups, 72 meetings and 120 tasks."""
    await seed_reference_data(session, now, "bench")
    councils = {c.code: c for c in (await session.scalars(select(Council))).all()}
    agencies = {a.code: a for a in (await session.scalars(select(Agency))).all()}
    world = World()
    today = now.astimezone(HANOI).date()
    for index, (code, provinces) in enumerate(PROVINCES.items()):
        council = councils[code]
        codes = MINISTRIES + provinces
        members: list[Member] = []
        for number in range(MEMBERS_PER_COUNCIL):
            family, given = FAMILY[number % len(FAMILY)], GIVEN[number % len(GIVEN)]
            language = "en" if number % 9 == 0 else "vi"
            user, member = registered_person(
                session,
                api,
                family=family,
                given=given,
                language=language,
                full_name=f"{family} {given} {code}{number:02d}",
                agency_id=agencies[codes[number % len(codes)]].id,
                council_ids=[council.id],
                now=now,
            )
            world.users.append(user)
            members.append(member)
        chat = api.add_group(f"HĐĐP {code}")
        group = GroupChat(
            chat_id=chat.id,
            council_id=council.id,
            title=chat.title,
            linked_at=now,
            linked_by=world.users[-1].id,
        )
        session.add(group)
        for number in range(MEETINGS_PER_COUNCIL):
            day = today + timedelta(days=2 + 7 * number + index)
            session.add(
                Meeting(
                    council_id=council.id,
                    title=f"Phiên họp thường kỳ số {number + 1}",
                    place="Văn phòng Chính phủ",
                    starts_at=_local(day, clock_time(9 if number % 2 else 14)),
                    revision=1,
                    planned_at=now,
                    created_at=now,
                    created_by="bench",
                )
            )
        for number in range(TASKS_PER_COUNCIL):
            chosen = rng.sample(codes, rng.randint(1, 3))
            session.add(
                Task(
                    council_id=council.id,
                    title=f"Báo cáo chuyên đề số {number + 1}",
                    due_on=today + timedelta(days=3 + number * 91 // TASKS_PER_COUNCIL + index),
                    created_at=now,
                    created_by="bench",
                    assignments=[TaskAgency(agency_id=agencies[c].id) for c in chosen],
                )
            )
        await session.flush()
        world.members[council.id] = [m.id for m in members]
        for member in members:
            world.by_agency.setdefault((council.id, member.agency_id), []).append(member.id)
        world.groups[council.id] = group.id
    world.meetings = list(
        (await session.scalars(select(Meeting).order_by(Meeting.starts_at))).all()
    )
    world.tasks = list((await session.scalars(select(Task))).all())
    return world


def make_rows(world: World, now: datetime, rng: random.Random) -> list[store.NewRow]:
    """100,000 rows shaped like the planner's; the first 200 generated are due now.

    Keys follow the planner's (`meeting:5:r1:member:13:<label>`,
    `task:42:agency:7:member:13:<label>`) with minute-precise labels, so 100,000
    distinct reminders fit a few hundred meetings and tasks.
    """
    starts = [m.starts_at for m in world.meetings]
    tasks = sorted(world.tasks, key=lambda t: t.due_on)
    mornings = [_local(t.due_on, clock_time(8)) for t in tasks]
    names, weights = zip(*KINDS, strict=True)
    rows: list[store.NewRow] = []
    keys: set[str] = set()
    while len(rows) < TOTAL_ROWS:
        due_now = len(rows) < DUE_NOW
        if due_now:
            raw = now - timedelta(seconds=rng.uniform(0, 120))
        else:
            raw = now + timedelta(seconds=rng.uniform(60, QUARTER.total_seconds()))
        kind = rng.choices(names, weights)[0]
        row = _row(kind, raw, due_now, world, starts, tasks, mornings, rng)
        if row is None or row.dedupe_key in keys:
            continue
        keys.add(row.dedupe_key)
        rows.append(row)
    rng.shuffle(rows)  # due rows scattered through the table, as in real life
    return rows


def _minutes(delta: timedelta, up: bool) -> int:
    minutes = delta.total_seconds() / 60
    return math.ceil(minutes) if up else math.floor(minutes)


def _row(
    kind: str,
    raw: datetime,
    due_now: bool,
    world: World,
    starts: list[datetime],
    tasks: list[Task],
    mornings: list[datetime],
    rng: random.Random,
) -> store.NewRow | None:
    if kind.startswith("meeting"):
        first = bisect.bisect_right(starts, raw + timedelta(minutes=1))
        if first == len(starts):
            return None
        meeting = world.meetings[rng.randrange(first, len(starts))]
        # Before `raw` when due now, after it otherwise: due-ness is exact.
        offset = timedelta(minutes=_minutes(meeting.starts_at - raw, up=due_now))
        due = meeting.starts_at - offset
        label = offset_label(offset)
        if kind == "meeting_group":
            recipient = {"group_id": world.groups[meeting.council_id]}
            key = f"meeting:{meeting.id}:r1:group:{recipient['group_id']}:{label}"
        else:
            recipient = {"member_id": rng.choice(world.members[meeting.council_id])}
            key = f"meeting:{meeting.id}:r1:member:{recipient['member_id']}:{label}"
        return store.NewRow(
            dedupe_key=key,
            kind="meeting_reminder",
            subject=meeting_subject(meeting.id),
            due_at=due,
            expires_at=meeting.starts_at,
            payload={"meeting_id": meeting.id, "revision": 1, "label": label},
            priority=PRIORITY_MEETING,
            **recipient,  # type: ignore[arg-type]
        )
    split = bisect.bisect_right(mornings, raw)
    if kind == "task_nudge" and not due_now and split > 0:
        index = rng.randrange(0, split)
        minutes = _minutes(raw - mornings[index], up=True)
        due, label = mornings[index] + timedelta(minutes=minutes), f"N+{minutes}m"
        kind_name = "task_nudge"
    elif split < len(tasks):
        index = rng.randrange(split, len(tasks))
        offset = timedelta(minutes=_minutes(mornings[index] - raw, up=due_now))
        due, label = mornings[index] - offset, offset_label(offset)
        kind_name = "task_reminder"
    else:
        return None
    task = tasks[index]
    part = rng.choice(task.assignments)
    member_id = rng.choice(world.by_agency[(task.council_id, part.agency_id)])
    return store.NewRow(
        dedupe_key=f"task:{task.id}:agency:{part.agency_id}:member:{member_id}:{label}",
        kind=kind_name,
        subject=task_subject(task.id),
        due_at=due,
        member_id=member_id,
        payload={"task_id": task.id, "agency_id": part.agency_id, "label": label},
        priority=PRIORITY_TASK,
    )


# --- 1. the claim -------------------------------------------------------------------------


async def time_claims(
    sessions: Sessionmaker, now: datetime, runs: int = CLAIMS
) -> tuple[float, list[float], int]:
    """Warm-up time, then `runs` timings (ms) of claim_due, each rolled back."""
    timings: list[float] = []
    claimed = 0
    for _ in range(runs + 1):
        async with sessions() as session:
            started = time.perf_counter()
            rows = await store.claim_due(session, now, "bench", limit=CLAIM_LIMIT)
            timings.append((time.perf_counter() - started) * 1000)
            await session.rollback()
        claimed = len(rows)
    return timings[0], timings[1:], claimed


class FullCollections:
    """Counts Python's full (generation 2) garbage collections and their pauses."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._started) * 1000)


async def _captured(engine: AsyncEngine, run: Callable[[], Awaitable[object]]) -> tuple[str, Any]:
    """The last SQL statement (and its driver parameters) that `run` sent."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        await run()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    return seen[-1]


async def query_plans(
    engine: AsyncEngine, sessions: Sessionmaker, now: datetime
) -> list[tuple[str, str, list[str]]]:
    """EXPLAIN (SQLite: QUERY PLAN; PostgreSQL: ANALYZE) of the claim's SELECT part and
    of the whole claiming UPDATE, as sent by store.claim_due; everything rolled back."""
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    # The SELECT part, exactly as claim_due builds its subquery.
    chosen = (
        select(Outbox.id)
        .where(store._claimable(now, store.LEASE))
        .order_by(Outbox.priority, Outbox.due_at, Outbox.id)
        .limit(CLAIM_LIMIT)
        .with_for_update(skip_locked=True)
    )
    plans = []
    async with sessions() as session:
        statements = [
            ("SELECT part", await _captured(engine, lambda: session.execute(chosen))),
            (
                "whole claim (UPDATE … RETURNING)",
                await _captured(
                    engine, lambda: store.claim_due(session, now, "bench", CLAIM_LIMIT)
                ),
            ),
        ]
        await session.rollback()
    for title, (sql, parameters) in statements:
        async with sessions() as session:
            connection = await session.connection()
            result = await connection.exec_driver_sql(prefix + sql, parameters)
            lines = [_plan_line(row) for row in result.all()]
            await session.rollback()
        plans.append((title, " ".join(sql.split()), lines))
    return plans


def _plan_line(row: Any) -> str:
    if len(row) == 1:  # PostgreSQL: one text column
        return str(row[0])
    _id, parent, _unused, detail = row  # SQLite: id, parent, notused, detail
    return f"{'  ' if parent else ''}{detail}"


# --- 2. the process -----------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


@dataclass
class ProcessReport:
    startup: float
    status: dict[str, int]
    samples: list[int]
    sent: Counter[str]
    exit_code: int | None
    log_tail: list[str]


async def run_bot_process(api: FakeBotApi, url: str) -> ProcessReport:
    """Spawn `dieuphoi run`; time its first getUpdates; read its memory at RUN_SECONDS."""
    loop = asyncio.get_running_loop()
    first_poll: asyncio.Future[float] = loop.create_future()
    original = api._get_updates

    async def spy(call: Any) -> list[dict[str, Any]]:
        # A long poll is recorded by the fake only when it returns: note its arrival.
        if not first_poll.done():
            first_poll.set_result(time.perf_counter())
        return await original(call)

    api._get_updates = spy  # type: ignore[method-assign]
    before = len(api.sent)
    samples: list[int] = []
    with tempfile.TemporaryDirectory(prefix="dieuphoi-run-") as folder:  # no .env there
        workdir = Path(folder)
        env = cli_env(
            workdir,
            DATABASE_URL=url,
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_BASE_URL=api.base_url,
            LOG_LEVEL="INFO",
        )
        log_path = workdir / "bot.log"
        with log_path.open("wb") as log:
            spawned = time.perf_counter()
            process = await asyncio.create_subprocess_exec(
                str(DIEUPHOI), "run", cwd=workdir, env=env, stdout=log, stderr=log
            )
            try:
                startup = await asyncio.wait_for(first_poll, 60) - spawned
                while time.perf_counter() - spawned < RUN_SECONDS:
                    samples.append(proc_status(process.pid)["VmRSS"])
                    await asyncio.sleep(0.5)
                status = proc_status(process.pid)
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                try:
                    exit_code: int | None = await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    exit_code = None
        tail = log_path.read_text(errors="replace").splitlines()[-5:]
    sent = Counter(
        "group" if message["chat"]["id"] < 0 else "private" for message in api.sent[before:]
    )
    return ProcessReport(startup, status, samples, sent, exit_code, tail)


async def outcome_of_due(sessions: Sessionmaker, now: datetime) -> dict[str, int]:
    """What became of the rows that were due when the process started."""
    async with sessions() as session:
        rows = await session.execute(
            select(Outbox.kind, Outbox.state, func.count())
            .where(Outbox.created_at <= now, Outbox.state != OutboxState.PENDING)
            .group_by(Outbox.kind, Outbox.state)
        )
        counts: dict[str, int] = defaultdict(int)
        for kind, state, number in rows:
            counts[f"{kind} {state}"] += number
        postponed = await session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(
                Outbox.state == OutboxState.PENDING,
                Outbox.last_error == "outside working hours",
            )
        )
        counts["task rows postponed to the next working morning"] = postponed or 0
    return dict(counts)


# --- main ---------------------------------------------------------------------------------


async def bench(url: str) -> int:
    header("outbox dispatch: 100,000 pending rows, 6 councils", url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    api = FakeBotApi()
    rng = random.Random(20261123)
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    async with transaction(sessions) as session:
        world = await build_world(session, api, now, rng)
    rows = make_rows(world, now, rng)
    async with transaction(sessions) as session:
        inserted = await store.add_rows(session, rows, now)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:  # what autovacuum does within a minute
            await connection.execute(text("ANALYZE outbox"))
            await connection.commit()
    async with sessions() as session:
        pending = await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.state == OutboxState.PENDING)
        )
        due = await session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(Outbox.state == OutboxState.PENDING, Outbox.due_at <= now)
        )
    kinds = Counter(row.kind for row in rows)
    # The bot's heap holds no 100,000 generated rows: drop them so that the garbage
    # collector's full passes over them are not timed as part of a claim.
    del rows
    gc.collect()
    print(
        f"setup: {len(world.meetings)} meetings, {len(world.tasks)} tasks, "
        f"{sum(map(len, world.members.values()))} registered members, {len(world.groups)} "
        f"linked groups; {inserted} rows inserted in {time.perf_counter() - started:.1f} s"
    )
    print(f"       kinds: {dict(kinds)}")
    print(f"       pending: {pending}, due now: {due}")

    print(f"\n-- 1. claim_due(limit={CLAIM_LIMIT}), {CLAIMS} runs, each rolled back")
    with FullCollections() as collections:
        warm, timings, claimed = await time_claims(sessions, now)
    p50, p95, worst = percentile(timings, 0.5), percentile(timings, 0.95), max(timings)
    print(f"   rows claimed per run: {claimed}")
    print(f"   warm-up: {warm:.1f} ms")
    print(
        f"   p50 {p50:.1f} ms   p95 {p95:.1f} ms   max {worst:.1f} ms   "
        f"mean {statistics.fmean(timings):.1f} ms"
    )
    pauses = ", ".join(f"{pause:.0f} ms" for pause in collections.pauses) or "none"
    print(f"   full (gen-2) Python GC passes during the runs: {pauses}")
    indexed = True
    for title, sql, lines in await query_plans(engine, sessions, now):
        print(f"\n   plan of the {title}:\n   SQL: {sql[:160]}…")
        for line in lines:
            print(f"     {line}")
        indexed = indexed and any("ix_outbox_due" in line for line in lines)
    print(f"   ix_outbox_due used: {'yes' if indexed else 'NO'}")
    later = now + QUARTER + timedelta(days=1)
    _warm, backlog, claimed = await time_claims(sessions, later, runs=10)
    print(
        f"\n   beyond the claim, a backlog (clock a quarter ahead: all {pending} rows due), "
        f"10 runs: rows claimed {claimed}, p50 {percentile(backlog, 0.5):.1f} ms, "
        f"max {max(backlog):.1f} ms"
    )

    print(f"\n-- 2. `dieuphoi run` against the fake Bot API ({RUN_SECONDS:.0f} s)")
    await api.start()
    try:
        report = await run_bot_process(api, url)
    finally:
        await api.stop()
    rss, peak = report.status["VmRSS"] / 1024, report.status["VmHWM"] / 1024
    print(f"   spawn → first getUpdates: {report.startup * 1000:.0f} ms")
    print(f"   VmRSS at {RUN_SECONDS:.0f} s: {rss:.1f} MB   peak (VmHWM): {peak:.1f} MB")
    print(f"   VmRSS samples (MB): {' '.join(f'{s / 1024:.0f}' for s in report.samples)}")
    print(f"   messages sent: {dict(report.sent)} (total {sum(report.sent.values())})")
    for name, number in sorted((await outcome_of_due(sessions, now)).items()):
        print(f"   outbox: {name}: {number}")
    print(f"   exit code after SIGTERM: {report.exit_code}; fake API 429s: {api.stats['429']}")
    if api.violations:
        print(f"   fake API contract violations: {api.violations[:3]}")
    if report.exit_code != 0:
        print("   last log lines:\n     " + "\n     ".join(report.log_tail))
    await engine.dispose()

    print("\n-- verdicts")
    print("  ", verdict(p95 < 50 and indexed, f"claim p95 {p95:.1f} ms < 50 ms, indexed"))
    print("  ", verdict(peak < 200, f"peak resident memory {peak:.1f} MB < 200 MB"))
    print("  ", verdict(report.startup < 3, f"start-up to first poll {report.startup:.2f} s < 3 s"))
    return 0


def main() -> int:
    args = parser(__doc__.splitlines()[0]).parse_args()
    with bench_database(args.database_url) as url:
        return asyncio.run(bench(url))


if __name__ == "__main__":
    raise SystemExit(main())
