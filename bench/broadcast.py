"""Benchmark: an announcement to 1,000 members and 6 groups at Telegram's speed limit.

Claim (issue 5): "Against the fake Bot API server enforcing Telegram's limits: a broadcast
to 1,000 members and 6 groups achieves at least 95% of the 30 messages/s limit (≥ 28.5
msg/s) measured from 📣 to the last copy, with zero 429 responses, zero duplicates and
zero losses; the same with a kill -9 at 50% and a restart (print the time lost). Compare,
in the same run, with a plain python-telegram-bot loop using PTB's own AIORateLimiter and
report both rates and both 429 counts side by side."

Driven like a user would: the real `dieuphoi run` process (spawned, so that it can be
killed with SIGKILL) polls a FakeBotApi served from this process with Telegram's default
limits (`RateLimits()`: 30 messages a second in all, one a second per private chat,
20 a minute per group). The members (each with the private chat opened), the 6 linked
groups and the admin are written directly in the database. The admin then sends
`/announce all` with a text, gets the preview, and the benchmark presses its 📣 button.
From the press on it watches what the fake records: the copies per chat (a duplicate is a
chat with more than one copy, a loss a member or group with none), every 429, the
progress message and its edits, and the final summary.

1. One broadcast, uninterrupted.
2. The same plain loop that a python-telegram-bot user would write: an `ExtBot` with
   `AIORateLimiter(max_retries=3)` sending the same 1,006 messages (same text, same 👍
   keyboard) one after another to the same chats of the same fake.
3. A second broadcast; when half of the recipients have their copy the process is killed
   with SIGKILL and a new one is started at once. The time lost is the gap between the
   last copy sent by the killed process and the first one sent by the new process, and
   the whole broadcast's duration against that of the first run.

Run: `.venv/bin/python -m bench.broadcast [--database-url URL] [--members N] [--groups N]`
(needs the `bench` extra: `pip install -e '.[test,postgres,bench]'`).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bench.common import (
    bench_database,
    children_cpu_seconds,
    header,
    parser,
    registered_person,
    verdict,
)
from bench.desk_users import THINK_SECONDS, DeskUsers, sign_in
from bot import callbacks
from bot.callbacks import BroadcastPress
from bot.db import Sessionmaker, make_engine, make_sessionmaker, transaction
from bot.models import (
    Agency,
    Announcement,
    Council,
    GroupChat,
    Outbox,
)
from bot.services import admins
from bot.services.broadcasts import subject
from bot.services.reference import seed_reference_data
from jobs.sender import MAX_IN_FLIGHT
from tests.cli import cli_env
from tests.desk import free_port
from tests.fakebotapi import FakeBotApi, FakeUser
from tests.proc_stat import cpu_seconds

MEMBERS = 1000
GROUPS = 6
LIMIT = 30.0  # Telegram's overall messages per second
TARGET = 0.95 * LIMIT
KILL_AT = 0.5
# How long to wait for the copies: generous, a lapsed claim may have to wait its lease.
COPIES_TIMEOUT = 240.0
SUMMARY_TIMEOUT = 20.0
# After the summary, watch this long more for a late repeat.
QUIET = 2.0
DIEUPHOI = Path(sys.executable).parent / "dieuphoi"
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
GIVEN = ["Văn An", "Thị Bình", "Quốc Cường", "Thu Dung", "Minh Đức", "Ngọc Hà", "Hữu Khánh"]
# The admin's language is Vietnamese (the default): the texts the benchmark reads.
PROGRESS = re.compile(r"Thông báo #(\d+): đã gửi (\d+)/(\d+) · (\d+) lỗi")
SUMMARY = re.compile(r"Thông báo #(\d+) đã gửi xong")
DELIVERED = re.compile(r"Đã gửi tới: (\d+)")
FAILED = re.compile(r"Không gửi được: (\d+)")


def text_of(run: str) -> str:
    """The admin's announcement: HTML special characters and emoji, as real ones have."""
    return (
        f"Kính gửi các thành viên Hội đồng ({run}): phiên họp <quý IV> dời sang 9:00 "
        "& tài liệu gửi kèm 📎🎉"
    )


