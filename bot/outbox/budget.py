"""One overall send budget for every instance on the database.

Telegram's "about 30 messages per second" is for the bot, however many processes send
for it. Each process keeps its own per-chat windows (bot/outbox/pacing.py: a chat's
messages rarely come from two processes at once), but the overall limit lives in one
database row, `send_budget.next_at`: the next moment at which anyone may send.

Taking a slot is one statement, an upsert that moves `next_at` one interval on and
returns how long to wait for the slot just taken:

    next_at = max(next_at, now) + INTERVAL

PostgreSQL locks the row for the statement and SQLite runs it under its single write
lock, so two processes never get the same slot, and the slots handed out are at least
INTERVAL apart however many ask. This is GCRA ("the next free moment") with no burst:
sends are spread evenly rather than let through thirty at once, because sends of
several processes arrive at Telegram with different delays, and only an even spread
leaves room for that jitter. `now` is the database's clock, so hosts whose clocks
disagree still take turns correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case

from bot.db import Sessionmaker, database_now, insert_for, transaction
from bot.models import SendBudget as Row

# One send every 1/29 s: 29 a second at most, however many instances. Telegram's (and
# the fake's) bucket holds 30 a second; the missing one is room for jitter: a send that
# reaches Telegram 30 ms late still leaves at most 30 in any one second.
INTERVAL = 1 / 29
# A slot further ahead than this means the database's clock stepped back: start again
# from now rather than wait for the clock to catch up.
MAX_AHEAD = 60.0
TELEGRAM = "telegram"


@dataclass(frozen=True)
class Slot:
    at: float  # seconds since 1970, by the database's clock
    wait: float  # seconds from the moment it was taken until `at`


class SharedBudget:
    """The overall budget, shared through the database (the pacer's `budget`)."""

    def __init__(self, sessions: Sessionmaker, interval: float = INTERVAL) -> None:
        self.sessions = sessions
        self.interval = interval

    async def reserve(self) -> float:
        """Take the next free slot; returns the seconds to wait for it."""
        return max(0.0, (await self.take()).wait)

    async def take(self) -> Slot:
        # Its own short transaction: never inside a caller's, whose locks (SQLite's
        # write lock) would make everyone else wait for the caller's send.
        async with transaction(self.sessions) as session:
            now = database_now(session)
            free = case(
                (Row.next_at > now + MAX_AHEAD, now), (Row.next_at > now, Row.next_at), else_=now
            )
            statement = (
                insert_for(session, Row)
                .values(name=TELEGRAM, next_at=now + self.interval)
                .on_conflict_do_update(
                    index_elements=["name"], set_={"next_at": free + self.interval}
                )
                .returning(Row.next_at - self.interval, Row.next_at - self.interval - now)
            )
            at, wait = (await session.execute(statement)).one()
        return Slot(float(at), float(wait))
