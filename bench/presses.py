"""Benchmark: status-button presses under load, through the fake Bot API server.

Claim: "200 status-button presses per second from 200 users through the fake Bot API
server, for 30 s: every press recorded exactly once, p99 from press to the bot's answer
under 150 ms on this 2-core machine (print p50/p99 and the achieved rate)."

The real Application runs in this process, polling the fake server as tests/harness.py
does (`run_jobs=False`: no planner or sender). 200 members of the 6 councils are written
directly in the database (4 or 5 per agency, 8 agencies per council, every agency with 2
open tasks); each sends `/status` in private and gets the bot's messages with the status
buttons (the fake's flood limits are off for this set-up only). Then for SECONDS seconds
the benchmark injects RATE presses a second, spread evenly (press i at i / RATE s), user
after user, so each user presses once a second; a user's presses go round their tasks,
and on each task the status cycles 🟢 → 🟠 → 🔴 (never ✅, which would close the part),
so every press must become a new report (the same status twice within 2 minutes would be
one report by design).

The latency of a press is the time from injecting its update into the fake to the fake
receiving the bot's `answerCallbackQuery` for that query id (stamped when the fake records
the call). Where the time goes is stamped too: when the update left the fake in a
`getUpdates` answer, when the bot began and ended handling it (`Application.process_update`
wrapped). After each press the bot asks for a note with a ForceReply message: these count
against the fake's flood limits (default `RateLimits`: 30 messages a second in all, one a
second per private chat), and every 429 is counted.

Run: `.venv/bin/python -m bench.presses [--database-url URL] [--global-limit N]`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application

from bench.common import Problems, bench_database, header, parser, percentile, verdict
from bot import callbacks
from bot.app import build_application
from bot.callbacks import TaskPress, TaskStatus
from bot.clock import SystemClock
from bot.config import Settings, load_settings
from bot.db import Sessionmaker, make_engine, make_sessionmaker, transaction
from bot.models import (
    Agency,
    Council,
    CouncilMembership,
    Member,
    StatusReport,
    Task,
    TaskAgency,
    TelegramUser,
)
from bot.services.people import name_key
from bot.services.reference import seed_reference_data
from tests.fakebotapi import FakeBotApi, FakeUser, RateLimiter, RateLimits
from tests.harness import BotHarness, deps_of_app

USERS = 200
RATE = 200.0  # presses per second
SECONDS = 30.0
DRAIN = 300.0  # seconds to wait for the last answers after the injection ends
P99_LIMIT = 0.150
RECORDED = "Đã ghi nhận: "  # "Recorded: {status}" in Vietnamese, the users' language
AGENCIES_PER_COUNCIL = 8
CYCLE = (TaskStatus.ON_TRACK, TaskStatus.AT_RISK, TaskStatus.BLOCKED)
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
GIVEN = ["Văn An", "Thị Bình", "Quốc Cường", "Thu Dung", "Minh Đức", "Ngọc Hà", "Hữu Khánh"]


class TimedFakeBotApi(FakeBotApi):
    """The fake, noting when each update left in a getUpdates answer and when each
    callback query was answered (perf_counter seconds)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delivered_at: dict[int, float] = {}  # update id -> first getUpdates answer
        self.answered_at: dict[str, float] = {}  # callback query id -> answerCallbackQuery
        self.refused: Counter[str] = Counter()  # method -> error answers (429 and others)

    async def _get_updates(self, call: Any) -> list[dict[str, Any]]:
        updates = await super()._get_updates(call)
        now = time.perf_counter()
        for update in updates:
            self.delivered_at.setdefault(update["update_id"], now)
        return updates

    def _record_call(
        self, method: str, params: dict[str, Any], status: int, body: dict[str, Any]
    ) -> None:
        if method == "answerCallbackQuery" and status == 200:
            self.answered_at[str(params["callback_query_id"])] = time.perf_counter()
        elif status != 200:
            self.refused[f"{method} {status}"] += 1
        super()._record_call(method, params, status, body)


