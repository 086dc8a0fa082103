"""Benchmark: a quarter of reminders, on time, with the frozen clock stepped through it.

Claim: "With the frozen clock stepped through a quarter, every reminder goes out within
1 s of its planned moment (p99 lateness printed)."

The real Application runs in this process with its jobs on (the planner job and the
sending loop, which sleeps until the next row is due) against the fake Bot API with its
default flood limits. Six councils get registered members (through /start invite links),
a linked group each (/link) and meetings and tasks in Q1 2027 (/newmeeting, /newtask as
an admin). Then the clock steps from one due moment to the next (and at least every
day of bot time, planning as the planner job would). Lateness of a row is the wall
time from setting the clock to its moment until the row is recorded `sent`, seen by
polling the outbox every 10 ms: in the bot's timeline the moment arrived when the clock
was set.

Also checked: every outbox row sent went out exactly once (fake server messages against
outbox rows), every task reminder and nudge was sent at a working moment, no 429.

Run: `.venv/bin/python -m bench.quarter [--database-url URL]`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bench.common import Problems, bench_database, header, parser, percentile, verdict
from bot import wake
from bot.clock import FrozenClock
from bot.config import Settings, load_settings
from bot.db import Sessionmaker, make_engine, make_sessionmaker, transaction
from bot.models import Outbox, OutboxState
from bot.outbox import store
from bot.outbox.plan import plan_pass
from bot.outbox.render import TASK_KINDS
from bot.services import admins
from bot.services.reference import seed_reference_data
from tests.fakebotapi import FakeBotApi, FakeChat, FakeUser
from tests.harness import BotHarness, BotTime, deps_of_app
from tests.people import registered

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
STEP = timedelta(days=1)  # the planner's horizon: it must see every row coming
POLL = 0.01
ROW_TIMEOUT = 60.0
REMINDERS = {"meeting_reminder", "meeting_change", "task_reminder", "task_nudge"}
REMINDERS |= {"task_escalation"}
DONE = {
    OutboxState.SENT,
    OutboxState.SKIPPED,
    OutboxState.DROPPED,
    OutboxState.FAILED,
    OutboxState.CANCELLED,
}


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=HANOI).astimezone(UTC)


START = local(2026, 12, 14, 9, 0)  # a Monday morning, two weeks before Q1 reminders begin
END = local(2027, 4, 23, 18, 0)  # after the last nudges and escalations of Q1 tasks

# council -> (name, agency, language) of its registered members
MEMBERS = {
    "TDMNPB": [
        ("Nguyễn Văn An", "BTC", "vi"),
        ("Trần Thị Bình", "BXD", "vi"),
        ("Lê Quốc Cường", "LCA", "vi"),
        ("Phạm Thu Dung", "PT", "en"),
    ],
    "DBSH": [
        ("Hoàng Minh Đức", "BTC", "vi"),
        ("Vũ Ngọc Hà", "BTC", "vi"),
        ("Đặng Hữu Khánh", "HN", "en"),
        ("Bùi Thanh Lan", "HP", "vi"),
    ],
    "BTBDHMT": [
        ("Đỗ Đức Minh", "BCT", "vi"),
        ("Hồ Bảo Ngọc", "NA", "vi"),
        ("Nguyễn Thị Oanh", "DN", "vi"),
        ("Trần Văn Phúc", "HUE", "en"),
    ],
    "TN": [
        ("Lê Thị Quyên", "BNNMT", "vi"),
        ("Phạm Văn Sơn", "DLK", "vi"),
        ("Hoàng Thị Tâm", "LD", "vi"),
        ("Vũ Văn Uy", "BTC", "vi"),
    ],
    "DNB": [
        ("Đặng Thị Vân", "BXD", "en"),
        ("Bùi Văn Xuân", "HCM", "vi"),
        ("Đỗ Thị Yến", "DNA", "vi"),
        ("Hồ Văn Bảo", "BCT", "vi"),
    ],
    "DBSCL": [
        ("Nguyễn Văn Châu", "BNNMT", "vi"),
        ("Trần Thị Diệp", "CT", "vi"),
        ("Lê Văn Giang", "AG", "en"),
        ("Phạm Thị Hạnh", "CM", "vi"),
    ],
}
MEETINGS = [
    "/newmeeting TDMNPB 2027-01-21 09:00 | Phiên họp quý I: giao thông liên vùng | Lào Cai",
    "/newmeeting TDMNPB 2027-03-18 14:00 | Sơ kết quy hoạch vùng | Phú Thọ",
    "/newmeeting DBSH 2027-01-14 10:00 | Góp ý quy hoạch vùng | Văn phòng Chính phủ",
    "/newmeeting DBSH 2027-03-04 09:00 | Phiên họp thường kỳ | Hải Phòng",
    "/newmeeting BTBDHMT 2027-02-25 09:00 | Kinh tế biển | Đà Nẵng",
    "/newmeeting BTBDHMT 2027-03-25 14:00 | Phòng chống thiên tai | Huế",
    "/newmeeting TN 2027-01-28 14:00 | Phát triển cà phê bền vững | Buôn Ma Thuột",
    "/newmeeting TN 2027-02-25 09:00 | Cao tốc Tây Nguyên | Đà Lạt",
    "/newmeeting DNB 2027-02-18 09:00 | Vành đai 4 | Thành phố Hồ Chí Minh",
    "/newmeeting DNB 2027-03-11 15:00 | Cảng hàng không Long Thành | Đồng Nai",
    "/newmeeting DBSCL 2027-01-07 09:00 | Sạt lở bờ sông | Cần Thơ",
    "/newmeeting DBSCL 2027-03-31 08:30 | Chuyển đổi cơ cấu cây trồng | An Giang",
]
QUARTERLY = " Q1/2027 | Báo cáo tình hình thực hiện quy hoạch vùng quý I | every=quarter"
TASKS = [
    *(
        f"/newtask {code} {','.join(sorted({a for _n, a, _l in people}))}{QUARTERLY}"
        f" | ref=6411/VPCP-KTTH"
        for code, people in MEMBERS.items()
    ),
    "/newtask DBSH BTC 31/03/2027 | Rà soát danh mục dự án liên vùng",
    "/newtask TDMNPB LCA 2027-01-29 | Báo cáo cửa khẩu",
    "/newtask TN DLK,LD 2027-02-10 | Kế hoạch phòng chống hạn",
    "/newtask DNB HCM 2027-01-15 | Đề án đường sắt đô thị",
    "/newtask DBSCL CT,AG 2027-02-26 | Báo cáo sạt lở",
    "/newtask BTBDHMT DN,HUE 2027-03-15 | Kế hoạch mùa bão",
]


class JobsHarness(BotHarness):
    """BotHarness with the jobs on: the planner job and the sending loop send."""

    def __init__(
        self, api: FakeBotApi, settings: Settings, clock: FrozenClock, sessions: Sessionmaker
    ) -> None:
        super().__init__(api, settings, clock, sessions, run_jobs=True)


@dataclass
class Walk:
    lateness: dict[int, float] = field(default_factory=dict)  # row id -> seconds
    moment_of: dict[int, datetime] = field(default_factory=dict)  # row id -> clock moment
    pickup: list[float] = field(default_factory=list)  # per moment: first row claimed
    other: Counter[str] = field(default_factory=Counter)  # outcomes other than sent
    steps: int = 0
    moments: int = 0
    stuck: list[int] = field(default_factory=list)
    stale: int = 0  # rows already overdue when their step began


async def set_up(bot: JobsHarness) -> FakeUser:
    """Admin, 24 registered members, 6 linked groups, 12 meetings, 12 tasks; by chat."""
    api = bot.api
    admin = api.add_user(first_name="Thư ký", last_name="Ban", language_code="vi")
    async with transaction(bot.sessions) as session:
        await seed_reference_data(session, bot.clock.now(), "bench")
        await admins.add_admin(session, bot.clock.now(), admin.id, "Ban thư ký", "bench")
    await bot.say(admin, "/start")
    for code, people in MEMBERS.items():
        for name, agency, language in people:
            await registered(bot, name, code, agency, language_code=language, language=language)
        group: FakeChat = api.add_group(f"HĐĐP vùng {code}")
        api.add_bot_to_group(group, admin)
        await bot.settle()
        await bot.say(admin, f"/link {code}", chat=group)
    for command in MEETINGS + TASKS:
        answer = await bot.say(admin, command)
        assert "#" in answer["text"], (command, answer["text"])
    await bot.settle()
    return admin


async def walk(bot: JobsHarness) -> Walk:
    """Step the clock through the quarter; time each due row from its moment to `sent`."""
    sessions, clock = bot.sessions, bot.clock
    timing = deps_of_app(bot.app).timing
    result = Walk()
    while clock.now() < END:
        now = clock.now()
        async with sessions() as session:
            due = await store.next_due_at(session)
        target = min([END, now + STEP] + ([due] if due is not None and due > now else []))
        # What the planner job would do at that moment (it also runs every 60 s, real time).
        async with transaction(sessions) as session:
            await plan_pass(session, timing, target)
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(Outbox.id, Outbox.due_at).where(
                        Outbox.state == OutboxState.PENDING, Outbox.due_at <= target
                    )
                )
            ).all()
        result.steps += 1
        result.stale += sum(1 for row in rows if row.due_at < now)
        clock.set(target)
        started = time.perf_counter()
        # On the real clock the sender sleeps until the next row is due and wakes then;
        # on this one the moment comes when the clock is set, and the sender is told so.
        wake.wake([wake.OUTBOX])
        if rows:
            result.moments += 1
            await _watch([r[0] for r in rows], target, started, sessions, result)
    return result


async def _watch(
    ids: list[int], moment: datetime, started: float, sessions: Sessionmaker, result: Walk
) -> None:
    waiting = set(ids)
    picked_up = False
    while waiting and time.perf_counter() - started < ROW_TIMEOUT:
        await asyncio.sleep(POLL)
        async with sessions() as session:
            found = (
                await session.execute(
                    select(Outbox.id, Outbox.state, Outbox.due_at).where(Outbox.id.in_(waiting))
                )
            ).all()
        seen = time.perf_counter() - started
        if not picked_up and any(state != OutboxState.PENDING for _i, state, _d in found):
            picked_up = True
            result.pickup.append(seen)
        for row_id, state, due_at in found:
            if state == OutboxState.SENT:
                result.lateness[row_id] = seen
                result.moment_of[row_id] = moment
            elif state in DONE:
                result.other[str(state)] += 1
            elif state == OutboxState.PENDING and due_at > moment:
                result.other["postponed (put back to wait)"] += 1
            else:
                continue
            waiting.discard(row_id)
    result.stuck += sorted(waiting)


@dataclass
class Checks:
    sent_rows: int
    messages: int
    extra_parts: int  # a digest's chart, a long text's further parts
    orphans: int  # messages that belong to no sent row
    repeats: int  # a row's message delivered again
    rows_without_message: int
    duplicate_keys: int
    task_rows: int
    task_rows_outside_working_time: int
    queued: dict[int, bool]  # row id -> True if another row to its chat went first
    kinds: dict[int, str]
    states: Counter[str]


async def check(bot: JobsHarness, since: int, walked: Walk) -> Checks:
    """Compare the fake server's messages to the outbox; working time of task rows."""
    calendar = deps_of_app(bot.app).timing.calendar
    async with bot.sessions() as session:
        sent = (
            await session.execute(
                select(Outbox.id, Outbox.dedupe_key, Outbox.kind, Outbox.chat_id, Outbox.message_id)
                .add_columns(Outbox.sent_at)
                .where(Outbox.state == OutboxState.SENT)
            )
        ).all()
        states = Counter(str(s) for s in (await session.scalars(select(Outbox.state))).all())
    kinds = {row_id: kind for row_id, _k, kind, *_rest in sent}
    messages = list(bot.api.sent[since:])
    first_of = {(chat, message): row_id for row_id, _k, _kind, chat, message, _s in sent}
    delivered = {(m["chat"]["id"], m["message_id"]) for m in messages}
    # A row records its first message; a digest's chart and a long text's further parts
    # follow it in the same chat. Every other message is given to the row before it.
    by_chat: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for message in messages:
        by_chat[message["chat"]["id"]].append(message)
    extra_parts = orphans = repeats = 0
    for chat, in_chat in by_chat.items():
        current: int | None = None
        first_text: str | None = None
        photos = 0
        for message in sorted(in_chat, key=lambda m: m["message_id"]):
            row_id = first_of.get((chat, message["message_id"]))
            if row_id is not None:
                current, first_text, photos = row_id, message.get("text"), 0
                continue
            if current is None:
                orphans += 1
                continue
            photo = message["_method"] == "sendPhoto"
            again = message.get("text") == first_text or (photo and photos > 0)
            if kinds[current] != "digest" or again:
                repeats += 1
            else:
                photos += photo
                extra_parts += 1
    keys = Counter(key for _i, key, *_rest in sent)
    task_rows = [
        (row_id, sent_at) for row_id, _k, kind, _c, _m, sent_at in sent if kind in TASK_KINDS
    ]
    outside = sum(1 for _i, at in task_rows if calendar.next_working_moment(at) != at)
    # Within one moment, rows to the same chat go one after another (1 s / 3 s apart).
    same_chat: dict[tuple[datetime, int], list[int]] = defaultdict(list)
    for row_id, _k, _kind, chat, _m, _s in sent:
        if row_id in walked.lateness:
            same_chat[(walked.moment_of[row_id], chat)].append(row_id)
    queued = {}
    for rows in same_chat.values():
        rows.sort(key=lambda r: walked.lateness[r])
        queued |= {row_id: index > 0 for index, row_id in enumerate(rows)}
    return Checks(
        sent_rows=len(sent),
        messages=len(messages),
        extra_parts=extra_parts,
        orphans=orphans,
        repeats=repeats,
        rows_without_message=sum(1 for pair in first_of if pair not in delivered),
        duplicate_keys=sum(1 for n in keys.values() if n > 1),
        task_rows=len(task_rows),
        task_rows_outside_working_time=outside,
        queued=queued,
        kinds=kinds,
        states=states,
    )


