"""Council meetings: schedule, move, cancel, list. Reminders go through the outbox."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Msg, msg
from bot.models import WHOLE_CHAT, Meeting
from bot.outbox import store
from bot.outbox.plan import Directory, meeting_change_rows, meeting_subject, plan_meeting
from bot.periods import DueFormatError, parse_due
from bot.schedule import Timing
from bot.services import audit
from bot.services.arguments import one_line, title_of
from bot.services.errors import BadInputError, NotFoundError
from bot.services.form_keys import add_once, check_form_key, made_by_form
from bot.services.groups import council_by_code
from bot.services.people import Requester
from bot.services.permissions import require_admin
from bot.services.visibility import visible_councils

MAX_PLACE = 300


def newmeeting_usage() -> Msg:
    return msg(
        "Usage: /newmeeting COUNCIL DATE HH:MM | TITLE [| PLACE] — DATE as DD/MM/YYYY "
        "(or YYYY-MM-DD)\n"
        "Example: /newmeeting DBSH 03/12/2026 09:00 | Góp ý quy hoạch vùng | Văn phòng Chính phủ"
    )


def movemeeting_usage() -> Msg:
    return msg(
        "Usage: /movemeeting MEETING_ID DATE HH:MM — the id is shown by /meetings; DATE as "
        "DD/MM/YYYY (or YYYY-MM-DD).\n"
        "Example: /movemeeting 5 04/12/2026 14:00"
    )


def cancelmeeting_usage() -> Msg:
    return msg(
        "Usage: /cancelmeeting MEETING_ID — the id is shown by /meetings.\n"
        "Example: /cancelmeeting 5"
    )


@dataclass(frozen=True)
class NewMeeting:
    council_code: str
    starts_at: datetime
    title: str
    place: str | None


# 09:00, 9:00, and the way it is often written in Vietnamese: 9h, 9h30, 9g30.
_TIME = re.compile(r"^(\d{1,2})(?::|h|g)(\d{2})?$", re.IGNORECASE)


def parse_day(text: str) -> date | None:
    """A calendar day written as for a deadline (2026-12-03, 3/12/2026), not a period."""
    try:
        due = parse_due(text)
    except DueFormatError:
        return None
    return due.day if due.period is None else None


def parse_time_of_day(text: str) -> time | None:
    match = _TIME.match(text)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_start(day_text: str, time_text: str, tz: ZoneInfo, now: datetime, usage: Msg) -> datetime:
    """A local date and time, in the future, as UTC; a clear error otherwise."""
    day = parse_day(day_text)
    if day is None:
        raise BadInputError(
            msg("“{text}” is not a valid date (DD/MM/YYYY, e.g. 03/12/2026).", text=day_text), usage
        )
    moment = parse_time_of_day(time_text)
    if moment is None:
        raise BadInputError(
            msg("“{text}” is not a valid time (HH:MM, e.g. 09:00).", text=time_text), usage
        )
    starts_at = datetime.combine(day, moment, tzinfo=tz).astimezone(now.tzinfo)
    if starts_at <= now:
        raise BadInputError(msg("That moment is already in the past."), usage)
    return starts_at


def parse_new_meeting(text: str, tz: ZoneInfo, now: datetime) -> NewMeeting:
    usage = newmeeting_usage()
    parts = [part.strip() for part in text.split("|")]
    if len(parts) < 2 or len(parts) > 3:
        raise BadInputError(
            msg("Separate the date and time, the title and the place with “|”."), usage
        )
    head = parts[0].split()
    if len(head) != 3:
        raise BadInputError(
            msg("Give the council, the date and the time before the first “|”."), usage
        )
    code, day_text, time_text = head
    starts_at = parse_start(day_text, time_text, tz, now, usage)
    title = title_of(parts[1], usage)
    place = one_line(parts[2]) if len(parts) == 3 else ""
    _check_place(place, usage)
    return NewMeeting(code.upper(), starts_at, title, place or None)


@dataclass(frozen=True)
class MeetingFields:
    """The desk's meeting form, as typed: a date (YYYY-MM-DD from a date picker, or as the
    chat takes it) and a time (HH:MM) apart."""

    council: str = ""
    title: str = ""
    day: str = ""
    time: str = ""
    place: str = ""


def parse_meeting_fields(fields: MeetingFields, tz: ZoneInfo, now: datetime) -> NewMeeting:
    """The desk form's values checked as /newmeeting checks its text."""
    usage = newmeeting_usage()
    if not fields.council.strip():
        raise BadInputError(msg("Choose the council."), usage)
    if not fields.day.strip() or not fields.time.strip():
        raise BadInputError(msg("Give the date and the time."), usage)
    starts_at = parse_start(fields.day.strip(), fields.time.strip(), tz, now, usage)
    title = title_of(fields.title, usage)
    place = one_line(fields.place)
    _check_place(place, usage)
    return NewMeeting(fields.council.strip().upper(), starts_at, title, place or None)