class StampedFakeBotApi(FakeBotApi):
    """The fake, noting when it answered each call (its messages carry `_at` already) and
    when each getUpdates arrived (a long poll is recorded only when it returns)."""

    def __init__(self) -> None:
        super().__init__()
        self.call_times: list[float] = []
        self.poll_arrivals: list[float] = []

    def _record_call(self, method: str, params: Any, status: int, body: Any) -> None:
        self.call_times.append(time.monotonic())
        super()._record_call(method, params, status, body)

    async def _get_updates(self, call: Any) -> Any:
        self.poll_arrivals.append(time.monotonic())
        return await super()._get_updates(call)


# --- the world ----------------------------------------------------------------------------


@dataclass
class World:
    admin: FakeUser
    members: list[int]  # Telegram user ids
    groups: list[int]  # chat ids
    in_two_councils: int

    @property
    def chats(self) -> list[int]:
        return self.members + self.groups


async def build_world(
    sessions: Sessionmaker, api: FakeBotApi, members: int, groups: int, now: datetime
) -> World:
    """The reference data, `members` registered members spread over the 6 councils (every
    tenth also sits in the next council: still one copy), `groups` linked groups, an admin."""
    async with transaction(sessions) as session:
        await seed_reference_data(session, now, "bench")
        councils = list((await session.scalars(select(Council).order_by(Council.id))).all())
        agencies = list((await session.scalars(select(Agency).order_by(Agency.id))).all())
        admin = api.add_user("Thư ký", "Ban", language_code="vi")
        await admins.add_admin(session, now, admin.id, "Ban thư ký", "bench")
        user_ids: list[int] = []
        twice = 0
        for number in range(members):
            family, given = FAMILY[number % len(FAMILY)], GIVEN[number % len(GIVEN)]
            language = "en" if number % 9 == 0 else "vi"
            council = councils[number % len(councils)]
            council_ids = [council.id]
            if number % 10 == 0:
                council_ids.append(councils[(number + 1) % len(councils)].id)
                twice += 1
            user, _member = registered_person(
                session,
                api,
                family=family,
                given=given,
                language=language,
                full_name=f"{family} {given} {council.code}{number:04d}",
                agency_id=agencies[number % len(agencies)].id,
                council_ids=council_ids,
                now=now,
            )
            user_ids.append(user.id)
        group_ids: list[int] = []
        for number in range(groups):
            council = councils[number % len(councils)]
            suffix = f" ({number // len(councils) + 1})" if groups > len(councils) else ""
            chat = api.add_group(f"HĐĐP {council.code}{suffix}")
            group_ids.append(chat.id)
            session.add(
                GroupChat(
                    chat_id=chat.id,
                    council_id=council.id,
                    title=chat.title,
                    linked_at=now,
                    linked_by=admin.id,
                )
            )
    return World(admin, user_ids, group_ids, twice)


# --- the bot process ----------------------------------------------------------------------


class BotProcess:
    """`dieuphoi run` against the fake, logging to a file of the benchmark's folder."""

    def __init__(
        self,
        api: StampedFakeBotApi,
        url: str,
        folder: Path,
        name: str,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.api = api
        self.extra_env = extra_env or {}
        self.url = url
        self.folder = folder
        self.log_path = folder / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.spawned = 0.0
        self.first_poll = 0.0
        self.cpu = 0.0

    async def start(self) -> None:
        env = cli_env(
            self.folder,
            DATABASE_URL=self.url,
            TELEGRAM_BOT_TOKEN=self.api.token,
            TELEGRAM_API_BASE_URL=self.api.base_url,
            LOG_LEVEL="INFO",
            **self.extra_env,
        )
        polls = len(self.api.poll_arrivals)
        with self.log_path.open("ab") as log:
            self.spawned = time.monotonic()
            self.process = await asyncio.create_subprocess_exec(
                str(DIEUPHOI), "run", cwd=self.folder, env=env, stdout=log, stderr=log
            )
        async with asyncio.timeout(60):
            while len(self.api.poll_arrivals) == polls:
                if self.process.returncode is not None:
                    raise SystemExit(f"dieuphoi run exited: {self.log_tail()}")
                await asyncio.sleep(0.005)
        self.first_poll = self.api.poll_arrivals[polls]

    def kill(self) -> float:
        assert self.process is not None
        self.cpu = cpu_seconds(self.process.pid)
        self.process.send_signal(signal.SIGKILL)
        return time.monotonic()

    async def stop(self) -> int | None:
        assert self.process is not None
        if self.process.returncode is None:
            self.cpu = cpu_seconds(self.process.pid)
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            return None

    def problems(self) -> list[str]:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if " WARNING " in line or " ERROR " in line]

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-8:])


