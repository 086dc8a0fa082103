"""The audit trail: every admin action (chat or command line), exports and on-demand
digests included, and what members answer (meeting answers, delegates, status notes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditLog

CLI_ACTOR = "cli"


def telegram_actor(user_id: int) -> str:
    return f"tg:{user_id}"


def record(session: AsyncSession, now: datetime, actor: str, action: str, **details: Any) -> None:
    session.add(AuditLog(at=now, actor=actor, action=action, details=details))
