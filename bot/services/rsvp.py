"""Answers to meeting invitations (✅ attend · ❌ absent · 👤 send a delegate).

Checked at the moment of the press: a registered member of the meeting's council, the
meeting neither cancelled nor started. A member may change the answer until it starts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Rsvp
from bot.i18n import msg
from bot.models import Meeting, MeetingResponse, RsvpAnswer
from bot.services import audit, questions, reports
from bot.services.errors import BadInputError, NotAllowedError, NotFoundError
from bot.services.people import Requester

MAX_DELEGATE = 300

ANSWER_OF_BUTTON = {
    Rsvp.ATTEND: RsvpAnswer.ATTEND,
    Rsvp.ABSENT: RsvpAnswer.ABSENT,
    Rsvp.DELEGATE: RsvpAnswer.DELEGATE,
}
BUTTON_OF_ANSWER = {answer: button for button, answer in ANSWER_OF_BUTTON.items()}


@dataclass(frozen=True)
class Answered:
    response: MeetingResponse
    meeting: Meeting
    changed: bool


async def answer(
    session: AsyncSession, now: datetime, who: Requester, meeting_id: int, button: Rsvp
) -> Answered:
    member = who.member
    if member is None:
        raise NotAllowedError(msg("Only registered members can answer meeting invitations."))
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None or meeting.cancelled_at is not None:
        raise NotFoundError(msg("This meeting has been cancelled or no longer exists."))
    if meeting.starts_at <= now:
        raise NotAllowedError(msg("This meeting has already started; answers are closed."))
    if meeting.council.code not in who.council_codes:
        raise NotAllowedError(msg("You are not a member of this meeting's council."))
    choice = ANSWER_OF_BUTTON[button]
    response = await session.scalar(
        select(MeetingResponse).where(
            MeetingResponse.meeting_id == meeting.id, MeetingResponse.member_id == member.id
        )
    )
    if response is None:
        response = MeetingResponse(
            meeting_id=meeting.id, member_id=member.id, answer=choice, answered_at=now
        )
        session.add(response)
        await session.flush()
        _record_answer(session, now, who, response, previous=None)
        return Answered(response, meeting, changed=True)
    changed = response.answer != choice
    if changed or choice == RsvpAnswer.DELEGATE:
        # 👤 again asks again for the name: the question's time starts now.
        response.answered_at = now
    if changed:
        previous = response.answer
        response.answer = choice
        if choice != RsvpAnswer.DELEGATE:
            response.delegate = None
        _record_answer(session, now, who, response, previous=previous)
    return Answered(response, meeting, changed)


def _record_answer(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    response: MeetingResponse,
    previous: RsvpAnswer | None,
) -> None:
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "meeting.rsvp",
        meeting_id=response.meeting_id,
        member_id=response.member_id,
        answer=response.answer.value,
        previous=previous.value if previous is not None else None,
    )


def expect_prompt(response: MeetingResponse, chat_id: int) -> None:
    """The bot is about to ask for the delegate in `chat_id` (its message id follows)."""
    response.prompt_chat_id, response.prompt_message_id = chat_id, None


async def attach_prompt(
    session: AsyncSession, response_id: int, chat_id: int, message_id: int
) -> None:
    response = await session.get(MeetingResponse, response_id)
    if response is not None:
        response.prompt_chat_id, response.prompt_message_id = chat_id, message_id


async def set_delegate(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    chat_id: int,
    replied_to: int,
    text: str,
    *,
    to_the_bot: bool = True,
    replied_at: datetime | None = None,
) -> MeetingResponse | None:
    """A reply to the bot's "who goes instead?" question; None if it is not one.

    Matched by the question's message id; a question whose id is not recorded yet takes
    the reply only as bot/services/questions.py says (`replied_at`: when the replied-to
    bot message was sent), and never a reply to a note question or a task reminder.
    """
    if who.member is None:
        return None
    asked_here = and_(
        MeetingResponse.prompt_chat_id == chat_id, MeetingResponse.member_id == who.member.id
    )
    matches = [MeetingResponse.prompt_message_id == replied_to]
    fresh = questions.being_asked(
        MeetingResponse.answered_at, now, replied_at, to_the_bot=to_the_bot
    )
    if fresh is not None:
        newest = (
            select(MeetingResponse.id)
            .where(asked_here)
            .order_by(MeetingResponse.answered_at.desc(), MeetingResponse.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        matches.append(
            and_(
                MeetingResponse.prompt_message_id.is_(None),
                MeetingResponse.id == newest,
                MeetingResponse.answer == RsvpAnswer.DELEGATE,
                fresh,
            )
        )
    response = await session.scalar(
        select(MeetingResponse)
        .where(asked_here, or_(*matches))
        # The question replied to, if its id is known, before one being asked.
        .order_by(MeetingResponse.prompt_message_id.is_(None), MeetingResponse.answered_at.desc())
        .limit(1)
    )
    if response is None:
        return None
    if response.prompt_message_id is None and await reports.answers_a_task(
        session, chat_id, replied_to
    ):
        return None  # a reply to a note question or a reminder: a note, not a delegate
    meeting = await session.get(Meeting, response.meeting_id)
    if meeting is None or meeting.cancelled_at is not None or meeting.starts_at <= now:
        raise NotAllowedError(msg("This meeting has already started; answers are closed."))
    _record_delegate(session, now, who, response, delegate_name(text))
    return response


def delegate_name(text: str) -> str:
    """The delegate's name and position as written, on one line; refused if empty or long."""
    delegate = " ".join(text.split())
    if not delegate:
        raise BadInputError(msg("Please write the delegate's name and position."))
    if len(delegate) > MAX_DELEGATE:
        raise BadInputError(
            msg(
                "That is {length} characters long; at most {limit} are allowed.",
                length=len(delegate),
                limit=MAX_DELEGATE,
            )
        )
    return delegate


