"""Taking people off the roster: a whole member, or one council seat.

What a member reported (status reports, notes, meeting answers) stays, and so does the
member row that those point to; what goes is their access: the seats, the Telegram
account bound to them, their unused invitation links, and the messages still waiting in
the outbox for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import msg
from bot.models import (
    Council,
    CouncilMembership,
    InviteToken,
    Meeting,
    Member,
    Outbox,
    OutboxState,
    Task,
)
from bot.outbox.plan import meeting_subject, task_subject
from bot.services import audit
from bot.services.desk import end_sessions_of
from bot.services.errors import NotFoundError
from bot.services.groups import council_by_code


@dataclass(frozen=True)
class Removal:
    member: Member
    councils: list[str]  # the codes of the seats taken away
    already: bool  # nothing to do: removed before, or no seat in that council
    cancelled: int  # messages waiting in the outbox that will not be sent


async def remove_member(
    session: AsyncSession, now: datetime, member_id: int, actor: str, council_code: str | None
) -> Removal:
    """`members remove MEMBER_ID [--council CODE]`. Running it twice changes nothing more."""
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFoundError(msg("There is no member with id {id}.", id=member_id))
    if council_code is not None:
        council = await council_by_code(session, council_code)
        membership = await _seat(session, member.id, council.id)
        if membership is None:
            return Removal(member, [], already=True, cancelled=0)
        cancelled = await remove_seat(session, now, membership, actor)
        return Removal(member, [council.code], already=False, cancelled=cancelled)
    if member.removed_at is not None:
        return Removal(member, [], already=True, cancelled=0)

    seats = (
        await session.scalars(
            select(CouncilMembership).where(CouncilMembership.member_id == member.id)
        )
    ).all()
    codes = sorted(seat.council.code for seat in seats)
    for seat in seats:
        await session.delete(seat)
    revoked = await session.execute(
        update(InviteToken)
        .where(
            InviteToken.member_id == member.id,
            InviteToken.used_at.is_(None),
            InviteToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    # Deleted, not cancelled: a member put back on the roster later gets the reminders
    # still to come planned again (a cancelled row would keep its dedupe key).
    withdrawn = await session.execute(
        delete(Outbox).where(Outbox.member_id == member.id, Outbox.state == OutboxState.PENDING)
    )
    telegram_user_id = member.telegram_user_id
    sessions_ended = (
        await end_sessions_of(session, now, telegram_user_id) if telegram_user_id else 0
    )
    member.telegram_user_id = None
    member.registered_at = None
    member.removed_at, member.removed_by = now, actor
    member.updated_at = now
    audit.record(
        session,
        now,
        actor,
        "member.remove",
        member_id=member.id,
        full_name=member.full_name,
        councils=codes,
        telegram_user_id=telegram_user_id,
        invites_revoked=_count(revoked),
        outbox_cancelled=_count(withdrawn),
        desk_sessions_ended=sessions_ended,
    )
    return Removal(member, codes, already=False, cancelled=_count(withdrawn))


async def remove_seat(
    session: AsyncSession,
    now: datetime,
    membership: CouncilMembership,
    actor: str,
    *,
    by_import: bool = False,
) -> int:
    """Take one council seat away; returns how many waiting messages were cancelled.

    The member's reminders about that council's meetings and tasks stop; anything else
    waiting for them (another council's, an announcement) still goes out.
    """
    council: Council = membership.council
    member_id = membership.member_id
    meeting_ids = (
        await session.scalars(select(Meeting.id).where(Meeting.council_id == council.id))
    ).all()
    task_ids = (await session.scalars(select(Task.id).where(Task.council_id == council.id))).all()
    subjects = {meeting_subject(i) for i in meeting_ids}
    subjects |= {f"{meeting_subject(i)}:change" for i in meeting_ids}
    subjects |= {task_subject(i) for i in task_ids}
    # The member's own waiting rows are few; the council's subjects may be many.
    waiting = (
        await session.execute(
            select(Outbox.id, Outbox.subject).where(
                Outbox.member_id == member_id, Outbox.state == OutboxState.PENDING
            )
        )
    ).all()
    doomed = [row_id for row_id, subject in waiting if subject in subjects]
    if doomed:
        # Deleted, not cancelled: a seat given back later gets its reminders planned again.
        await session.execute(
            delete(Outbox).where(Outbox.id.in_(doomed), Outbox.state == OutboxState.PENDING)
        )
    await session.delete(membership)
    # The desk reads rights at every click anyway; signing the person out as well makes
    # the change plain to them (they sign in again with what they still may see).
    telegram_user_id = await session.scalar(
        select(Member.telegram_user_id).where(Member.id == member_id)
    )
    sessions_ended = (
        await end_sessions_of(session, now, telegram_user_id) if telegram_user_id else 0
    )
    audit.record(
        session,
        now,
        actor,
        "member.seat_remove",
        member_id=member_id,
        council=council.code,
        role=membership.role.value,
        outbox_cancelled=len(doomed),
        by_import=by_import,
        desk_sessions_ended=sessions_ended,
    )
    return len(doomed)


async def _seat(session: AsyncSession, member_id: int, council_id: int) -> CouncilMembership | None:
    return await session.scalar(
        select(CouncilMembership).where(
            CouncilMembership.member_id == member_id, CouncilMembership.council_id == council_id
        )
    )


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
