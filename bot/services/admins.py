"""Secretariat admins.

An admin comes from `admin add` (the command line), or from ADMIN_TELEGRAM_IDS at start-up
(`added_by` "config"). `admin remove` takes the right away at once and keeps the row, so
that start-up does not give it back: ADMIN_TELEGRAM_IDS adds an id only while it was never
removed by hand, and takes away the admins it added once they are no longer listed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import msg
from bot.models import Admin
from bot.services import audit
from bot.services.errors import BadInputError, NotFoundError

log = logging.getLogger(__name__)

CONFIG_ACTOR = "config"


async def is_admin(session: AsyncSession, telegram_user_id: int) -> bool:
    admin = await session.get(Admin, telegram_user_id)
    return admin is not None and admin.removed_at is None


async def admin_ids(session: AsyncSession) -> list[int]:
    return list(
        (
            await session.scalars(select(Admin.telegram_user_id).where(Admin.removed_at.is_(None)))
        ).all()
    )


async def removed_admin_ids(session: AsyncSession) -> list[int]:
    """Admins whose right was taken away (their command menu must lose the admin part)."""
    return list(
        (
            await session.scalars(
                select(Admin.telegram_user_id).where(Admin.removed_at.is_not(None))
            )
        ).all()
    )


async def add_admin(
    session: AsyncSession, now: datetime, telegram_user_id: int, name: str | None, actor: str
) -> bool:
    """Make a Telegram user an admin; returns False when they already were (name updated).

    Also gives the right back to an admin who was removed. An admin who came from
    ADMIN_TELEGRAM_IDS and is added by hand stays when the setting no longer lists them.
    """
    _check_id(telegram_user_id)
    existing = await session.get(Admin, telegram_user_id)
    if existing is not None and existing.removed_at is None:
        if name:
            existing.name = name
        if existing.added_by == CONFIG_ACTOR and actor != CONFIG_ACTOR:
            existing.added_by = actor
            audit.record(session, now, actor, "admin.add", telegram_user_id=telegram_user_id)
        return False
    if existing is None:
        session.add(
            Admin(telegram_user_id=telegram_user_id, name=name, added_at=now, added_by=actor)
        )
    else:
        existing.name = name or existing.name
        existing.added_at, existing.added_by = now, actor
        existing.removed_at = existing.removed_by = None
    audit.record(
        session,
        now,
        actor,
        "admin.add",
        telegram_user_id=telegram_user_id,
        name=name,
        again=existing is not None,
    )
    return True


async def remove_admin(
    session: AsyncSession, now: datetime, telegram_user_id: int, actor: str
) -> Admin:
    """Take the admin right away now; it counts from this person's next action on."""
    _check_id(telegram_user_id)
    admin = await session.get(Admin, telegram_user_id)
    if admin is None or admin.removed_at is not None:
        raise NotFoundError(msg("{id} is not an admin.", id=telegram_user_id))
    admin.removed_at, admin.removed_by = now, actor
    # Here: bot.services.desk reads bot.services.people, which reads this module.
    from bot.services.desk import end_sessions_of

    sessions_ended = await end_sessions_of(session, now, telegram_user_id)
    audit.record(
        session,
        now,
        actor,
        "admin.remove",
        telegram_user_id=telegram_user_id,
        name=admin.name,
        added_by=admin.added_by,
        desk_sessions_ended=sessions_ended,
    )
    return admin


async def ensure_admins(
    session: AsyncSession, now: datetime, telegram_user_ids: Iterable[int]
) -> list[int]:
    """Apply ADMIN_TELEGRAM_IDS at start-up; returns the ids newly made admins.

    A listed id becomes an admin unless `admin remove` took it away (that wins: a warning
    is logged). An admin who came from the setting and is no longer listed is removed.
    Admins added with `admin add` are left alone.
    """
    listed = list(dict.fromkeys(telegram_user_ids))
    known = {
        admin.telegram_user_id: admin for admin in (await session.scalars(select(Admin))).all()
    }
    added = []
    for user_id in listed:
        admin = known.get(user_id)
        if admin is not None and admin.removed_at is not None and admin.removed_by != CONFIG_ACTOR:
            log.warning(
                "ADMIN_TELEGRAM_IDS lists %s, but `dieuphoi admin remove` took that admin "
                "right away (%s): not made an admin again; `dieuphoi admin add %s` gives it back",
                user_id,
                admin.removed_by,
                user_id,
            )
            continue
        if await add_admin(session, now, user_id, None, CONFIG_ACTOR):
            added.append(user_id)
    for user_id, admin in known.items():
        unlisted = user_id not in listed and admin.removed_at is None
        if unlisted and admin.added_by == CONFIG_ACTOR:
            await remove_admin(session, now, user_id, CONFIG_ACTOR)
            log.info("admin %s removed: no longer in ADMIN_TELEGRAM_IDS", user_id)
    return added


def _check_id(telegram_user_id: int) -> None:
    if telegram_user_id <= 0:
        raise BadInputError(msg("A Telegram user id is a positive number, e.g. 123456789."))
