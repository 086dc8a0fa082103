"""Inbox rows in and out: store an update once, handle it once, finish it.

An update is inserted before Telegram is told it arrived; a second delivery of the same
update id inserts nothing (`store` returns only the new ones). The handling's own
transaction turns the row from `pending` to `handled` (`mark_handled`): of two attempts
at the same update only one finds it pending, so its changes are made once. The replies
written with it are sent afterwards; `finish` then closes the row.

Rows are claimed by the instance that stored them. An instance that stops (cleanly, or
found dead by the heartbeat) gives its unfinished rows back (`release`), and `claim`
lets any instance take rows that are due and unclaimed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import InboxState, InboxUpdate

# Rows waiting to be handled, or handled with replies still to send.
UNFINISHED = (InboxState.PENDING, InboxState.HANDLED)
# An error text kept on a row is cut to this length.
MAX_ERROR = 500


@dataclass(frozen=True)
class Stored:
    """An update as the flow handles it: its id, its raw JSON, whose it is, and what is
    left to do (`replies` is None while it has not been handled)."""

    update_id: int
    payload: dict[str, Any]
    person: int | None
    attempts: int = 0
    replies: list[Any] | None = None


def person_of(payload: dict[str, Any]) -> int | None:
    """Whose update this is, from the raw JSON: the sender, else the chat.

    Read from the JSON, not from a parsed Update: an update python-telegram-bot cannot
    parse must still queue behind its sender's other updates, and fail alone.
    """
    for key, value in payload.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        sender = value.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
        chat = value.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
        message = value.get("message")  # a callback query's message
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            chat_id = message["chat"].get("id")
            return int(chat_id) if isinstance(chat_id, int) else None
    return None


# The busiest statements (every update passes through them) are built once, in Core,
# and run on the session's connection: building an ORM statement for each update cost as
# much as running it (docs/benchmarks.md §4).
_INBOX: Table = InboxUpdate.__table__  # type: ignore[assignment]
_STORE = {
    dialect: insert.on_conflict_do_nothing(index_elements=["update_id"]).returning(
        _INBOX.c.update_id
    )
    for dialect, insert in (("sqlite", sqlite_insert(_INBOX)), ("postgresql", pg_insert(_INBOX)))
}
_MARK_HANDLED = (
    update(_INBOX)
    .where(_INBOX.c.update_id == bindparam("b_id"), _INBOX.c.state == InboxState.PENDING)
    .values(state=InboxState.HANDLED, replies=bindparam("b_replies"), due_at=bindparam("b_now"))
    .returning(_INBOX.c.update_id)
)
_FINISH = (
    update(_INBOX)
    .where(
        _INBOX.c.update_id.in_(bindparam("b_ids", expanding=True)),
        _INBOX.c.state.in_(UNFINISHED),
    )
    .values(
        state=bindparam("b_state"), finished_at=bindparam("b_now"), claimed_by=None, replies=None
    )
)


async def store(
    session: AsyncSession, updates: Sequence[dict[str, Any]], now: datetime, instance: str
) -> list[Stored]:
    """Insert the updates not seen before, claimed by `instance`; returns those."""
    if not updates:
        return []
    rows = [Stored(int(u["update_id"]), u, person_of(u)) for u in updates]
    values = [
        {
            "update_id": row.update_id,
            "payload": row.payload,
            "person": row.person,
            "state": InboxState.PENDING,
            "attempts": 0,
            "received_at": now,
            "due_at": now,
            "claimed_by": instance,
        }
        for row in rows
    ]
    connection = await session.connection()
    statement = _STORE[connection.dialect.name]
    new = {int(i) for i in (await connection.execute(statement, values)).scalars().all()}
    return [row for row in rows if row.update_id in new]


async def mark_handled(
    session: AsyncSession, update_id: int, replies: list[Any], now: datetime
) -> bool:
    """In the handling's transaction: the update is handled, with these replies to send.

    False when it is not pending any more (handled by another attempt): the caller then
    rolls its changes back. On PostgreSQL a concurrent attempt waits for this row's lock
    and then finds it handled.
    """
    connection = await session.connection()
    result = await connection.execute(
        _MARK_HANDLED, {"b_id": update_id, "b_replies": replies, "b_now": now}
    )
    return result.first() is not None


async def finish(
    session: AsyncSession, update_ids: Iterable[int], state: InboxState, now: datetime
) -> None:
    """Close rows: answered (`done`), given up (`failed`) or skipped (`dropped`)."""
    ids = list(update_ids)
    if not ids:
        return
    connection = await session.connection()
    await connection.execute(_FINISH, {"b_ids": ids, "b_state": state, "b_now": now})


async def fail(session: AsyncSession, update_id: int, error: str, now: datetime) -> None:
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(
            state=InboxState.FAILED,
            error=error[:MAX_ERROR],
            finished_at=now,
            claimed_by=None,
            replies=None,
        )
    )


async def try_again(
    session: AsyncSession, update_id: int, error: str, due_at: datetime, *, count: bool = True
) -> int:
    """A try failed: put the update back for `due_at`, for any instance; returns the
    attempts made so far."""
    attempts = await session.scalar(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(
            attempts=InboxUpdate.attempts + (1 if count else 0),
            error=error[:MAX_ERROR],
            due_at=due_at,
            claimed_by=None,
        )
        .returning(InboxUpdate.attempts)
    )
    return int(attempts or 0)


async def replies_left(
    session: AsyncSession, update_id: int, replies: list[Any], due_at: datetime
) -> None:
    """Some replies of a handled update could not be sent yet: keep the rest for later."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.state == InboxState.HANDLED)
        .values(replies=replies, due_at=due_at, claimed_by=None)
    )


