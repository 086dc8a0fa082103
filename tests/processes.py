"""Real `dieuphoi run` processes in a test: started, read, killed; and what they need."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.db import transaction
from bot.models import Council, Meeting, Member, TelegramUser
from bot.outbox.plan import PRIORITY_MEETING
from bot.outbox.store import NewRow, add_rows
from tests.cli import start_cli
from tests.people import enrol
from tests.rosters import person


class Process:
    """One `dieuphoi run`, its stderr read as it comes (a full pipe would stall it)."""

    def __init__(self, tag: str, process: asyncio.subprocess.Process) -> None:
        self.tag = tag
        self.process = process
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, tag: str, api, env, cwd) -> Process:
        env = dict(env, TELEGRAM_API_BASE_URL=api.base_url_for(tag))
        return cls(tag, await start_cli("run", env=env, cwd=cwd))

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.lines.append(line.decode(errors="replace"))

    @property
    def log(self) -> str:
        return "".join(self.lines)

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        await self._reader

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), 30)
        await self._reader
        return code


async def until(predicate, timeout: float = 60.0, every: float = 0.01) -> None:
    async with asyncio.timeout(timeout):
        while not await value(predicate()):
            await asyncio.sleep(every)


async def value(result):
    return await result if asyncio.iscoroutine(result) else result


async def registered_members(bot, api, count: int, name: str = "Thành viên {i:03d}") -> list:
    """Registered members who have started the bot, written straight to the database:
    a /start dialogue each would spend count/30 s on flood limits before the test."""
    rows = [person("DBSH", name.format(i=i), "BTC") for i in range(count)]
    enrolled = await enrol(bot, *rows)
    users = []
    now = datetime.now(UTC)
    async with transaction(bot.sessions) as session:
        for member, _token in enrolled:
            user = api.add_user(first_name=member.full_name.split()[-1], started=True)
            session.add(
                TelegramUser(
                    id=user.id,
                    first_name=user.first_name,
                    private_chat_ok=True,
                    first_seen_at=now,
                    last_seen_at=now,
                )
            )
            await session.flush()
            row = await session.get(Member, member.id)
            row.telegram_user_id, row.registered_at = user.id, now
            users.append(user)
    return users


async def meeting_reminders_due(sessions, title: str, due_in: float = 0.0) -> int:
    """A meeting in three days and its reminder for every member, due `due_in` seconds
    from now (the real clock: for real processes); returns how many rows were added."""
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        council = await session.scalar(select(Council).where(Council.code == "DBSH"))
        meeting = Meeting(
            council_id=council.id,
            title=title,
            starts_at=now + timedelta(days=3),
            planned_at=now,
            created_at=now,
            created_by="test",
        )
        session.add(meeting)
        await session.flush()
        members = (await session.scalars(select(Member.id))).all()
        rows = [
            NewRow(
                dedupe_key=f"meeting:{meeting.id}:r1:member:{member_id}:T-3d",
                kind="meeting_reminder",
                subject=f"meeting:{meeting.id}",
                due_at=now + timedelta(seconds=due_in),
                expires_at=meeting.starts_at,
                member_id=member_id,
                payload={"meeting_id": meeting.id, "revision": 1, "label": "T-3d"},
                priority=PRIORITY_MEETING,
            )
            for member_id in members
        ]
        return await add_rows(session, rows, now)
