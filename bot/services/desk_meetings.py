"""The desk's meeting pages: the list with each meeting's answers (admins), one meeting's
page with its attendance list (the rows the XLSX export writes), and a member's answer
from their own page. Creating, moving and cancelling go through bot/services/meetings.py
and answering through bot/services/rsvp.py, as the chat's commands and buttons do."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Rsvp
from bot.i18n import msg
from bot.models import Council, CouncilMembership, Meeting, MeetingResponse, Member, RsvpAnswer
from bot.services import rsvp
from bot.services.attendance_export import AttendanceRow, attendance_rows
from bot.services.errors import BadInputError, NotAllowedError, NotFoundError
from bot.services.meetings import upcoming_meetings
from bot.services.people import Requester
from bot.services.permissions import require_admin, require_member

# How far back the list shows meetings already held.
RECENT = timedelta(days=30)
LIST_LIMIT = 300


@dataclass(frozen=True)
class Answers:
    """A meeting's answers among the members seated in its council."""

    attend: int = 0
    absent: int = 0
    delegate: int = 0
    none: int = 0  # not answered


@dataclass(frozen=True)
class ListedMeeting:
    meeting: Meeting
    answers: Answers


@dataclass
class CouncilMeetings:
    council: Council
    upcoming: list[ListedMeeting] = field(default_factory=list)
    recent: list[ListedMeeting] = field(default_factory=list)  # held in the last 30 days


@dataclass
class MeetingList:
    councils: list[CouncilMeetings]
    choices: list[Council]  # the filter's


async def list_meetings(
    session: AsyncSession, who: Requester, now: datetime, council: str | None
) -> MeetingList:
    """Per council: the coming meetings (as /meetings lists them) and those held in the last
    30 days, each with its answers; narrowed to one council when one is named (admins)."""
    require_admin(who)
    choices = list((await session.scalars(select(Council).order_by(Council.id))).all())
    shown = choices
    if council:
        shown = [c for c in choices if c.code == council.strip().upper()]
        if not shown:
            raise BadInputError(msg("Unknown council {code}.", code=council.strip()[:40]))
    upcoming = await upcoming_meetings(
        session, now, who, shown[0].code if council else None, limit=LIST_LIMIT
    )
    recent_query = select(Meeting).where(
        Meeting.cancelled_at.is_(None),
        Meeting.starts_at <= now,
        Meeting.starts_at > now - RECENT,
        Meeting.council_id.in_([c.id for c in shown]),
    )
    recent = list(
        (
            await session.scalars(
                recent_query.order_by(Meeting.starts_at.desc(), Meeting.id.desc()).limit(LIST_LIMIT)
            )
        ).all()
    )
    tallies = await _answers(session, [*upcoming, *recent])
    by_council = {c.id: CouncilMeetings(c) for c in shown}
    for meeting in upcoming:
        by_council[meeting.council_id].upcoming.append(ListedMeeting(meeting, tallies[meeting.id]))
    for meeting in recent:
        by_council[meeting.council_id].recent.append(ListedMeeting(meeting, tallies[meeting.id]))
    return MeetingList(list(by_council.values()), choices)


async def _answers(session: AsyncSession, meetings: list[Meeting]) -> dict[int, Answers]:
    """The counts the attendance list would show: seated members only, the others not
    answered."""
    if not meetings:
        return {}
    seats: dict[int, set[int]] = defaultdict(set)
    for council_id, member_id in await session.execute(
        select(CouncilMembership.council_id, CouncilMembership.member_id)
        .join(Member, Member.id == CouncilMembership.member_id)
        .where(
            CouncilMembership.council_id.in_({m.council_id for m in meetings}),
            Member.removed_at.is_(None),
        )
    ):
        seats[council_id].add(member_id)
    given: dict[int, dict[int, RsvpAnswer]] = defaultdict(dict)
    for meeting_id, member_id, choice in await session.execute(
        select(MeetingResponse.meeting_id, MeetingResponse.member_id, MeetingResponse.answer).where(
            MeetingResponse.meeting_id.in_([m.id for m in meetings])
        )
    ):
        given[meeting_id][member_id] = choice
    result = {}
    for meeting in meetings:
        seated = seats[meeting.council_id]
        tally = Counter(c for m, c in given[meeting.id].items() if m in seated)
        result[meeting.id] = Answers(
            attend=tally[RsvpAnswer.ATTEND],
            absent=tally[RsvpAnswer.ABSENT],
            delegate=tally[RsvpAnswer.DELEGATE],
            none=len(seated) - sum(tally.values()),
        )
    return result


@dataclass(frozen=True)
class MeetingPage:
    meeting: Meeting
    attendance: list[AttendanceRow]
    answers: Answers
    changeable: bool  # neither cancelled nor started: it may be moved or cancelled


async def meeting_page(
    session: AsyncSession, who: Requester, now: datetime, meeting_id: int
) -> MeetingPage:
    """One meeting with everyone invited and their answer (admins)."""
    require_admin(who)
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(msg("There is no meeting #{id}.", id=meeting_id))
    rows = await attendance_rows(session, meeting)
    tally = Counter(row.answer for row in rows)
    return MeetingPage(
        meeting,
        rows,
        Answers(
            attend=tally[RsvpAnswer.ATTEND],
            absent=tally[RsvpAnswer.ABSENT],
            delegate=tally[RsvpAnswer.DELEGATE],
            none=tally[None],
        ),
        changeable=meeting.cancelled_at is None and meeting.starts_at > now,
    )


async def open_meeting(session: AsyncSession, who: Requester, meeting_id: int) -> Meeting:
    """A meeting not cancelled, for an admin to cancel (the confirmation page)."""
    require_admin(who)
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None or meeting.cancelled_at is not None:
        raise NotFoundError(msg("There is no meeting #{id} to change.", id=meeting_id))
    return meeting


ANSWERS = {"attend": Rsvp.ATTEND, "absent": Rsvp.ABSENT, "delegate": Rsvp.DELEGATE}


async def answer_meeting(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    meeting_id: int,
    choice: str,
    delegate: str,
) -> rsvp.Answered:
    """A member's answer from their page: the chat's buttons, and the delegate's name with
    👤. A meeting of a council they are not in is not found to them."""
    require_member(who)
    if who.member is None:  # an admin who sits in no council
        raise NotAllowedError(msg("Only registered members can answer meeting invitations."))
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None or meeting.council.code not in who.council_codes:
        raise NotFoundError(msg("There is no meeting #{id}.", id=meeting_id))
    button = ANSWERS.get(choice)
    if button is None:
        raise BadInputError(
            msg("Unknown answer “{value}”: choose attend, absent or a delegate.", value=choice)
        )
    if button == Rsvp.DELEGATE:
        return await rsvp.answer_with_delegate(session, now, who, meeting_id, delegate)
    return await rsvp.answer(session, now, who, meeting_id, button)