def _check_place(place: str, usage: Msg) -> None:
    if len(place) > MAX_PLACE:
        raise BadInputError(
            msg(
                "The place is {length} characters long; at most {limit} are allowed.",
                length=len(place),
                limit=MAX_PLACE,
            ),
            usage,
        )


async def create_meeting(
    session: AsyncSession,
    now: datetime,
    who: Requester | None,
    timing: Timing,
    text: str,
    actor: str,
) -> tuple[Meeting, int]:
    """Schedule a meeting; returns it and how many reminders were planned."""
    require_admin(who)
    new = parse_new_meeting(text, timing.tz, now)
    return await create_new_meeting(session, now, who, timing, new, actor)


async def create_new_meeting(
    session: AsyncSession,
    now: datetime,
    who: Requester | None,
    timing: Timing,
    new: NewMeeting,
    actor: str,
    *,
    form_key: str | None = None,
) -> tuple[Meeting, int]:
    """Schedule a meeting from values already read (/newmeeting's text or the desk's form).

    `form_key`: the desk form's own key; the same form sent again (a double click, back
    and resend) returns the meeting it made the first time, with 0 reminders planned. The
    unique column decides even between two requests at the same instant."""
    require_admin(who)
    check_form_key(form_key)
    made = await made_by_form(session, Meeting, form_key)
    if made is not None:
        return made, 0
    council = await council_by_code(session, new.council_code, newmeeting_usage())
    meeting = Meeting(
        council_id=council.id,
        council=council,
        title=new.title,
        place=new.place,
        starts_at=new.starts_at,
        revision=1,
        planned_at=now,
        created_at=now,
        created_by=actor,
        form_key=form_key,
    )
    saved = await add_once(session, meeting)
    if saved is not meeting:  # the same form, sent again while the first was being saved
        return saved, 0
    planned = await plan_meeting(session, meeting, timing, now)
    audit.record(session, now, actor, "meeting.create", meeting_id=meeting.id, council=council.code)
    return meeting, planned



async def _open_meeting(
    session: AsyncSession, meeting_id_text: str, now: datetime, usage: Msg
) -> Meeting:
    if not meeting_id_text.isdigit() or not meeting_id_text.isascii():
        raise BadInputError(msg("“{text}” is not a meeting id.", text=meeting_id_text), usage)
    meeting = await session.get(Meeting, int(meeting_id_text))
    if meeting is None or meeting.cancelled_at is not None:
        raise NotFoundError(msg("There is no meeting #{id} to change.", id=meeting_id_text))
    if meeting.starts_at <= now:
        raise BadInputError(msg("Meeting #{id} has already started.", id=meeting.id))
    return meeting


async def move_meeting(
    session: AsyncSession,
    now: datetime,
    who: Requester | None,
    timing: Timing,
    args: list[str],
    actor: str,
) -> Meeting:
    require_admin(who)
    usage = movemeeting_usage()
    if len(args) != 3:
        raise BadInputError(msg("Give the meeting id, the new date and the new time."), usage)
    meeting = await _open_meeting(session, args[0], now, usage)
    starts_at = parse_start(args[1], args[2], timing.tz, now, usage)
    if starts_at == meeting.starts_at:
        raise BadInputError(msg("Meeting #{id} is already at that time.", id=meeting.id))
    await _reschedule(session, now, timing, meeting, starts_at, meeting.place, actor)
    return meeting


