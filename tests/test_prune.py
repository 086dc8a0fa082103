"""Old rows are pruned: sent, skipped, dropped and cancelled outbox rows after
OUTBOX_RETENTION_DAYS, finished updates after a week; nothing still to do, and no failed
send, is touched (jobs/prune.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db import transaction
from bot.models import InboxState, InboxUpdate, Outbox, OutboxState
from jobs.prune import prune
from tests.harness import deps_of_app


async def test_old_finished_rows_go_and_everything_else_stays(bot, clock):
    now = clock.now()
    old, recent = now - timedelta(days=91), now - timedelta(days=10)
    outbox = {
        "sent long ago": (OutboxState.SENT, old),
        "dropped long ago": (OutboxState.DROPPED, old),
        "skipped long ago": (OutboxState.SKIPPED, old),
        "cancelled long ago": (OutboxState.CANCELLED, old),
        "sent lately": (OutboxState.SENT, recent),
        "failed long ago": (OutboxState.FAILED, old),
        "pending long ago": (OutboxState.PENDING, old),
    }
    updates = {
        1: (InboxState.DONE, now - timedelta(days=8)),
        2: (InboxState.FAILED, now - timedelta(days=8)),
        3: (InboxState.DONE, now - timedelta(days=2)),
        4: (InboxState.PENDING, None),
        5: (InboxState.HANDLED, None),
    }
    async with transaction(bot.sessions) as session:
        for key, (state, at) in outbox.items():
            session.add(
                Outbox(
                    dedupe_key=key,
                    kind="meeting_reminder",
                    subject="meeting:1",
                    telegram_user_id=1,
                    due_at=at,
                    sent_at=at if state == OutboxState.SENT else None,
                    state=state,
                    created_at=at,
                )
            )
        for update_id, (state, finished) in updates.items():
            session.add(
                InboxUpdate(
                    update_id=update_id,
                    payload={"update_id": update_id},
                    state=state,
                    received_at=now - timedelta(days=9),
                    due_at=now - timedelta(days=9),
                    finished_at=finished,
                )
            )

    assert await prune(deps_of_app(bot.app)) == (4, 2)
    async with bot.sessions() as session:
        kept = set((await session.scalars(select(Outbox.dedupe_key))).all())
        kept_updates = set((await session.scalars(select(InboxUpdate.update_id))).all())
    assert kept == {"sent lately", "failed long ago", "pending long ago"}
    assert kept_updates == {3, 4, 5}
