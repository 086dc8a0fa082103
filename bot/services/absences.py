"""Absences (SPEC §3 /away, /back; §6 "Away"): a member away, and who stands in.

An absence covers local calendar days, both ends included. While it runs (today within
it, not ended by /back) the member gets no task reminders or nudges; when nobody of the
agency who sits in the task's council is left to get them, the stand-in gets them
instead, once each. Meeting reminders still reach the member. The outbox decides this
when it sends (bot/outbox/render.py), from the database: an absence recorded after a
reminder was planned still counts.

A stand-in is a registered member of the same agency, checked when chosen (a forged
button or a CLI typo naming someone of another agency is refused) and again at each
send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Exists, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Msg, msg
from bot.models import Absence, Council, CouncilMembership, Member
from bot.outbox.store import NewRow, add_rows
from bot.services import audit
from bot.services.errors import BadInputError, NotAllowedError, NotFoundError
from bot.services.meetings import parse_day
from bot.services.people import Requester


def away_usage() -> Msg:
    return msg(
        "Usage: /away FROM TO — the first and the last day of your absence, as DD/MM/YYYY.\n"
        "Example: /away 07/12/2026 11/12/2026"
    )


def _not_a_member() -> NotAllowedError:
    return NotAllowedError(msg("Only registered members can record an absence."))


def parse_dates(from_text: str, to_text: str, today: date, usage: Msg) -> tuple[date, date]:
    """The first and last day of an absence: valid dates, not starting before today (today
    is allowed), not ending before they start."""
    days = []
    for text in (from_text, to_text):
        day = parse_day(text)
        if day is None:
            raise BadInputError(
                msg("“{text}” is not a valid date (DD/MM/YYYY, e.g. 03/12/2026).", text=text),
                usage,
            )
        days.append(day)
    starts_on, ends_on = days
    if ends_on < starts_on:
        raise BadInputError(msg("The last day of the absence is before its first day."), usage)
    if starts_on < today:
        raise BadInputError(
            msg("The absence cannot start in the past; the earliest first day is today."), usage
        )
    return starts_on, ends_on


@dataclass(frozen=True)
class Recorded:
    absence: Absence
    # Earlier absences of the member that overlapped the new one: ended, replaced by it.
    replaced: list[Absence]


async def _record(
    session: AsyncSession,
    now: datetime,
    member: Member,
    starts_on: date,
    ends_on: date,
    actor: str,
    stand_in: Member | None,
) -> Recorded:
    """A new absence replaces the member's absences that overlap it (a corrected /away is
    the usual reason to send it twice), so at most one covers any day."""
    overlapping = list(
        (
            await session.scalars(
                select(Absence).where(
                    Absence.member_id == member.id,
                    Absence.ended_at.is_(None),
                    Absence.starts_on <= ends_on,
                    Absence.ends_on >= starts_on,
                )
            )
        ).all()
    )
    for old in overlapping:
        old.ended_at = now
    absence = Absence(
        member_id=member.id,
        starts_on=starts_on,
        ends_on=ends_on,
        stand_in_id=stand_in.id if stand_in else None,
        created_by=actor,
        created_at=now,
    )
    session.add(absence)
    await session.flush()
    audit.record(
        session,
        now,
        actor,
        "member.away",
        member_id=member.id,
        absence_id=absence.id,
        starts_on=starts_on.isoformat(),
        ends_on=ends_on.isoformat(),
        stand_in_id=absence.stand_in_id,
        replaced=[old.id for old in overlapping],
    )
    return Recorded(absence, overlapping)


NOTICE_PRIORITY = 30  # like a task reminder


async def tell_stand_in(session: AsyncSession, now: datetime, absence: Absence) -> None:
    """Tell the chosen stand-in, through the outbox (rendered in their language)."""
    if absence.stand_in_id is None:
        return
    row = NewRow(
        dedupe_key=f"absence:{absence.id}:standin:{absence.stand_in_id}",
        kind="stand_in_notice",
        subject=f"absence:{absence.id}",
        due_at=now,
        member_id=absence.stand_in_id,
        payload={"absence_id": absence.id, "stand_in_id": absence.stand_in_id},
        priority=NOTICE_PRIORITY,
    )
    await add_rows(session, [row], now)


async def stand_in_candidates(session: AsyncSession, member: Member) -> list[Member]:
    """Who may stand in: the other registered members of the same agency, any council."""
    return list(
        (
            await session.scalars(
                select(Member)
                .where(
                    Member.agency_id == member.agency_id,
                    Member.id != member.id,
                    Member.telegram_user_id.is_not(None),
                    Member.removed_at.is_(None),
                )
                .order_by(Member.full_name, Member.id)
            )
        ).all()
    )


async def _check_stand_in(session: AsyncSession, member: Member, stand_in_id: int) -> Member:
    stand_in = await session.get(Member, stand_in_id)
    if (
        stand_in is None
        or stand_in.removed_at is not None
        or stand_in.agency_id != member.agency_id
        or stand_in.id == member.id
    ):
        raise NotAllowedError(
            msg("The stand-in must be another registered member of the same agency.")
        )
    if stand_in.telegram_user_id is None:
        raise NotAllowedError(
            msg(
                "{name} has not registered with the bot yet, so cannot stand in.",
                name=stand_in.full_name,
            )
        )
    return stand_in


@dataclass(frozen=True)
class AwayStarted:
    recorded: Recorded
    candidates: list[Member]


async def go_away(
    session: AsyncSession, now: datetime, today: date, who: Requester, args: list[str]
) -> AwayStarted:
    """/away FROM TO: record the absence (no stand-in yet) and list who may stand in."""
    member = who.member
    if member is None:
        raise _not_a_member()
    usage = away_usage()
    if len(args) != 2:
        raise BadInputError(msg("Give the first and the last day of the absence."), usage)
    starts_on, ends_on = parse_dates(args[0], args[1], today, usage)
    actor = audit.telegram_actor(who.telegram_user_id)
    recorded = await _record(session, now, member, starts_on, ends_on, actor, None)
    return AwayStarted(recorded, await stand_in_candidates(session, member))


async def choose_stand_in(
    session: AsyncSession,
    now: datetime,
    today: date,
    who: Requester,
    absence_id: int,
    stand_in_id: int | None,
) -> Absence:
    """A press on a stand-in button (or "none"), checked now: the absence is the
    presser's and not over, the stand-in is a registered member of the same agency."""
    member = who.member
    if member is None:
        raise _not_a_member()
    absence = await session.get(Absence, absence_id)
    if absence is None or absence.member_id != member.id:
        raise NotFoundError(msg("This absence is not yours, or no longer exists."))
    if absence.ended_at is not None or absence.ends_on < today:
        raise NotAllowedError(msg("This absence is already over."))
    stand_in = await _check_stand_in(session, member, stand_in_id) if stand_in_id else None
    absence.stand_in_id = stand_in.id if stand_in else None
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "member.stand_in",
        member_id=member.id,
        absence_id=absence.id,
        stand_in_id=absence.stand_in_id,
    )
    await session.flush()
    await session.refresh(absence, ["stand_in"])
    await tell_stand_in(session, now, absence)
    return absence


