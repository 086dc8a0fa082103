"""Secretariat admins."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import msg
from bot.models import Admin
from bot.services import audit
from bot.services.errors import BadInputError


async def is_admin(session: AsyncSession, telegram_user_id: int) -> bool:
    return await session.get(Admin, telegram_user_id) is not None


async def admin_ids(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(Admin.telegram_user_id))).all())


async def add_admin(
    session: AsyncSession, now: datetime, telegram_user_id: int, name: str | None, actor: str
) -> bool:
    """Make a Telegram user an admin; returns False when they already were (name updated)."""
    if telegram_user_id <= 0:
        raise BadInputError(msg("A Telegram user id is a positive number, e.g. 123456789."))
    existing = await session.get(Admin, telegram_user_id)
    if existing is not None:
        if name:
            existing.name = name
        return False
    session.add(Admin(telegram_user_id=telegram_user_id, name=name, added_at=now, added_by=actor))
    audit.record(session, now, actor, "admin.add", telegram_user_id=telegram_user_id, name=name)
    return True


async def ensure_admins(
    session: AsyncSession, now: datetime, telegram_user_ids: Iterable[int]
) -> list[int]:
    """Make the ADMIN_TELEGRAM_IDS admins at start-up; returns the ids newly added."""
    added = []
    for user_id in telegram_user_ids:
        if await add_admin(session, now, user_id, None, "config"):
            added.append(user_id)
    return added