async def answer_with_delegate(
    session: AsyncSession, now: datetime, who: Requester, meeting_id: int, text: str
) -> Answered:
    """👤 and the delegate's name at once (the desk's form): the chat's press of 👤 and
    its reply with the name, checked and recorded the same way."""
    delegate = delegate_name(text)  # checked first: a refused name writes nothing
    answered = await answer(session, now, who, meeting_id, Rsvp.DELEGATE)
    if answered.response.delegate != delegate:
        _record_delegate(session, now, who, answered.response, delegate)
    return answered


def _record_delegate(
    session: AsyncSession, now: datetime, who: Requester, response: MeetingResponse, delegate: str
) -> None:
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "meeting.delegate",
        meeting_id=response.meeting_id,
        member_id=response.member_id,
        delegate=delegate,
        previous=response.delegate,
    )
    response.answer = RsvpAnswer.DELEGATE
    response.delegate = delegate
    response.answered_at = now


async def counts(session: AsyncSession, meeting_ids: list[int]) -> dict[int, Counter[RsvpAnswer]]:
    result: dict[int, Counter[RsvpAnswer]] = {m: Counter() for m in meeting_ids}
    if not meeting_ids:
        return result
    rows = await session.execute(
        select(MeetingResponse.meeting_id, MeetingResponse.answer, func.count())
        .where(MeetingResponse.meeting_id.in_(meeting_ids))
        .group_by(MeetingResponse.meeting_id, MeetingResponse.answer)
    )
    for meeting_id, choice, number in rows:
        result[meeting_id][choice] = number
    return result


async def answers_of(
    session: AsyncSession, member_id: int, meeting_ids: list[int]
) -> dict[int, MeetingResponse]:
    if not meeting_ids:
        return {}
    rows = await session.scalars(
        select(MeetingResponse).where(
            MeetingResponse.member_id == member_id, MeetingResponse.meeting_id.in_(meeting_ids)
        )
    )
    return {r.meeting_id: r for r in rows}