async def move_meeting_to(
    session: AsyncSession,
    now: datetime,
    who: Requester | None,
    timing: Timing,
    meeting_id: int,
    day: str,
    time_of_day: str,
    place: str,
    actor: str,
) -> Meeting:
    """The desk's move form: a new date and time, and the place (kept, changed or emptied).
    A new place alone is a change the council is told of, as a new time is."""
    require_admin(who)
    usage = movemeeting_usage()
    meeting = await _open_meeting(session, str(meeting_id), now, usage)
    if not day.strip() or not time_of_day.strip():
        raise BadInputError(msg("Give the date and the time."), usage)
    starts_at = parse_start(day.strip(), time_of_day.strip(), timing.tz, now, usage)
    new_place = one_line(place)
    _check_place(new_place, usage)
    if starts_at == meeting.starts_at and (new_place or None) == meeting.place:
        raise BadInputError(
            msg("Meeting #{id} is already at that time and place.", id=meeting.id), usage
        )
    await _reschedule(session, now, timing, meeting, starts_at, new_place or None, actor)
    return meeting


async def _reschedule(
    session: AsyncSession,
    now: datetime,
    timing: Timing,
    meeting: Meeting,
    starts_at: datetime,
    place: str | None,
    actor: str,
) -> None:
    """Withdraw the pending reminders, tell the council, plan the reminders anew."""
    previous, previous_place = meeting.starts_at, meeting.place
    change = "moved" if starts_at != previous else "place"
    await store.withdraw(session, meeting_subject(meeting.id))
    meeting.starts_at = starts_at
    meeting.place = place
    meeting.revision += 1
    meeting.planned_at = now
    await session.flush()
    directory = await Directory.load(session)
    await store.add_rows(session, meeting_change_rows(meeting, change, directory, now), now)
    await plan_meeting(session, meeting, timing, now)
    places = {"place": place, "previous_place": previous_place} if place != previous_place else {}
    audit.record(
        session,
        now,
        actor,
        "meeting.move",
        meeting_id=meeting.id,
        previous=previous.isoformat(),
        starts_at=starts_at.isoformat(),
        **places,
    )


async def cancel_meeting(
    session: AsyncSession, now: datetime, who: Requester | None, args: list[str], actor: str
) -> Meeting:
    require_admin(who)
    usage = cancelmeeting_usage()
    if len(args) != 1:
        raise BadInputError(msg("Give the id of the meeting to cancel."), usage)
    meeting = await _open_meeting(session, args[0], now, usage)
    await store.withdraw(session, meeting_subject(meeting.id))
    meeting.cancelled_at = now
    meeting.revision += 1
    await session.flush()
    directory = await Directory.load(session)
    await store.add_rows(session, meeting_change_rows(meeting, "cancelled", directory, now), now)
    audit.record(session, now, actor, "meeting.cancel", meeting_id=meeting.id)
    return meeting


async def upcoming_meetings(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    code: str | None,
    limit: int = 20,
    *,
    group_chat_id: int | None = None,
    thread_id: int = WHOLE_CHAT,
) -> list[Meeting]:
    """Upcoming meetings of the councils `who` may see (in a group chat: of its council)."""
    councils = await visible_councils(
        session, who, code, group_chat_id=group_chat_id, thread_id=thread_id
    )
    return list(
        (
            await session.scalars(
                select(Meeting)
                .where(
                    Meeting.council_id.in_([c.id for c in councils]),
                    Meeting.cancelled_at.is_(None),
                    Meeting.starts_at > now,
                )
                .order_by(Meeting.starts_at, Meeting.id)
                .limit(limit)
            )
        ).all()
    )
