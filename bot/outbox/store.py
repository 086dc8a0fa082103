"""Outbox rows in and out: insert once, claim safely, record the outcome.

Claiming is one UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING: on
PostgreSQL two instances skip each other's rows instead of waiting or sending twice;
on SQLite (one writer at a time) the same statement is atomic by itself. A claim is a
lease: a row claimed by a process that died is claimable again once the lease ends,
so a crash between claiming and recording loses nothing (the send may then happen
twice; see docs/outbox.md). Sooner than that, the registry of instances releases the
claims of a process that stopped beating (bot/instances.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import wake
from bot.db import insert_for
from bot.models import Outbox, OutboxState

log = logging.getLogger(__name__)

# A claimed row not recorded within this time is taken to belong to a dead sender
# (the default of OUTBOX_LEASE_SECONDS).
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class NewRow:
    dedupe_key: str
    kind: str
    subject: str
    due_at: datetime
    expires_at: datetime | None = None
    member_id: int | None = None
    group_id: int | None = None
    telegram_user_id: int | None = None
    payload: dict[str, Any] | None = None
    priority: int = 50


async def add_rows(session: AsyncSession, rows: list[NewRow], now: datetime) -> int:
    """Insert rows whose dedupe key is new; returns how many were inserted."""
    if not rows:
        return 0
    values = [
        {
            "dedupe_key": row.dedupe_key,
            "kind": row.kind,
            "subject": row.subject,
            "due_at": row.due_at,
            "expires_at": row.expires_at,
            "member_id": row.member_id,
            "group_id": row.group_id,
            "telegram_user_id": row.telegram_user_id,
            "payload": row.payload or {},
            "priority": row.priority,
            "state": OutboxState.PENDING,
            "attempts": 0,
            "created_at": now,
        }
        for row in rows
    ]
    inserted = 0
    # Chunked: SQLite allows 32766 bound parameters per statement, asyncpg 32767.
    for start in range(0, len(values), 1000):
        statement = (
            insert_for(session, Outbox)
            .values(values[start : start + 1000])
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(Outbox.id)
        )
        inserted += len((await session.execute(statement)).all())
    if inserted:
        await wake.after_commit(session, wake.OUTBOX)
    return inserted


def _claimable(now: datetime, lease: timedelta) -> Any:
    return or_(
        and_(Outbox.state == OutboxState.PENDING, Outbox.due_at <= now),
        and_(Outbox.state == OutboxState.SENDING, Outbox.claimed_at < now - lease),
    )


async def claim_due(
    session: AsyncSession, now: datetime, sender: str, limit: int, lease: timedelta = LEASE
) -> list[Outbox]:
    """Claim up to `limit` due rows for `sender`, most urgent first."""
    # A CTE, not `id IN (subquery)`: PostgreSQL may run such a subquery again for every
    # row it updates (a nested-loop semi-join), and each run skips the rows the earlier
    # ones just locked, so the LIMIT held for each run and the claim took every due row.
    # A CTE runs once.
    chosen = (
        select(Outbox.id)
        .where(_claimable(now, lease))
        .order_by(Outbox.priority, Outbox.due_at, Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("chosen")
    )
    statement = (
        update(Outbox)
        .where(Outbox.id.in_(select(chosen.c.id)), _claimable(now, lease))
        .values(state=OutboxState.SENDING, claimed_by=sender, claimed_at=now)
        .returning(Outbox)
        .execution_options(synchronize_session=False)
    )
    rows = list((await session.scalars(statement)).all())
    rows.sort(key=lambda row: (row.priority, row.due_at, row.id))
    return rows


async def next_due_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(Outbox.due_at)
        .where(Outbox.state == OutboxState.PENDING)
        .order_by(Outbox.due_at)
        .limit(1)
    )


async def finish(
    session: AsyncSession,
    row_id: int,
    sender: str,
    state: OutboxState,
    now: datetime,
    *,
    chat_id: int | None = None,
    message_id: int | None = None,
    error: str | None = None,
) -> bool:
    """Record the outcome of a claimed row; False if the claim was lost meanwhile."""
    values: dict[str, Any] = {"state": state, "attempts": Outbox.attempts + 1}
    if state == OutboxState.SENT:
        values.update(sent_at=now, chat_id=chat_id, message_id=message_id, last_error=None)
    elif state in (OutboxState.SKIPPED, OutboxState.DROPPED):
        values.update(attempts=Outbox.attempts, last_error=error)
    else:
        values.update(last_error=error)
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.claimed_by == sender)
        .values(**values)
        .returning(Outbox.id)
    )
    return result.first() is not None


async def note_progress(
    session: AsyncSession, row_id: int, sender: str, payload: dict[str, Any], now: datetime
) -> None:
    """A claimed row sent in parts: keep how far it got, and renew the claim."""
    await session.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.claimed_by == sender)
        .values(payload=payload, claimed_at=now)
    )


async def retry_later(
    session: AsyncSession,
    row_id: int,
    sender: str,
    due_at: datetime,
    *,
    error: str | None,
    count_attempt: bool = True,
) -> None:
    """Put a claimed row back to wait until `due_at`."""
    await session.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.claimed_by == sender)
        .values(
            state=OutboxState.PENDING,
            due_at=due_at,
            claimed_by=None,
            claimed_at=None,
            last_error=error,
            attempts=Outbox.attempts + (1 if count_attempt else 0),
        )
    )


async def release(session: AsyncSession, sender: str) -> int:
    """Put the rows `sender` has claimed back to wait, due at once: it stopped (cleanly,
    or it was found dead: bot/instances.py). Returns how many."""
    result = await session.execute(
        update(Outbox)
        .where(Outbox.state == OutboxState.SENDING, Outbox.claimed_by == sender)
        .values(state=OutboxState.PENDING, claimed_by=None, claimed_at=None)
        .returning(Outbox.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


async def withdraw(session: AsyncSession, subject: str) -> int:
    """Cancel every row about `subject` that has not gone out yet."""
    result = await session.execute(
        update(Outbox)
        .where(Outbox.subject == subject, Outbox.state == OutboxState.PENDING)
        .values(state=OutboxState.CANCELLED)
        .returning(Outbox.id)
    )
    return len(result.all())


# Rows whose sending is over. Failed rows are kept: they tell of a problem to look into.
FINISHED = (OutboxState.SENT, OutboxState.SKIPPED, OutboxState.DROPPED, OutboxState.CANCELLED)


async def prune(session: AsyncSession, older_than: datetime, limit: int = 5000) -> int:
    """Delete up to `limit` finished rows that were due, and sent, before `older_than`.

    Old enough that the planner never looks back that far (bot/config: the retention is
    longer than its look-back), so a pruned row's key is never planned again.
    """
    chosen = (
        select(Outbox.id)
        .where(
            Outbox.state.in_(FINISHED),
            Outbox.due_at < older_than,
            func.coalesce(Outbox.sent_at, Outbox.due_at) < older_than,
        )
        .limit(limit)
    )
    result = await session.execute(
        delete(Outbox)
        .where(Outbox.id.in_(chosen))
        .returning(Outbox.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())