async def keep_replies(session: AsyncSession, update_id: int, replies: list[Any]) -> None:
    """The replies of a handled update still to say (the earlier ones are said)."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.state == InboxState.HANDLED)
        .values(replies=replies)
    )


async def claim(session: AsyncSession, instance: str, now: datetime, limit: int) -> list[Stored]:
    """Take unfinished, due rows that nobody holds (or this instance holds already),
    oldest first."""
    claimable = (
        InboxUpdate.state.in_(UNFINISHED),
        InboxUpdate.due_at <= now,
        or_(InboxUpdate.claimed_by.is_(None), InboxUpdate.claimed_by == instance),
    )
    chosen = (
        select(InboxUpdate.update_id)
        .where(*claimable)
        .order_by(InboxUpdate.update_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("chosen")  # run once (see bot/outbox/store.claim_due)
    )
    rows = (
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_(select(chosen.c.update_id)), *claimable)
            .values(claimed_by=instance)
            .returning(
                InboxUpdate.update_id,
                InboxUpdate.payload,
                InboxUpdate.person,
                InboxUpdate.attempts,
                InboxUpdate.state,
                InboxUpdate.replies,
            )
            .execution_options(synchronize_session=False)
        )
    ).all()
    found = [
        Stored(
            int(update_id),
            payload,
            person,
            attempts,
            (replies or []) if state == InboxState.HANDLED else None,
        )
        for update_id, payload, person, attempts, state, replies in rows
    ]
    found.sort(key=lambda s: s.update_id)
    return found


async def next_due_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(InboxUpdate.due_at)
        .where(InboxUpdate.state.in_(UNFINISHED), InboxUpdate.claimed_by.is_(None))
        .order_by(InboxUpdate.due_at)
        .limit(1)
    )


async def release(session: AsyncSession, instance: str) -> int:
    """Give the unfinished rows of `instance` back (it stopped, or was found dead)."""
    result = await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.claimed_by == instance, InboxUpdate.state.in_(UNFINISHED))
        .values(claimed_by=None)
        .returning(InboxUpdate.update_id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


async def prune(session: AsyncSession, older_than: datetime) -> int:
    """Delete finished rows older than `older_than`; returns how many."""
    result = await session.execute(
        delete(InboxUpdate)
        .where(
            InboxUpdate.state.not_in(UNFINISHED),
            InboxUpdate.finished_at < older_than,
        )
        .returning(InboxUpdate.update_id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


def backoff(attempts: int) -> timedelta:
    """How long a failed update waits before its next try: 2 s, 10 s, 30 s…"""
    return (timedelta(seconds=2), timedelta(seconds=10), timedelta(seconds=30))[
        min(max(attempts, 1), 3) - 1
    ]