# --- watching a broadcast -----------------------------------------------------------------


@dataclass
class Watch:
    """What the fake recorded from the 📣 press on: copies per chat and the admin's chat."""

    api: StampedFakeBotApi
    marker: str
    admin_id: int
    expected: set[int]
    since_sent: int
    since_calls: int
    copies: dict[int, list[float]] = field(default_factory=dict)
    admin_messages: list[dict[str, Any]] = field(default_factory=list)
    strays: int = 0
    _seen: int = 0

    def __post_init__(self) -> None:
        self._seen = self.since_sent

    def scan(self) -> None:
        sent = self.api.sent
        for message in sent[self._seen :]:
            chat = message["chat"]["id"]
            if chat == self.admin_id:
                self.admin_messages.append(message)
            elif self.marker in message.get("text", ""):
                self.copies.setdefault(chat, []).append(message["_at"])
                if chat not in self.expected:
                    self.strays += 1
        self._seen = len(sent)

    @property
    def reached(self) -> int:
        return sum(1 for chat in self.expected if chat in self.copies)

    def times(self) -> list[float]:
        return sorted(t for chat_times in self.copies.values() for t in chat_times)

    def summaries(self) -> list[dict[str, Any]]:
        return [m for m in self.admin_messages if SUMMARY.search(m.get("text", ""))]

    def progress_messages(self) -> list[dict[str, Any]]:
        return [m for m in self.admin_messages if PROGRESS.search(m.get("text", ""))]

    async def until(self, predicate: Any, within: float) -> bool:
        deadline = time.monotonic() + within
        while True:
            self.scan()
            if predicate():
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)


@dataclass
class Broadcast:
    """One announcement from /announce to the summary, as the fake saw it."""

    title: str
    announcement_id: int
    watch: Watch
    preview_seconds: float
    pressed: float
    preview_text: str
    finished: bool = False
    end_calls: int = 0
    # kill -9 only
    killed: float | None = None
    at_kill: int = 0
    claimed_at_kill: int = 0
    restarted: float | None = None
    restart_poll: float | None = None
    states: Counter[str] = field(default_factory=Counter)
    state: str = ""

    @property
    def first(self) -> float:
        return self.watch.times()[0]

    @property
    def last(self) -> float:
        return self.watch.times()[-1]

    @property
    def duration(self) -> float:
        return self.last - self.pressed

    @property
    def rate(self) -> float:
        return self.watch.reached / self.duration

    @property
    def sending_rate(self) -> float:
        """Copies a second from the first to the last (what the loop's rate measures)."""
        times = self.watch.times()
        return (len(times) - 1) / (times[-1] - times[0])

    @property
    def duplicates(self) -> dict[int, int]:
        return {chat: len(t) for chat, t in self.watch.copies.items() if len(t) > 1}

    @property
    def losses(self) -> int:
        return len(self.watch.expected) - self.watch.reached

    def calls(self) -> list[tuple[str, dict[str, Any], int, float]]:
        api = self.watch.api
        end = self.end_calls or len(api.calls)
        return [
            (*api.calls[i], api.call_times[i])
            for i in range(self.watch.since_calls, end)
            if api.call_times[i] >= self.pressed
        ]

    def too_many(self) -> Counter[str]:
        return Counter(method for method, _params, status, _t in self.calls() if status == 429)

    def edits(self) -> list[tuple[float, int]]:
        """Times and statuses of the edits of this broadcast's progress message."""
        progress = self.watch.progress_messages()
        if not progress:
            return []
        message_id = progress[0]["message_id"]
        return [
            (at, status)
            for method, params, status, at in self.calls()
            if method == "editMessageText"
            and params.get("chat_id") == self.watch.admin_id
            and params.get("message_id") == message_id
        ]

    def final_progress_text(self) -> str:
        progress = self.watch.progress_messages()
        if not progress:
            return "(none)"
        message_id = progress[0]["message_id"]
        for message in self.watch.api.messages_in(self.watch.admin_id):
            if message["message_id"] == message_id:
                return str(message.get("text", ""))
        return "(deleted)"


