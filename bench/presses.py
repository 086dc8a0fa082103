"""Benchmark: status-button presses under load, through the fake Bot API server.

Claim: "200 status-button presses per second from 200 users through the fake Bot API
server, for 30 s: every press recorded exactly once, p99 from press to the bot's answer
under 150 ms on this 2-core machine (print p50/p99 and the achieved rate)."

The bot is the real `dieuphoi run`, spawned as its own process (as in production: the
benchmark, the fake server and the injector run in this process and do not take the
bot's CPU), on the real clock with its jobs. 200 members of the 6 councils are written
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
the call); the fake also stamps when the update left in a `getUpdates` answer. After a
press the bot asks for a note with a ForceReply message: these count against the fake's
flood limits (default `RateLimits`: 30 messages a second in all, one a second per private
chat), and every 429 is counted. The bot's CPU time is read from /proc before and after.
`--profile FILE` runs the bot under cProfile and writes its profile to FILE.

Run: `.venv/bin/python -m bench.presses [--database-url URL] [--global-limit N]
[--rate R] [--seconds S] [--profile FILE]`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.common import (
    bench_database,
    children_cpu_seconds,
    header,
    parser,
    percentile,
    verdict,
)
from bench.desk_users import THINK_SECONDS, DeskUsers, sign_in
from bot import callbacks
from bot.callbacks import TaskPress, TaskStatus
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
from tests.cli import cli_env
from tests.desk import free_port
from tests.fakebotapi import FakeBotApi, FakeUser, RateLimiter, RateLimits
from tests.proc_stat import cpu_seconds

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


@dataclass
class Person:
    user: FakeUser
    member_id: int
    buttons: list[dict[str, Any]] = field(default_factory=list)  # bot messages, one per task


async def build_world(api: TimedFakeBotApi, sessions: Sessionmaker) -> list[Person]:
    """Seed; 200 registered members, 8 agencies per council, 2 open tasks per agency."""
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        await seed_reference_data(session, now, "bench")
    async with transaction(sessions) as session:
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
    async with transaction(sessions) as session:
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


async def ask_status(api: TimedFakeBotApi, people: list[Person]) -> float:
    """Every user sends /status; keep the bot's messages that carry the status buttons."""
    began = time.perf_counter()
    for person in people:
        api.send_message(person.user, "/status")
    waiting = list(people)
    async with asyncio.timeout(600):
        while waiting:
            await asyncio.sleep(0.1)
            for person in list(waiting):
                person.buttons = [
                    message
                    for message in api.messages_in(person.user.id)
                    if (message.get("reply_markup") or {}).get("inline_keyboard")
                ]
                # One message per task: 2 tasks for every agency.
                if len(person.buttons) >= 2:
                    waiting.remove(person)
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


def now() -> datetime:
    return datetime.now(UTC)


async def start_bot(
    api: TimedFakeBotApi,
    url: str,
    workdir: Path,
    profile: Path | None,
    extra_env: dict[str, str] | None = None,
) -> asyncio.subprocess.Process:
    """`dieuphoi run` in its own process, logging to workdir/bot.log."""
    env = cli_env(
        workdir,
        DATABASE_URL=url,
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_BASE_URL=api.base_url,
        DEFAULT_LOCALE="vi",
        LOG_LEVEL="INFO",
        **(extra_env or {}),
    )
    command = [sys.executable]
    if profile:
        command += ["-m", "cProfile", "-o", str(profile)]
    command += ["-m", "bot", "run"]
    with (workdir / "bot.log").open("wb") as log:  # the child keeps its own copy
        return await asyncio.create_subprocess_exec(
            *command, cwd=workdir, env=env, stdout=log, stderr=log
        )


async def stop_bot(process: asyncio.subprocess.Process) -> int | None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), 60)
    except TimeoutError:
        process.kill()
        return None


def problems_in(log: str) -> list[str]:
    """The bot's WARNING and ERROR lines (the log format is `time LEVEL name: message`)."""
    return [line[:200] for line in log.splitlines() if " WARNING " in line or " ERROR " in line]