class RealTimeHarness(BotHarness):
    """BotHarness on the real clock (presses are timestamped as they happen)."""

    def __init__(self, api: FakeBotApi, settings: Settings, sessions: Sessionmaker) -> None:
        self.api = api
        self.settings = settings
        self.sessions = sessions
        self.app: Application = build_application(settings, SystemClock(), run_jobs=False)


@dataclass
class Handling:
    """Process-update stamps of each callback query, by query id."""

    started: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)


def time_handling(app: Application) -> Handling:
    """Wrap Application.process_update to stamp when each press is handled."""
    stamps = Handling()
    original = app.process_update

    async def process_update(update: object) -> None:
        query = update.callback_query if isinstance(update, Update) else None
        if query is not None:
            stamps.started[query.id] = time.perf_counter()
        try:
            await original(update)
        finally:
            if query is not None:
                stamps.ended[query.id] = time.perf_counter()

    app.process_update = process_update  # type: ignore[method-assign]
    return stamps


class SqlTime:
    """Seconds the bot's engine spends in SQL statements (execute and fetch)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.seconds = 0.0
        self.statements = 0
        self._started = 0.0
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)

    def _before(self, *_args: object) -> None:
        self._started = time.perf_counter()

    def _after(self, *_args: object) -> None:
        self.seconds += time.perf_counter() - self._started
        self.statements += 1


@dataclass
class Person:
    user: FakeUser
    member_id: int
    buttons: list[dict[str, Any]] = field(default_factory=list)  # bot messages, one per task


async def build_world(bot: RealTimeHarness) -> list[Person]:
    """Seed; 200 registered members, 8 agencies per council, 2 open tasks per agency."""
    api = bot.api
    now = datetime.now(UTC)
    async with transaction(bot.sessions) as session:
        await seed_reference_data(session, now, "bench")
    async with transaction(bot.sessions) as session:
        councils = list((await session.scalars(select(Council).order_by(Council.id))).all())
        agencies = list((await session.scalars(select(Agency).order_by(Agency.id))).all())
        people: list[Person] = []
        rows: list[dict[str, Any]] = []
        homes: list[tuple[int, int]] = []  # (council id, agency id) of each member
        for number in range(USERS):
            index = number % len(councils)
            council = councils[index]
            ring = agencies[index * AGENCIES_PER_COUNCIL : (index + 1) * AGENCIES_PER_COUNCIL]
            agency = ring[(number // len(councils)) % AGENCIES_PER_COUNCIL]
            family, given = FAMILY[number % len(FAMILY)], GIVEN[number % len(GIVEN)]
            user = api.add_user(given.split()[-1], family, language_code="vi")
            full_name = f"{family} {given} {agency.code}{number:03d}"
            rows.append(
                {
                    "full_name": full_name,
                    "name_key": name_key(full_name),
                    "position": "Chuyên viên",
                    "agency_id": agency.id,
                    "registered_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            homes.append((council.id, agency.id))
            people.append(Person(user, 0))
        ids = list(
            (
                await session.scalars(
                    insert(Member).returning(Member.id, sort_by_parameter_order=True), rows
                )
            ).all()
        )
        await session.execute(
            insert(CouncilMembership),
            [{"council_id": c, "member_id": m} for m, (c, _a) in zip(ids, homes, strict=True)],
        )
        for person, member_id in zip(people, ids, strict=True):
            person.member_id = member_id
        # Tasks: in each council, task k goes to agencies k and k+1 of its ring of 8.
        today = now.date()
        for index, council in enumerate(councils):
            ring = agencies[index * AGENCIES_PER_COUNCIL : (index + 1) * AGENCIES_PER_COUNCIL]
            for k in range(AGENCIES_PER_COUNCIL):
                pair = [ring[k], ring[(k + 1) % AGENCIES_PER_COUNCIL]]
                session.add(
                    Task(
                        council_id=council.id,
                        title=f"Báo cáo chuyên đề số {k + 1} của {council.code}",
                        due_on=today.replace(day=1).replace(year=today.year + 1),
                        created_at=now,
                        created_by="bench",
                        assignments=[TaskAgency(agency_id=a.id) for a in pair],
                    )
                )
    # Registration as /start leaves it: the member linked to their Telegram user, who has
    # written to the bot in private (the fake learns that from the /status below).
    async with transaction(bot.sessions) as session:
        await session.execute(
            insert(TelegramUser),
            [
                {
                    "id": p.user.id,
                    "first_name": p.user.first_name,
                    "last_name": p.user.last_name,
                    "telegram_language": "vi",
                    "private_chat_ok": True,
                    "first_seen_at": now,
                    "last_seen_at": now,
                }
                for p in people
            ],
        )
        for person in people:
            member = await session.get(Member, person.member_id)
            assert member is not None
            member.telegram_user_id = person.user.id
    return people


async def ask_status(bot: RealTimeHarness, people: list[Person]) -> float:
    """Every user sends /status; keep the bot's messages that carry the status buttons."""
    began = time.perf_counter()
    api = bot.api
    for person in people:
        api.send_message(person.user, "/status")
    await bot.settle(timeout=600)
    for person in people:
        person.buttons = [
            message
            for message in api.messages_in(person.user.id)
            if (message.get("reply_markup") or {}).get("inline_keyboard")
        ]
        assert person.buttons, f"no status buttons for {person.user.first_name}"
    return time.perf_counter() - began