async def start_broadcast(api: StampedFakeBotApi, world: World, run: str, title: str) -> Broadcast:
    """The admin sends /announce all with a text, reads the preview, presses 📣."""
    since = len(api.sent)
    asked = time.monotonic()
    api.send_message(world.admin, f"/announce all\n{text_of(run)}")
    preview = await api.wait_for_message(world.admin.id, since=since, timeout=30)
    preview_seconds = preview["_at"] - asked
    [data] = [
        button["callback_data"]
        for row in preview["reply_markup"]["inline_keyboard"]
        for button in row
        if "📣" in button["text"]
    ]
    press = callbacks.decode(data)
    assert isinstance(press, BroadcastPress)
    watch = Watch(
        api,
        marker=f"({run})",
        admin_id=world.admin.id,
        expected=set(world.chats),
        since_sent=len(api.sent),
        since_calls=len(api.calls),
    )
    pressed = time.monotonic()
    api.press_button(world.admin, preview, data)
    return Broadcast(title, press.announcement_id, watch, preview_seconds, pressed, preview["text"])


async def finish_broadcast(broadcast: Broadcast, sessions: Sessionmaker) -> None:
    """Wait for the summary, then a little more for anything late; read the outbox."""
    watch = broadcast.watch
    broadcast.finished = await watch.until(lambda: watch.summaries(), SUMMARY_TIMEOUT)
    await asyncio.sleep(QUIET)
    watch.scan()
    broadcast.end_calls = len(watch.api.calls)
    async with sessions() as session:
        rows = await session.execute(
            select(Outbox.state, func.count())
            .where(Outbox.subject == subject(broadcast.announcement_id))
            .group_by(Outbox.state)
        )
        broadcast.states = Counter({str(state): number for state, number in rows})
        announcement = await session.get(Announcement, broadcast.announcement_id)
        broadcast.state = str(announcement.state) if announcement else "?"


async def claimed(sessions: Sessionmaker, announcement_id: int) -> int:
    async with sessions() as session:
        return (
            await session.scalar(
                select(func.count())
                .select_from(Outbox)
                .where(
                    Outbox.subject == subject(announcement_id),
                    Outbox.state == "sending",
                )
            )
            or 0
        )


# --- the plain python-telegram-bot loop ---------------------------------------------------


@dataclass
class Loop:
    started: float
    first: float
    ended: float
    sent: int
    copies: Counter[int]
    errors: Counter[str]
    too_many: int
    expected: int

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def rate(self) -> float:
        return len(self.copies) / self.duration

    @property
    def sending_rate(self) -> float:
        return (sum(self.copies.values()) - 1) / (self.ended - self.first)

    @property
    def duplicates(self) -> int:
        return sum(1 for n in self.copies.values() if n > 1)


async def ptb_loop(api: StampedFakeBotApi, chats: list[int], model: dict[str, Any]) -> Loop:
    """What a python-telegram-bot user would write: one ExtBot with PTB's AIORateLimiter
    (30 a second overall, 20 a minute per group, retrying a 429 up to 3 times), and a loop
    over the chats. The text and keyboard are those of a copy the bot sent."""
    marker = "(PTB)"
    params = model["_params"]
    text = re.sub(r"\(run \w+\)", marker, params["text"])
    markup = InlineKeyboardMarkup.de_json(params["reply_markup"], None)
    since, since_calls = len(api.sent), len(api.calls)
    bot: ExtBot[Any] = ExtBot(
        api.token,
        base_url=api.base_url,
        request=HTTPXRequest(connection_pool_size=8),
        rate_limiter=AIORateLimiter(max_retries=3),
    )
    errors: Counter[str] = Counter()
    async with bot:
        started = time.monotonic()
        for chat in chats:
            try:
                await bot.send_message(chat, text, parse_mode=ParseMode.HTML, reply_markup=markup)
            except TelegramError as error:
                errors[type(error).__name__] += 1
    copies: Counter[int] = Counter(
        m["chat"]["id"] for m in api.sent[since:] if marker in m.get("text", "")
    )
    stamps = [m["_at"] for m in api.sent[since:] if marker in m.get("text", "")]
    too_many = sum(1 for _m, _p, status in api.calls[since_calls:] if status == 429)
    return Loop(started, min(stamps), max(stamps), len(chats), copies, errors, too_many, len(chats))


# --- printing -----------------------------------------------------------------------------


