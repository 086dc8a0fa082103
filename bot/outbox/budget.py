"""One overall send budget for every instance on the database.

Telegram's "about 30 messages per second" is for the bot, however many processes send
for it. Each process keeps its own per-chat windows (bot/outbox/pacing.py: a chat's
messages rarely come from two processes at once), but the overall limit lives in the
database as TOKENS rows of `send_budget`, one per send a second may hold. Each row's
`next_at` is when its token may be used again: WINDOW after its last use. One more
row, the head, only serves to queue the takers.

Taking a slot: take the token free soonest and move it on,

    next_at = max(next_at, now) + WINDOW

and wait until the moment it was free. A token is used at most once in any WINDOW, so
there are at most TOKENS sends in any WINDOW, whichever instances send them. This is the
sliding window of the pacer, shared: a quiet moment leaves tokens free, so the sends of
a new batch start at once instead of losing the gap, as an evenly spaced schedule would.
Takers queue on the head row (PostgreSQL) or on the write lock (SQLite), a millisecond
each. `now` is the database's clock, so hosts whose clocks disagree still take turns
correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Sessionmaker, database_now, insert_for, transaction
from bot.models import SendBudget as Token

# Telegram's (and the fake's) thirty a second...
TOKENS = 30
# ...counted over a little more than a second: a send that reaches Telegram up to 30 ms
# later than another (network, a busy process) still leaves at most 30 in any second.
# 30 per 1.03 s is 29.1 a second at most, however many instances.
WINDOW = 1.03
# A token free further ahead than this means the database's clock stepped back: count
# from now rather than wait for the clock to catch up.
MAX_AHEAD = 60.0
TELEGRAM = "telegram"


@dataclass(frozen=True)
class Slot:
    at: float  # seconds since 1970, by the database's clock
    wait: float  # seconds from the moment it was taken until `at`


class SharedBudget:
    """The overall budget, shared through the database (the pacer's `budget`)."""

    def __init__(self, sessions: Sessionmaker, tokens: int = TOKENS, window: float = WINDOW):
        self.sessions = sessions
        self.tokens = tokens
        self.window = window

    async def reserve(self) -> float:
        """Take the next free slot; returns the seconds to wait for it."""
        return max(0.0, (await self.take()).wait)

    async def take(self) -> Slot:
        # Its own short transaction: never inside a caller's, whose locks (SQLite's
        # write lock) would make everyone else wait for the caller's send.
        async with transaction(self.sessions) as session:
            slot = await self._take(session)
            if slot is None:  # a new database: no tokens yet
                await self._create_tokens(session)
        if slot is None:
            async with transaction(self.sessions) as session:
                slot = await self._take(session)
        if slot is None:
            raise RuntimeError("the send tokens could not be created")
        return slot

    async def _take(self, session: AsyncSession) -> Slot | None:
        # Takers queue on the head row (SQLite: on its write lock), so each one sees the
        # tokens as the one before left them and gets the soonest. Without it, two
        # PostgreSQL transactions could pick the same token, and the second, reading it
        # again once the first committed, would take it a whole window late.
        head = select(Token.name).where(Token.name == TELEGRAM).with_for_update()
        if await session.scalar(head) is None:
            return None
        now = database_now(session)
        soonest = (
            select(Token.name)
            .where(Token.name.like(f"{TELEGRAM}:%"))
            .order_by(Token.next_at, Token.name)
            .limit(1)
            .cte("soonest")  # run once (see store.claim_due)
        )
        free = case(
            (Token.next_at > now + MAX_AHEAD, now), (Token.next_at > now, Token.next_at), else_=now
        )
        statement = (
            update(Token)
            .where(Token.name.in_(select(soonest.c.name)))
            .values(next_at=free + self.window)
            .returning(Token.next_at - self.window, Token.next_at - self.window - now)
            .execution_options(synchronize_session=False)
        )
        at, wait = (await session.execute(statement)).one()
        return Slot(float(at), float(wait))

    async def _create_tokens(self, session: AsyncSession) -> None:
        names = [TELEGRAM] + [f"{TELEGRAM}:{i:02d}" for i in range(self.tokens)]
        await session.execute(
            insert_for(session, Token)
            .values([{"name": name, "next_at": 0.0} for name in names])
            .on_conflict_do_nothing(index_elements=["name"])
        )