async def come_back(session: AsyncSession, now: datetime, today: date, who: Requester) -> Absence:
    """/back: end the current absence now (or call off the next one, not begun yet)."""
    member = who.member
    if member is None:
        raise _not_a_member()
    absence = await session.scalar(
        select(Absence)
        .where(Absence.member_id == member.id, Absence.ended_at.is_(None), Absence.ends_on >= today)
        .order_by(Absence.starts_on, Absence.id)
        .limit(1)
    )
    if absence is None:
        raise NotFoundError(msg("You have no absence recorded, so there is nothing to end."))
    absence.ended_at = now
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "member.back",
        member_id=member.id,
        absence_id=absence.id,
    )
    return absence


async def away_from_cli(
    session: AsyncSession,
    now: datetime,
    today: date,
    member_id: int,
    from_text: str,
    to_text: str,
    stand_in_id: int | None,
) -> Recorded:
    """`dieuphoi members away MEMBER_ID FROM TO [--stand-in MEMBER_ID]`."""
    usage = msg(
        "Usage: dieuphoi members away MEMBER_ID FROM TO [--stand-in MEMBER_ID] — dates as "
        "DD/MM/YYYY.\nExample: dieuphoi members away 12 07/12/2026 11/12/2026 --stand-in 15"
    )
    member = await session.get(Member, member_id)
    if member is None or member.removed_at is not None:
        raise NotFoundError(msg("There is no member with id {id}.", id=member_id))
    starts_on, ends_on = parse_dates(from_text, to_text, today, usage)
    stand_in = await _check_stand_in(session, member, stand_in_id) if stand_in_id else None
    recorded = await _record(session, now, member, starts_on, ends_on, audit.CLI_ACTOR, stand_in)
    await session.refresh(recorded.absence, ["member", "stand_in"])
    await tell_stand_in(session, now, recorded.absence)
    return recorded


# --- at the moment of sending -------------------------------------------------------------


def _running(today: date) -> list[ColumnElement[bool]]:
    return [Absence.ended_at.is_(None), Absence.starts_on <= today, Absence.ends_on >= today]