def _ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    within = sum(1 for value in values if value <= 1.0) / len(values)
    return (
        f"n={len(values)}  p50 {percentile(values, 0.5) * 1000:.0f} ms  "
        f"p99 {percentile(values, 0.99) * 1000:.0f} ms  max {max(values) * 1000:.0f} ms  "
        f"≤1 s: {within:.1%}"
    )


async def bench(url: str) -> int:
    header("quarter: reminders of Q1 2027 with the frozen clock stepped through it", url)
    began = time.perf_counter()
    problems = Problems()
    logging.getLogger().addHandler(problems)
    clock = FrozenClock(START)
    bot_time = BotTime(clock)
    api = FakeBotApi(now=bot_time)  # default RateLimits, counted in bot time
    await api.start()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    settings = load_settings(
        env_file=None,
        telegram_bot_token=api.token,
        telegram_api_base_url=api.base_url,
        database_url=url,
        default_locale="vi",
    )
    bot = JobsHarness(api, settings, clock, sessions)
    await bot.start()  # its pacer counts in the bot's time, like the fake (tests/harness.py)
    try:
        await set_up(bot)
        setup_429 = api.stats["429"]
        setup_seconds = time.perf_counter() - began
        async with sessions() as session:
            planned = Counter((await session.scalars(select(Outbox.kind))).all())
        print(
            f"setup (by chat, {setup_seconds:.1f} s): 6 councils, 24 registered members, "
            f"6 linked groups, {len(MEETINGS)} meetings, {len(TASKS)} tasks; "
            f"rows planned: {dict(planned)}"
        )
        print(
            f"walk: {START:%Y-%m-%d %H:%M} → {END:%Y-%m-%d %H:%M} UTC; the sender is woken "
            "when the clock reaches a moment (on the real clock it sleeps until it)"
        )
        since = len(api.sent)
        walk_began = time.perf_counter()
        walked = await walk(bot)
        walk_seconds = time.perf_counter() - walk_began
        checks = await check(bot, since, walked)
    finally:
        await bot.stop()
        await api.stop()
        await engine.dispose()
        logging.getLogger().removeHandler(problems)

    reminders = {r: t for r, t in walked.lateness.items() if checks.kinds[r] in REMINDERS}
    lateness = list(reminders.values())
    first = [t for r, t in reminders.items() if not checks.queued.get(r, False)]
    queued = [t for r, t in reminders.items() if checks.queued.get(r, False)]
    others = [t for r, t in walked.lateness.items() if r not in reminders]
    other_kinds = Counter(k for r, k in checks.kinds.items() if k not in REMINDERS)
    print(
        f"walked in {walk_seconds:.1f} s: {walked.steps} steps, {walked.moments} moments with "
        f"rows due"
    )
    print(f"\nlateness (clock set → row recorded sent), {len(walked.lateness)} rows:")
    print(f"   reminders, all:                          {_ms(lateness)}")
    print(f"   reminders, first to its chat:            {_ms(first)}")
    print(f"   reminders, queued behind another to it:  {_ms(queued)}")
    print(f"   other rows {dict(other_kinds) or ''}: {_ms(others)}")
    print(f"   per moment, clock set → first row claimed: {_ms(walked.pickup)}")
    sizes = Counter(walked.moment_of.values())
    print(
        f"   rows per moment: median {percentile(list(sizes.values()), 0.5):.0f}, "
        f"largest {max(sizes.values(), default=0)}"
    )
    behind = Counter(checks.kinds[r] for r, q in checks.queued.items() if q)
    print(f"   queued rows by kind: {dict(behind) or 'none'}")
    late = sorted(walked.lateness.items(), key=lambda item: -item[1])[:3]
    print(
        "   latest: "
        + ", ".join(
            f"{checks.kinds[r]} {s * 1000:.0f} ms at {walked.moment_of[r]:%m-%d %H:%M}"
            for r, s in late
        )
    )
    print(f"   other outcomes of due rows: {dict(walked.other) or 'none'}")
    print(f"   rows overdue when their step began: {walked.stale}; stuck: {walked.stuck or 'none'}")
    print("\nchecks:")
    print(
        f"   outbox rows sent {checks.sent_rows}; fake messages during the walk "
        f"{checks.messages} = {checks.messages - checks.extra_parts} rows' first messages "
        f"+ {checks.extra_parts} digest charts or further parts"
    )
    print(
        f"   messages of no row {checks.orphans}, a row's message repeated {checks.repeats}, "
        f"sent rows without a message {checks.rows_without_message}, keys sent twice "
        f"{checks.duplicate_keys}"
    )
    print(
        f"   task reminders/nudges sent {checks.task_rows}, outside working time "
        f"{checks.task_rows_outside_working_time}"
    )
    walk_429 = api.stats["429"] - setup_429
    print(
        f"   fake API 429 answers: {walk_429} during the walk, {setup_429} during set-up "
        f"(command replies to the admin typing 30 commands in a burst, retried by the "
        f"handlers); contract violations {len(api.violations)}"
    )
    print(f"   outbox at the end: {dict(checks.states)}")
    print(f"   bot warnings/errors logged: {len(problems.records)}")
    for line in problems.records[:5]:
        print(f"     {line}")
    print(f"   total run time {time.perf_counter() - began:.1f} s")

    once = (
        checks.orphans == 0
        and checks.repeats == 0
        and checks.rows_without_message == 0
        and checks.duplicate_keys == 0
        and checks.sent_rows + checks.extra_parts == checks.messages
    )
    worst = max(lateness, default=float("nan"))
    p99 = percentile(lateness, 0.99)
    print("\n-- verdicts")
    print(
        "  ",
        verdict(
            worst <= 1.0,
            f"every reminder within 1 s: p99 {p99 * 1000:.0f} ms, max {worst * 1000:.0f} ms "
            f"({len(lateness)} reminders)",
        ),
    )
    print("  ", verdict(once, "each outbox row sent exactly once"))
    print("  ", verdict(checks.task_rows_outside_working_time == 0, "task rows in working time"))
    print("  ", verdict(walk_429 == 0 and not api.violations, "no 429 while sending reminders"))
    print("  ", verdict(not walked.stuck, "no due row left unsent"))
    return 0


def main() -> int:
    args = parser(__doc__.splitlines()[0]).parse_args()
    with bench_database(args.database_url) as url:
        return asyncio.run(bench(url))


if __name__ == "__main__":
    raise SystemExit(main())