def describe(broadcast: Broadcast) -> None:
    watch = broadcast.watch
    times = watch.times()
    print(f"   preview: {broadcast.preview_seconds * 1000:.0f} ms after /announce")
    print(f"   📣 → first copy: {(broadcast.first - broadcast.pressed) * 1000:.0f} ms")
    print(
        f"   📣 → last copy: {broadcast.duration:.2f} s for {watch.reached} chats "
        f"({len(times)} copies): {broadcast.rate:.2f} msg/s"
    )
    # Rate second by second (from the press): shows where a run fell behind.
    buckets = Counter(int(t - broadcast.pressed) for t in times)
    seconds = max(buckets) + 1 if buckets else 0
    per_second = [buckets.get(s, 0) for s in range(seconds)]
    print(f"   copies per second after 📣: {' '.join(map(str, per_second))}")
    steady = [t for t in times if t - times[0] >= 1.0]
    if len(steady) > 1:
        print(
            f"   after the first second: {len(steady) / (steady[-1] - times[0] - 1.0 + 1e-9):.2f}"
            " msg/s"
        )
    too_many = broadcast.too_many()
    print(f"   429 answers: {sum(too_many.values())} {dict(too_many) if too_many else ''}")
    duplicates = broadcast.duplicates
    print(
        f"   duplicates: {len(duplicates)} chats "
        f"{dict(list(duplicates.items())[:6]) if duplicates else ''}; "
        f"losses: {broadcast.losses}; copies to other chats: {watch.strays}"
    )
    edits = broadcast.edits()
    ok = [at for at, status in edits if status == 200]
    gaps = [b - a for a, b in itertools.pairwise(ok)]
    gap_text = (
        f"; interval min {min(gaps):.2f} s, median {statistics.median(gaps):.2f} s" if gaps else ""
    )
    print(
        f"   progress messages: {len(watch.progress_messages())}; edits: {len(ok)} "
        f"({len(edits) - len(ok)} refused){gap_text}"
    )
    print(f"   progress message at the end: {broadcast.final_progress_text()!r}")
    summaries = watch.summaries()
    print(f"   summaries: {len(summaries)}")
    for summary in summaries:
        lines = summary["text"].splitlines()
        print("     " + " | ".join(lines[:4]) + (" …" if len(lines) > 4 else ""))
    print(f"   outbox rows: {dict(broadcast.states)}; announcement: {broadcast.state}")


def summary_ok(broadcast: Broadcast, expected: int) -> bool:
    summaries = broadcast.watch.summaries()
    if len(summaries) != 1:
        return False
    text = summaries[0]["text"]
    delivered, failed = DELIVERED.search(text), FAILED.search(text)
    return (
        delivered is not None
        and int(delivered.group(1)) == expected
        and failed is not None
        and int(failed.group(1)) == 0
    )


# --- main ---------------------------------------------------------------------------------