async def away_today(session: AsyncSession, today: date) -> dict[int, Absence]:
    """Every absence running today, by member: a handful of rows, read once per session
    (the sender renders a whole batch in one), so a reminder to someone who is not away
    costs no query of its own."""
    cache: dict[date, dict[int, Absence]] = session.info.setdefault("absences_today", {})
    if today not in cache:
        running = await session.scalars(
            select(Absence).where(*_running(today)).order_by(Absence.id)
        )
        cache[today] = {absence.member_id: absence for absence in running}
    return cache[today]


async def current_absence(session: AsyncSession, member_id: int, today: date) -> Absence | None:
    """The member's absence that covers today, if any."""
    return (await away_today(session, today)).get(member_id)


def _present_in_council(council_id: int, agency_id: int, today: date) -> Exists:
    """Some registered member of the agency sits in the council and is not away today."""
    return exists().where(
        CouncilMembership.council_id == council_id,
        CouncilMembership.member_id == Member.id,
        Member.agency_id == agency_id,
        Member.telegram_user_id.is_not(None),
        ~exists().where(Absence.member_id == Member.id, *_running(today)),
    )


@dataclass(frozen=True)
class Handover:
    """A task message for an away member: to nobody, or to `stand_in_id` instead."""

    absence: Absence
    stand_in_id: int | None


async def hand_over(
    session: AsyncSession, member_id: int, council_id: int, agency_id: int, today: date
) -> Handover | None:
    """None when the member is not away today: the task message goes to them. Else the
    stand-in who gets it, when nobody of the agency in that council is left to get it and
    the stand-in is registered, not away, and not a member of that council for the agency
    (who would then be away too, or would have got it)."""
    absence = await current_absence(session, member_id, today)
    if absence is None:
        return None
    stand_in = absence.stand_in
    if stand_in is None or stand_in.telegram_user_id is None or stand_in.removed_at is not None:
        return Handover(absence, None)
    if stand_in.agency_id != agency_id:
        return Handover(absence, None)
    if await session.scalar(select(_present_in_council(council_id, agency_id, today))):
        return Handover(absence, None)  # someone of the agency there still gets it
    if await current_absence(session, stand_in.id, today) is not None:
        return Handover(absence, None)
    return Handover(absence, stand_in.id)


async def may_answer_in(
    session: AsyncSession, who: Requester, council_code: str, today: date | None
) -> bool:
    """Whether a member may answer for their agency on a task of `council_code` (a status,
    a note, a report file): they sit in that council, or on `today` (local) they stand in
    for an away member of their agency who does. The one rule for every way of answering."""
    if council_code in who.council_codes:
        return True
    if who.member is None or today is None:
        return False
    return await stands_in_on(session, who.member, council_code, today)


async def stands_in_on(
    session: AsyncSession, stand_in: Member, council_code: str, today: date
) -> bool:
    """Whether `stand_in` stands in today for an away member of their agency who sits in
    the council: they may then answer for the agency on that council's tasks."""
    found = await session.scalar(
        select(Absence.id)
        .join(Member, Member.id == Absence.member_id)
        .join(CouncilMembership, CouncilMembership.member_id == Member.id)
        .join(Council, Council.id == CouncilMembership.council_id)
        .where(
            Absence.stand_in_id == stand_in.id,
            Member.agency_id == stand_in.agency_id,
            Council.code == council_code,
            *_running(today),
        )
        .limit(1)
    )
    return found is not None


# --- the digest ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AwayLine:
    agency_id: int
    full_name: str
    ends_on: date
    stand_in: str | None


async def council_absences(
    session: AsyncSession, council_id: int, today: date
) -> tuple[list[AwayLine], set[int]]:
    """The council's members away today, and the agencies none of whose registered
    members in the council is there (not to be counted silent because of it)."""
    rows = await session.execute(
        select(Absence, Member.agency_id, Member.full_name)
        .join(Member, Member.id == Absence.member_id)
        .join(CouncilMembership, CouncilMembership.member_id == Member.id)
        .where(CouncilMembership.council_id == council_id, *_running(today))
        .order_by(Member.full_name, Absence.id)
    )
    lines = []
    agencies = set()
    for absence, agency_id, full_name in rows:
        stand_in = absence.stand_in
        lines.append(
            AwayLine(
                agency_id, full_name, absence.ends_on, stand_in.full_name if stand_in else None
            )
        )
        agencies.add(agency_id)
    gone = set()
    for agency_id in agencies:
        if not await session.scalar(select(_present_in_council(council_id, agency_id, today))):
            gone.add(agency_id)
    return lines, gone