@dataclass
class Press:
    index: int
    person: Person
    task_id: int
    status: TaskStatus
    query_id: str = ""
    update_id: int = 0
    injected: float = 0.0


def plan(people: list[Person], total: int) -> list[Press]:
    """Press i: user i mod 200; round r goes to the user's task r mod n, and the j-th
    press of a user on a task has status CYCLE[j mod 3]."""
    presses = []
    for index in range(total):
        person = people[index % len(people)]
        rounds = index // len(people)
        tasks = person.buttons
        message = tasks[rounds % len(tasks)]
        data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        press = callbacks.decode(data)
        assert isinstance(press, TaskPress)
        status = CYCLE[(rounds // len(tasks)) % len(CYCLE)]
        presses.append(Press(index, person, press.task_id, status))
    return presses


async def inject(api: TimedFakeBotApi, presses: list[Press], rate: float) -> float:
    """Inject press i at start + i / rate (catching up at once when late); returns when
    the first was injected."""
    messages = {
        (id(p.person), p.task_id): next(
            m
            for m in p.person.buttons
            if callbacks.decode(m["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
            == TaskPress(p.task_id, TaskStatus.DONE)
        )
        for p in presses
    }
    start = time.perf_counter()
    index = 0
    while index < len(presses):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        while index < len(presses) and start + index / rate <= now:
            press = presses[index]
            data = callbacks.encode(TaskPress(press.task_id, press.status))
            press.injected = time.perf_counter()
            update = api.press_button(
                press.person.user, messages[(id(press.person), press.task_id)], data
            )
            press.query_id = update["callback_query"]["id"]
            press.update_id = update["update_id"]
            index += 1
    return start


async def drain(api: TimedFakeBotApi, presses: list[Press], patience: float) -> float:
    """Wait until every press is answered (or `patience` s); returns the seconds waited."""
    began = time.perf_counter()
    while time.perf_counter() - began < patience:
        if all(p.query_id in api.answered_at for p in presses):
            break
        await asyncio.sleep(0.05)
    return time.perf_counter() - began


def _ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"p50 {percentile(values, 0.5) * 1000:.1f}  p95 {percentile(values, 0.95) * 1000:.1f}  "
        f"p99 {percentile(values, 0.99) * 1000:.1f}  max {max(values) * 1000:.1f} ms"
    )


async def bench(url: str, rate: float, seconds: float, global_limit: float) -> int:
    header(f"presses: {rate:.0f} status-button presses a second from {USERS} users", url)
    print(f"   load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    problems = Problems()
    logging.getLogger().addHandler(problems)
    limits = RateLimits(global_per_second=global_limit)
    api = TimedFakeBotApi(limits=RateLimits(enabled=False))  # off for the set-up
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
    bot = RealTimeHarness(api, settings, sessions)
    await bot.start()
    try:
        people = await build_world(bot)
        setup_seconds = await ask_status(bot, people)
        async with sessions() as session:
            tasks = await session.scalar(select(func.count()).select_from(Task))
            before = await session.scalar(select(func.count()).select_from(StatusReport))
        print(
            f"set-up: {USERS} registered members in 6 councils ({AGENCIES_PER_COUNCIL} agencies "
            f"each), {tasks} open tasks (2 per agency, 2 agencies per task); /status from "
            f"every user in {setup_seconds:.1f} s, "
            f"{sum(len(p.buttons) for p in people)} messages with status buttons"
        )
        print(
            f"fake flood limits during the run: {limits.global_per_second:g} messages/s in "
            f"all, {limits.private_per_second:g}/s per private chat (burst "
            f"{limits.private_burst})"
        )
        api.limits = limits
        api.limiter = RateLimiter(limits)
        calls_before = len(api.calls)
        sent_before = len(api.sent)
        refused_before = Counter(api.refused)
        problems.records.clear()
        stamps = time_handling(bot.app)
        bot_engine = deps_of_app(bot.app).engine
        assert bot_engine is not None
        sql = SqlTime(bot_engine)
        presses = plan(people, int(rate * seconds))
        cpu = time.process_time()
        start = await inject(api, presses, rate)
        injected_in = presses[-1].injected - start
        waited = await drain(api, presses, DRAIN)
        await asyncio.sleep(1.0)  # the last questions and their transactions
        run_seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
        async with sessions() as session:
            after = await session.scalar(select(func.count()).select_from(StatusReport))
            per_key = Counter(
                (member, task)
                for member, task in (
                    await session.execute(
                        select(StatusReport.member_id, StatusReport.task_id).where(
                            StatusReport.id > 0
                        )
                    )
                ).all()
            )
            prompted = await session.scalar(
                select(func.count())
                .select_from(StatusReport)
                .where(StatusReport.prompt_message_id.is_not(None))
            )
    finally:
        await bot.stop()
        await api.stop()
        await engine.dispose()
        logging.getLogger().removeHandler(problems)

    answered = [p for p in presses if p.query_id in api.answered_at]
    latency = [api.answered_at[p.query_id] - p.injected for p in answered]
    expected = Counter((p.person.member_id, p.task_id) for p in presses)
    created = (after or 0) - (before or 0)
    mismatched = sum(1 for key in expected | per_key if expected[key] != per_key[key])
    calls = api.calls[calls_before:]
    answers = [params for name, params, _s in calls if name == "answerCallbackQuery"]
    not_recorded = [a for a in answers if not str(a.get("text", "")).startswith(RECORDED)]
    questions = [m for m in api.sent[sent_before:] if m.get("_method") == "sendMessage"]
    refused = api.refused - refused_before

    last_answer = max((api.answered_at[p.query_id] for p in answered), default=start)
    handled_rate = len(answered) / max(last_answer - start, 1e-9)
    print(
        f"\ninjected {len(presses)} presses in {injected_in:.2f} s: achieved rate "
        f"{len(presses) / injected_in:.1f} presses/s (target {rate:g}/s); answered "
        f"{len(answered)}, the last {waited:.1f} s after the injection ended: the bot answered "
        f"{handled_rate:.1f} presses/s (first press injected → last answer)"
    )
    handled = [p for p in answered if p.query_id in stamps.started]
    print(f"\nlatency, press injected → answerCallbackQuery received by the fake ({len(latency)}):")
    print(f"   {_ms(latency)}")
    quick = sum(1 for v in latency if v <= P99_LIMIT) / max(1, len(latency))
    print(f"   within 150 ms: {quick:.1%}")
    print("where the time goes (per press):")
    print(
        "   waiting in the fake (injected → getUpdates answer):  "
        + _ms([api.delivered_at[p.update_id] - p.injected for p in handled])
    )
    print(
        "   queued in the bot (getUpdates → handler starts):     "
        + _ms([stamps.started[p.query_id] - api.delivered_at[p.update_id] for p in handled])
    )
    print(
        "   handler start → answer received:                     "
        + _ms([api.answered_at[p.query_id] - stamps.started[p.query_id] for p in handled])
    )
    ended = [p for p in handled if p.query_id in stamps.ended]
    print(
        "   answer → handler done (ForceReply question + note link): "
        + _ms([stamps.ended[p.query_id] - api.answered_at[p.query_id] for p in ended])
    )
    busy = sum(stamps.ended[p.query_id] - stamps.started[p.query_id] for p in ended)
    print(
        f"   handler busy {busy:.1f} s in all, {busy / max(1, len(ended)) * 1000:.1f} ms per "
        f"press: one at a time, the bot can handle about {len(ended) / max(busy, 1e-9):.0f} "
        f"presses/s"
    )
    print(
        f"   SQL (execute + fetch) of the bot: {sql.seconds / len(presses) * 1000:.1f} ms and "
        f"{sql.statements / len(presses):.1f} statements per press; this process (bot, fake "
        f"server, injector: one interpreter) used {cpu:.1f} s of CPU in {run_seconds:.1f} s "
        f"({cpu / run_seconds:.0%} of one core)"
    )
    print("\nchecks:")
    print(
        f"   StatusReport rows created {created} for {len(presses)} presses; (member, task) "
        f"pairs whose row count differs from their presses: {mismatched}"
    )
    print(
        f"   answers {len(answers)} ({len(not_recorded)} not 'Recorded'); note questions sent "
        f"{len(questions)}, reports linked to their question {prompted}"
    )
    too_many = sum(n for key, n in refused.items() if key.endswith(" 429"))
    print(
        f"   fake 429 answers during the run: {too_many}; all error answers: "
        f"{dict(refused) or 'none'}; contract violations {len(api.violations)}"
    )
    print(f"   bot warnings/errors logged: {len(problems.records)}")
    for line in Counter(problems.records).most_common(5):
        print(f"     {line[1]} × {line[0]}")

    p99 = percentile(latency, 0.99)
    once = created == len(presses) and mismatched == 0 and len(answered) == len(presses)
    print("\n-- verdicts")
    print(
        "  ",
        verdict(
            once,
            f"every press recorded exactly once: {created} rows for {len(presses)} presses, "
            f"{len(answered)} answered",
        ),
    )
    print(
        "  ",
        verdict(
            len(answered) == len(presses) and p99 < P99_LIMIT,
            f"p99 press → answer under 150 ms: p50 {percentile(latency, 0.5) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms",
        ),
    )
    print(
        "  ",
        verdict(
            handled_rate >= 0.99 * rate,
            f"{rate:g} presses/s for {seconds:g} s: injected {len(presses) / injected_in:.1f}/s, "
            f"answered {handled_rate:.1f}/s",
        ),
    )
    print(
        "  ",
        verdict(
            too_many == 0 and not api.violations,
            f"no 429 from the fake during the run: {too_many}",
        ),
    )
    return 0


def main() -> int:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--rate", type=float, default=RATE, help="presses per second")
    arguments.add_argument("--seconds", type=float, default=SECONDS, help="length of the run")
    arguments.add_argument(
        "--global-limit",
        type=float,
        default=RateLimits().global_per_second,
        help="the fake's messages per second in all (default: Telegram's 30)",
    )
    args = arguments.parse_args()
    with bench_database(args.database_url) as url:
        return asyncio.run(bench(url, args.rate, args.seconds, args.global_limit))


if __name__ == "__main__":
    raise SystemExit(main())
