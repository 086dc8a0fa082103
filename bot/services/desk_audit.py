"""The desk's audit log (admins): the audit records newest first, narrowed by person
(actor), action and a range of days in the councils' time zone, a page at a time."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, msg
from bot.models import Agency, AuditLog, Member, TelegramUser
from bot.services.audit import CLI_ACTOR
from bot.services.errors import BadInputError
from bot.services.people import Requester
from bot.services.permissions import require_admin

PAGE_SIZE = 100
MAX_PAGE = 100_000
TELEGRAM_PREFIX = "tg:"


@dataclass(frozen=True)
class AuditFilter:
    """What the log is narrowed to, as typed (empty: no limit)."""

    actor: str = ""
    action: str = ""
    since: str = ""  # YYYY-MM-DD, the first day shown
    until: str = ""  # YYYY-MM-DD, the last day shown
    page: str = ""  # 1 (the newest) when empty


@dataclass(frozen=True)
class AuditEntry:
    record: AuditLog
    actor: str  # the person's name, or the raw actor
    action: str  # a readable label, or the raw action
    details: list[tuple[str, str]]  # shown literally


@dataclass
class AuditPage:
    entries: list[AuditEntry] = field(default_factory=list)
    page: int = 1
    older: bool = False  # another page of older records matches


@dataclass(frozen=True)
class AuditChoices:
    actors: list[tuple[str, str]]  # (actor, label)
    actions: list[tuple[str, str]]  # (action, label)


def action_labels() -> dict[str, str]:
    """Readable names of the actions recorded most; any other shows as recorded."""
    return {
        "announcement.send": _("Announcement sent"),
        "announcement.cancel": _("Announcement cancelled"),
        "task.create": _("Task created"),
        "task.edit": _("Task edited"),
        "task.cancel": _("Task cancelled"),
        "task.report": _("Task status reported"),
        "task.note": _("Note on a task"),
        "task.file": _("Report file received"),
        "meeting.create": _("Meeting scheduled"),
        "meeting.move": _("Meeting moved"),
        "meeting.cancel": _("Meeting cancelled"),
        "meeting.rsvp": _("Meeting answer"),
        "meeting.delegate": _("Delegate named"),
        "member.register": _("Member registered"),
        "member.away": _("Absence recorded"),
        "member.back": _("Absence ended"),
        "roster.import": _("Roster imported"),
        "group.link": _("Group linked"),
        "group.unlink": _("Group unlinked"),
        "digest.post": _("Digest posted"),
        "desk.sign_in": _("Signed in to the desk"),
    }


def _day(value: str, what: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not 1970 <= day.year <= 9000:
        raise BadInputError(
            msg("{field}: {value} is not a date (YYYY-MM-DD).", field=what, value=value[:40])
        )
    return day


def _page(value: str) -> int:
    if not value:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise BadInputError(msg("There is no page {value}.", value=value[:20]))
    return int(value)


def _start_of(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


async def _names(session: AsyncSession, actors: list[str]) -> dict[str, str]:
    """'Full name (AGENCY)' of each Telegram actor on a roster, else their Telegram name."""
    ids = {
        int(actor[len(TELEGRAM_PREFIX) :])
        for actor in actors
        if actor.startswith(TELEGRAM_PREFIX) and actor[len(TELEGRAM_PREFIX) :].lstrip("-").isdigit()
    }
    names: dict[str, str] = {CLI_ACTOR: _("command line")}
    if not ids:
        return names
    users = (
        await session.execute(
            select(TelegramUser.id, TelegramUser.first_name, TelegramUser.last_name).where(
                TelegramUser.id.in_(ids)
            )
        )
    ).all()
    for user_id, first, last in users:
        names[f"{TELEGRAM_PREFIX}{user_id}"] = " ".join(part for part in (first, last) if part)
    members = (
        await session.execute(
            select(Member.telegram_user_id, Member.full_name, Agency.code)
            .join(Agency, Agency.id == Member.agency_id)
            .where(Member.telegram_user_id.in_(ids))
        )
    ).all()
    for member_user, full_name, agency in members:
        names[f"{TELEGRAM_PREFIX}{member_user}"] = f"{full_name} ({agency})"
    return names


async def choices(session: AsyncSession, who: Requester) -> AuditChoices:
    """The people and actions the filter form offers: those in the log."""
    require_admin(who)
    actors = list((await session.scalars(select(AuditLog.actor).distinct())).all())
    actions = list((await session.scalars(select(AuditLog.action).distinct())).all())
    names, labels = await _names(session, actors), action_labels()
    return AuditChoices(
        actors=sorted(((a, names.get(a) or a) for a in actors), key=lambda c: c[1].lower()),
        actions=sorted(((a, labels.get(a, a)) for a in actions), key=lambda c: c[1].lower()),
    )


async def audit_page(
    session: AsyncSession, who: Requester, tz: tzinfo, wanted: AuditFilter
) -> AuditPage:
    """The records matching `wanted`, newest first, PAGE_SIZE a page."""
    require_admin(who)
    since = _day(wanted.since, _("From date"))
    until = _day(wanted.until, _("To date"))
    if since and until and since > until:
        raise BadInputError(msg("The first day comes after the last day."))
    page = _page(wanted.page)
    query = select(AuditLog)
    if wanted.actor:
        query = query.where(AuditLog.actor == wanted.actor)
    if wanted.action:
        query = query.where(AuditLog.action == wanted.action)
    if since:
        query = query.where(AuditLog.at >= _start_of(since, tz))
    if until:
        query = query.where(AuditLog.at < _start_of(until + timedelta(days=1), tz))
    rows = list(
        (
            await session.scalars(
                query.order_by(AuditLog.at.desc(), AuditLog.id.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE + 1)
            )
        ).all()
    )
    shown = rows[:PAGE_SIZE]
    names, labels = await _names(session, [row.actor for row in shown]), action_labels()
    entries = [
        AuditEntry(
            record=row,
            actor=names.get(row.actor) or row.actor,
            action=labels.get(row.action, row.action),
            details=[(str(key), _shown(value)) for key, value in (row.details or {}).items()]
            + ([("note", row.note)] if row.note else []),
        )
        for row in shown
    ]
    return AuditPage(entries=entries, page=page, older=len(rows) > PAGE_SIZE)