async def bench(
    url: str,
    rate: float,
    seconds: float,
    global_limit: float,
    profile: Path | None,
    keep_log: Path | None,
    desk_users: int = 0,
    desk_think: float = THINK_SECONDS,
) -> int:
    header(f"presses: {rate:.0f} status-button presses a second from {USERS} users", url)
    print(f"   load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    limits = RateLimits(global_per_second=global_limit)
    api = TimedFakeBotApi(limits=RateLimits(enabled=False))  # off for the set-up
    await api.start()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    folder = tempfile.TemporaryDirectory(prefix="dieuphoi-presses-")  # no .env there
    workdir = Path(folder.name)
    process: asyncio.subprocess.Process | None = None
    try:
        people = await build_world(api, sessions)
        spawned = time.perf_counter()
        desk_port = free_port()
        desk_url = f"http://127.0.0.1:{desk_port}"
        desk_env = {"WEB_URL": desk_url, "WEB_PORT": str(desk_port)} if desk_users else {}
        process = await start_bot(api, url, workdir, profile, desk_env)
        setup_seconds = await ask_status(api, people)
        async with sessions() as session:
            tasks = await session.scalar(select(func.count()).select_from(Task))
            before = await session.scalar(select(func.count()).select_from(StatusReport))
        print(
            f"set-up: {USERS} registered members in 6 councils ({AGENCIES_PER_COUNCIL} agencies "
            f"each), {tasks} open tasks (2 per agency, 2 agencies per task); bot spawned, then "
            f"/status from every user answered {setup_seconds:.1f} s after the spawn, "
            f"{sum(len(p.buttons) for p in people)} messages with status buttons"
        )
        print(
            f"fake flood limits during the run: {limits.global_per_second:g} messages/s in "
            f"all, {limits.private_per_second:g}/s per private chat (burst "
            f"{limits.private_burst})"
        )
        await asyncio.sleep(2.0)  # let the /status transactions and the job queue settle
        api.limits = limits
        api.limiter = RateLimiter(limits)
        calls_before = len(api.calls)
        sent_before = len(api.sent)
        refused_before = Counter(api.refused)
        log_before = (workdir / "bot.log").read_text(errors="replace")
        presses = plan(people, int(rate * seconds))
        users: DeskUsers | None = None
        if desk_users:
            ids = [p.user.id for p in people]
            users = DeskUsers(
                desk_url, await sign_in(sessions, [], ids, desk_users, now()), desk_think
            )
            users.start()
            print(f"   {desk_users} members on the desk, a page every {desk_think:g} s each")
        bot_cpu = cpu_seconds(process.pid)
        desk_cpu = children_cpu_seconds(process.pid)
        own_cpu = time.process_time()
        start = await inject(api, presses, rate)
        injected_in = presses[-1].injected - start
        waited = await drain(api, presses, DRAIN)
        clicks = await users.stop() if users is not None else None
        if clicks is not None:
            print(f"   the desk meanwhile: {clicks.line()}")
        await asyncio.sleep(1.0)  # the last questions and their transactions
        run_seconds = time.perf_counter() - start
        bot_cpu = cpu_seconds(process.pid) - bot_cpu
        desk_cpu = children_cpu_seconds(process.pid) - desk_cpu
        own_cpu = time.process_time() - own_cpu
        async with sessions() as session:
            after = await session.scalar(select(func.count()).select_from(StatusReport))
            per_key = Counter(
                (member, task)
                for member, task in (
                    await session.execute(select(StatusReport.member_id, StatusReport.task_id))
                ).all()
            )
        # Each question sent must end up linked to its report (the link is written just
        # after the send, so give the last ones a moment).
        for _attempt in range(100):
            sent_by_end = len(api.sent)
            asked = {
                (m["chat"]["id"], m["message_id"])
                for m in api.sent[sent_before:sent_by_end]
                if m.get("_method") == "sendMessage"
            }
            async with sessions() as session:
                rows = await session.execute(
                    select(StatusReport.prompt_chat_id, StatusReport.prompt_message_id).where(
                        StatusReport.prompt_message_id.is_not(None)
                    )
                )
                linked = {(chat, message) for chat, message in rows}
            if asked <= linked:
                break
            await asyncio.sleep(0.1)
        prompted = len(asked & linked)
    finally:
        exit_code = await stop_bot(process) if process is not None else None
        await api.stop()
        await engine.dispose()
        log_text = (workdir / "bot.log").read_text(errors="replace")
        if keep_log is not None:
            keep_log.write_text(log_text)  # noqa: ASYNC240 - the run is over
        folder.cleanup()
    del spawned

    answered = [p for p in presses if p.query_id in api.answered_at]
    latency = [api.answered_at[p.query_id] - p.injected for p in answered]
    expected = Counter((p.person.member_id, p.task_id) for p in presses)
    created = (after or 0) - (before or 0)
    mismatched = sum(1 for key in expected | per_key if expected[key] != per_key[key])
    calls = api.calls[calls_before:]
    answers = [params for name, params, _s in calls if name == "answerCallbackQuery"]
    not_recorded = [a for a in answers if not str(a.get("text", "")).startswith(RECORDED)]
    questions = [m for m in api.sent[sent_before:sent_by_end] if m.get("_method") == "sendMessage"]
    # Questions still waiting for their turn when SIGTERM came: python-telegram-bot lets
    # the tasks it started finish before it stops.
    at_shutdown = len(api.sent) - sent_by_end
    refused = api.refused - refused_before
    problems = problems_in(log_text[len(log_before) :])

    last_answer = max((api.answered_at[p.query_id] for p in answered), default=start)
    handled_rate = len(answered) / max(last_answer - start, 1e-9)
    print(
        f"\ninjected {len(presses)} presses in {injected_in:.2f} s: achieved rate "
        f"{len(presses) / injected_in:.1f} presses/s (target {rate:g}/s); answered "
        f"{len(answered)}, the last {waited:.1f} s after the injection ended: the bot answered "
        f"{handled_rate:.1f} presses/s (first press injected → last answer)"
    )
    print(f"\nlatency, press injected → answerCallbackQuery received by the fake ({len(latency)}):")
    print(f"   {_ms(latency)}")
    quick = sum(1 for v in latency if v <= P99_LIMIT) / max(1, len(latency))
    print(f"   within 150 ms: {quick:.1%}")
    by_second: dict[int, list[float]] = {}
    for press in answered:
        by_second.setdefault(int(press.injected - start), []).append(
            api.answered_at[press.query_id] - press.injected
        )
    worst = sorted(by_second.items(), key=lambda item: -max(item[1]))[:5]
    print(
        "   the worst seconds of the run (second: max latency): "
        + ", ".join(f"{second}: {max(values) * 1000:.0f} ms" for second, values in worst)
    )
    print(
        "   of which waiting in the fake (injected → getUpdates answer): "
        + _ms([api.delivered_at[p.update_id] - p.injected for p in answered])
    )
    print(
        "   and in the bot (getUpdates answer → answer received):       "
        + _ms([api.answered_at[p.query_id] - api.delivered_at[p.update_id] for p in answered])
    )
    print(
        f"CPU: the bot process {bot_cpu:.1f} s in {run_seconds:.1f} s ({bot_cpu / run_seconds:.0%} "
        f"of one core), {bot_cpu / max(1, len(answered)) * 1000:.2f} ms per press; the desk's "
        f"process {desk_cpu:.1f} s ({desk_cpu / run_seconds:.0%}); this process "
        f"(fake server and injector) {own_cpu:.1f} s ({own_cpu / run_seconds:.0%})"
    )
    print("\nchecks:")
    print(
        f"   StatusReport rows created {created} for {len(presses)} presses; (member, task) "
        f"pairs whose row count differs from their presses: {mismatched}"
    )
    print(
        f"   answers {len(answers)} ({len(not_recorded)} not 'Recorded'); note questions sent "
        f"{len(questions)}, reports linked to their question {prompted}; sent during the "
        f"shutdown {at_shutdown}"
    )
    too_many = sum(n for key, n in refused.items() if key.endswith(" 429"))
    print(
        f"   fake 429 answers during the run: {too_many}; all error answers: "
        f"{dict(refused) or 'none'}; contract violations {len(api.violations)}"
    )
    print(f"   bot warnings/errors logged during the run: {len(problems)}; exit code {exit_code}")
    for line, count in Counter(problems).most_common(5):
        print(f"     {count} × {line}")

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
    arguments.add_argument("--profile", help="run the bot under cProfile, writing FILE")
    arguments.add_argument("--keep-log", type=Path, help="copy the bot's log to this file")
    arguments.add_argument(
        "--global-limit",
        type=float,
        default=RateLimits().global_per_second,
        help="the fake's messages per second in all (default: Telegram's 30)",
    )
    arguments.add_argument(
        "--desk-users", type=int, default=0, help="members clicking through the desk meanwhile"
    )
    arguments.add_argument(
        "--desk-think",
        type=float,
        default=THINK_SECONDS,
        help="seconds each desk user reads a page before the next click",
    )
    args = arguments.parse_args()
    profile = Path(args.profile).resolve() if args.profile else None
    with bench_database(args.database_url) as url:
        return asyncio.run(
            bench(
                url,
                args.rate,
                args.seconds,
                args.global_limit,
                profile,
                args.keep_log,
                args.desk_users,
                args.desk_think,
            )
        )


if __name__ == "__main__":
    raise SystemExit(main())