async def bench(
    url: str,
    members: int,
    groups: int,
    kill_at: float,
    desk_users: int = 0,
    desk_think: float = THINK_SECONDS,
) -> int:
    header(f"broadcast: {members} members and {groups} groups at Telegram's limit", url)
    print(f"   load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    api = StampedFakeBotApi()
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    world = await build_world(sessions, api, members, groups, now)
    print(
        f"setup: {len(world.members)} registered members with a private chat "
        f"({world.in_two_councils} in two councils), {len(world.groups)} linked groups, "
        f"in {time.perf_counter() - started:.1f} s; fake limits: {api.limits}"
    )
    expected = len(world.chats)
    verdicts: list[str] = []
    problems: list[str] = []
    await api.start()
    with tempfile.TemporaryDirectory(prefix="dieuphoi-broadcast-") as folder:
        workdir = Path(folder)  # no .env there
        try:
            desk_port = free_port()
            desk_env = (
                {"WEB_URL": f"http://127.0.0.1:{desk_port}", "WEB_PORT": str(desk_port)}
                if desk_users
                else {}
            )
            first = BotProcess(api, url, workdir, "first", desk_env)
            await first.start()
            startup = first.first_poll - first.spawned
            print(f"   dieuphoi run: spawn → first getUpdates {startup:.2f} s")
            users: DeskUsers | None = None
            if desk_users:
                people = await sign_in(sessions, [world.admin.id], world.members, desk_users, now)
                users = DeskUsers(desk_env["WEB_URL"], people, desk_think)
                users.start()
                pace = f"a page every {desk_think:g} s each (after it loaded)"
                print(f"   {desk_users} people on the desk, {pace}")

            print(f"\n-- 1. /announce all, 📣, every copy (one process, {expected} chats)")
            one = await start_broadcast(api, world, "run A", "uninterrupted")
            preview_ok = f"{members} thành viên" in one.preview_text and f"{groups} nhóm" in (
                one.preview_text
            )
            assert first.process is not None
            cpu_before = cpu_seconds(first.process.pid)
            desk_before = children_cpu_seconds(first.process.pid)
            await one.watch.until(lambda: one.watch.reached == expected, COPIES_TIMEOUT)
            await finish_broadcast(one, sessions)
            cpu_one = cpu_seconds(first.process.pid) - cpu_before
            desk_one = children_cpu_seconds(first.process.pid) - desk_before
            clicks = await users.stop() if users is not None else None
            describe(one)
            if clicks is not None:
                print(f"   the desk meanwhile: {clicks.line()}")
            print(
                f"   CPU of the bot process during the broadcast: {cpu_one:.1f} s "
                f"({cpu_one / max(one.duration, 1e-9):.0%} of one core); of the desk's "
                f"process {desk_one:.1f} s ({desk_one / max(one.duration, 1e-9):.0%})"
            )

            print(
                f"\n-- 2. a plain python-telegram-bot loop with AIORateLimiter ({expected} chats)"
            )
            await asyncio.sleep(2.0)  # the chats' flood buckets refill, as between runs
            model = next(
                m for m in api.sent[one.watch.since_sent :] if "(run A)" in m.get("text", "")
            )
            loop = await ptb_loop(api, world.chats, model)
            print(
                f"   first send → last copy: {loop.duration:.2f} s for {len(loop.copies)} chats: "
                f"{loop.rate:.2f} msg/s"
            )
            print(
                f"   429 answers: {loop.too_many}; errors raised to the loop: "
                f"{dict(loop.errors) or 0}; duplicates: {loop.duplicates}; "
                f"losses: {expected - len(loop.copies)}"
            )

            print(f"\n-- 3. kill -9 at {kill_at:.0%} of the copies, then start again")
            await asyncio.sleep(2.0)
            two = await start_broadcast(api, world, "run B", "kill -9")
            await two.watch.until(lambda: two.watch.reached >= expected * kill_at, COPIES_TIMEOUT)
            two.killed = first.kill()
            assert first.process is not None
            await first.process.wait()
            two.watch.scan()
            two.at_kill = two.watch.reached
            two.claimed_at_kill = await claimed(sessions, two.announcement_id)
            second = BotProcess(api, url, workdir, "second")
            two.restarted = time.monotonic()
            await second.start()
            two.restart_poll = second.first_poll
            await two.watch.until(lambda: two.watch.reached == expected, COPIES_TIMEOUT)
            await finish_broadcast(two, sessions)
            times = two.watch.times()
            before = [t for t in times if t < two.restarted]
            after = [t for t in times if t >= two.restarted]
            describe(two)
            print(
                f"   killed after {two.killed - two.pressed:.2f} s with {two.at_kill} chats "
                f"served; rows left claimed by the dead process: {two.claimed_at_kill}"
            )
            print(
                f"   restart: spawn {two.restarted - two.killed:.2f} s after the kill, first "
                f"getUpdates {two.restart_poll - two.restarted:.2f} s later"
            )
            gap = after[0] - before[-1] if before and after else float("nan")
            print(
                f"   time lost: last copy before the kill → first copy after the restart "
                f"{gap:.2f} s; {len(before)} copies before, {len(after)} after"
            )
            lost = two.duration - one.duration
            print(
                f"   duration {two.duration:.2f} s against {one.duration:.2f} s uninterrupted "
                f"(+{lost:.2f} s)"
            )
            if len(after) > 1:
                slow = max(b - a for a, b in itertools.pairwise(after))
                print(f"   longest pause between copies after the restart: {slow:.2f} s")
            problems = first.problems() + second.problems()
            code = await second.stop()
            print(f"   exit code of the second process after SIGTERM: {code}")
        finally:
            await api.stop()
            await engine.dispose()
    if problems:
        print(f"\n   bot warnings/errors logged: {len(problems)}")
        for line in problems[:8]:
            print(f"     {line[:200]}")
    if api.violations:
        print(f"   fake API contract violations: {api.violations[:3]}")

    print("\n-- side by side (same fake, same chats)")
    rows = [
        ("", "dieuphoi", "dieuphoi, kill -9", "PTB AIORateLimiter loop"),
        (
            "start → last copy",
            f"{one.duration:.2f} s",
            f"{two.duration:.2f} s",
            f"{loop.duration:.2f} s",
        ),
        ("rate", f"{one.rate:.2f}/s", f"{two.rate:.2f}/s", f"{loop.rate:.2f}/s"),
        (
            "first → last copy",
            f"{one.sending_rate:.2f}/s",
            f"{two.sending_rate:.2f}/s",
            f"{loop.sending_rate:.2f}/s",
        ),
        (
            "429 answers",
            str(sum(one.too_many().values())),
            str(sum(two.too_many().values())),
            str(loop.too_many),
        ),
        (
            "duplicates / losses",
            f"{len(one.duplicates)} / {one.losses}",
            f"{len(two.duplicates)} / {two.losses}",
            f"{loop.duplicates} / {expected - len(loop.copies)}",
        ),
    ]
    for row in rows:
        print(f"   {row[0]:<22}{row[1]:>14}{row[2]:>20}{row[3]:>26}")

    print("\n-- verdicts")
    one_429 = sum(one.too_many().values())
    two_429 = sum(two.too_many().values())
    progress_one = len(one.watch.progress_messages()) == 1
    edits = [at for at, status in one.edits() if status == 200]
    # The bot spaces its edits by its own clock when it decides; the fake sees them after
    # a commit and an HTTP call, a few tens of milliseconds later or earlier.
    gaps = [b - a for a, b in itertools.pairwise(edits)]
    spaced = all(gap >= 3.0 - 0.2 for gap in gaps)
    verdicts += [
        verdict(preview_ok, f"preview counts {members} members and {groups} groups"),
        verdict(
            one.rate >= TARGET,
            f"rate 📣 → last copy {one.rate:.2f} msg/s ≥ {TARGET:.1f} ({members} members, "
            f"{groups} groups)",
        ),
        verdict(one_429 == 0, f"429 answers: {one_429} (zero)"),
        verdict(
            not one.duplicates and one.losses == 0 and one.watch.strays == 0,
            f"duplicates {len(one.duplicates)}, losses {one.losses} (zero)",
        ),
        verdict(
            progress_one and spaced and one.finished and summary_ok(one, expected),
            f"one progress message, edits 3 s apart ({len(edits)}, closest "
            f"{min(gaps, default=math.nan):.2f} s), one summary: "
            f"{expected} delivered, 0 failed",
        ),
        verdict(
            two_429 == 0 and two.losses == 0 and two.watch.strays == 0,
            f"kill -9 at {kill_at:.0%}: nothing lost ({two.losses}), 429 answers: {two_429}",
        ),
        verdict(
            len(two.duplicates) <= MAX_IN_FLIGHT,
            f"kill -9: repeated copies {len(two.duplicates)} ≤ {MAX_IN_FLIGHT} "
            "(the sends in flight: docs/outbox.md)",
        ),
        verdict(not two.duplicates, f"kill -9: zero duplicates ({len(two.duplicates)})"),
        verdict(
            len(two.watch.progress_messages()) == 1 and two.finished and summary_ok(two, expected),
            "kill -9: one progress message, one summary with every copy delivered",
        ),
    ]
    print(
        f"   (time lost to the kill: {gap:.2f} s between copies, +{lost:.2f} s in all; "
        f"AIORateLimiter loop: {loop.rate:.2f} msg/s, {loop.too_many} × 429)"
    )
    for line in verdicts:
        print("  ", line)
    return 0


def main() -> int:
    arguments = parser(__doc__.splitlines()[0])
    arguments.add_argument("--members", type=int, default=MEMBERS)
    arguments.add_argument("--groups", type=int, default=GROUPS)
    arguments.add_argument(
        "--kill-at", type=float, default=KILL_AT, help="share of the chats served at the kill"
    )
    arguments.add_argument(
        "--desk-users",
        type=int,
        default=0,
        help="people clicking through the desk during the first broadcast (bench/desk_users.py)",
    )
    arguments.add_argument(
        "--desk-think",
        type=float,
        default=THINK_SECONDS,
        help="seconds each desk user reads a page before the next click",
    )
    args = arguments.parse_args()
    with bench_database(args.database_url) as url:
        return asyncio.run(
            bench(url, args.members, args.groups, args.kill_at, args.desk_users, args.desk_think)
        )


if __name__ == "__main__":
    raise SystemExit(main())
