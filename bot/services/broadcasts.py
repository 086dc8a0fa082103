"""Announcements of the secretariat to one council or to all of them (SPEC §3, §6).

A draft is previewed with its number of recipients; 📣 turns it, exactly once, into one
outbox row per person (a person in several target councils gets one copy) and one per
linked group. The sender paces them with everything else; `progress` reads the rows
back for the admin's progress message and the final summary.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import wake
from bot.db import insert_for
from bot.i18n import Msg, msg
from bot.models import (
    Announcement,
    AnnouncementAck,
    AnnouncementState,
    Council,
    CouncilMembership,
    GroupChat,
    Member,
    Outbox,
    OutboxState,
)
from bot.outbox.store import NewRow, add_rows
from bot.services import audit
from bot.services.errors import BadInputError, NotAllowedError, NotFoundError
from bot.services.form_keys import add_once, check_form_key, made_by_form
from bot.services.groups import council_by_code
from bot.services.people import Requester
from bot.services.permissions import require_admin
from bot.text import TELEGRAM_TEXT_LIMIT, visible_length

ALL = "all"
PRIORITY_BROADCAST = 60
# Copies queued with 📣 itself (two seconds' worth at Telegram's pace); the rest follow.
FIRST_COPIES = 60
# Copies the follower queues per transaction.
COPIES_PER_CHUNK = 200
# Room for the heading the bot puts above the text of each copy.
MAX_TEXT = TELEGRAM_TEXT_LIMIT - 100


def announce_usage() -> Msg:
    return msg(
        "Usage: /announce COUNCIL|all, then the text on the following lines; or reply "
        "/announce COUNCIL to one of your own messages to send that message.\n"
        "Example:\n/announce DBSH\nKính gửi các thành viên Hội đồng: cuộc họp quý IV "
        "dời sang 9:00."
    )


def subject(announcement_id: int) -> str:
    return f"announce:{announcement_id}"


@dataclass(frozen=True)
class Audience:
    member_ids: list[int]
    group_ids: list[int]


@dataclass(frozen=True)
class Draft:
    announcement: Announcement
    audience: Audience
    councils: list[Council]


async def _councils(session: AsyncSession, target: str) -> list[Council]:
    if target.strip().lower() == ALL:
        return list((await session.scalars(select(Council).order_by(Council.id))).all())
    return [await council_by_code(session, target, announce_usage())]


async def audience(session: AsyncSession, councils: list[Council]) -> Audience:
    ids = [c.id for c in councils]
    members = (
        await session.scalars(
            select(Member.id)
            .join(CouncilMembership, CouncilMembership.member_id == Member.id)
            .where(CouncilMembership.council_id.in_(ids), Member.telegram_user_id.is_not(None))
            .distinct()
            .order_by(Member.id)
        )
    ).all()
    groups = (
        await session.scalars(
            select(GroupChat.id).where(GroupChat.council_id.in_(ids)).order_by(GroupChat.id)
        )
    ).all()
    return Audience(list(members), list(groups))


async def draft(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    target: str,
    html: str,
    *,
    form_key: str | None = None,
) -> Draft:
    """A draft, previewed before 📣; nothing is queued yet.

    `form_key`: the desk form's own key; the same form sent again (a double click, back
    and resend) returns the draft it made the first time. The unique column decides even
    between two requests at the same instant."""
    require_admin(who)
    check_form_key(form_key)
    made = await made_by_form(session, Announcement, form_key)
    if made is not None:
        councils = await _councils(session, made.target)
        return Draft(made, await audience(session, councils), councils)
    if not target:
        raise BadInputError(msg("Name the council, or all."), announce_usage())
    councils = await _councils(session, target)
    if not html.strip():
        raise BadInputError(msg("The announcement has no text."), announce_usage())
    length = visible_length(html)
    if length > MAX_TEXT:
        # One copy per person keeps one 👍 per person and a count that means something.
        raise BadInputError(
            msg(
                "The text is {length} characters long; one announcement holds at most "
                "{limit}. Please shorten it, or send it as two announcements.",
                length=length,
                limit=MAX_TEXT,
            )
        )
    announcement = Announcement(
        target=ALL if target.strip().lower() == ALL else councils[0].code,
        html=html,
        state=AnnouncementState.DRAFT,
        created_by=who.telegram_user_id,
        created_at=now,
        form_key=form_key,
    )
    # The same form, sent again while the first was being saved: that one's draft.
    announcement = await add_once(session, announcement)
    return Draft(announcement, await audience(session, councils), councils)



async def _switch(
    session: AsyncSession, announcement_id: int, to: AnnouncementState, **values: object
) -> Announcement | None:
    """Move a draft on, atomically: of two presses, only one finds it still a draft."""
    result = await session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.state == AnnouncementState.DRAFT)
        .values(state=to, **values)
        .returning(Announcement.id)
    )
    if result.first() is None:
        return None
    announcement = await session.get(Announcement, announcement_id, populate_existing=True)
    return announcement


async def confirm(
    session: AsyncSession, now: datetime, who: Requester, announcement_id: int
) -> tuple[Announcement, int]:
    """📣: queue the first copies; returns the announcement and how many copies it has.

    Only FIRST_COPIES are written here: the sender starts on them as soon as this commits,
    while the broadcast follower (jobs/broadcasts.py) writes the rest in chunks of their
    own transactions (`queue_more`). A crash in between loses nothing: the announcement is
    `sending` with `queued_at` unset, and the follower goes on after the restart.
    """
    require_admin(who)
    announcement = await _switch(
        session,
        announcement_id,
        AnnouncementState.SENDING,
        confirmed_by=who.telegram_user_id,
        confirmed_at=now,
    )
    if announcement is None:
        raise NotAllowedError(msg("This announcement has already been sent or cancelled."))
    people = await audience(session, await _councils(session, announcement.target))
    recipients = len(people.member_ids) + len(people.group_ids)
    announcement.recipients = recipients
    await queue_more(session, announcement, now, FIRST_COPIES)
    await wake.after_commit(session, wake.BROADCASTS)
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "announcement.send",
        announcement_id=announcement.id,
        target=announcement.target,
        copies=recipients,
    )
    return announcement, recipients


async def queue_more(
    session: AsyncSession, announcement: Announcement, now: datetime, limit: int
) -> int:
    """Queue up to `limit` copies not queued yet (one per person, one per group); when
    none is left, note that all are queued. Returns how many were queued."""
    people = await audience(session, await _councils(session, announcement.target))
    key = subject(announcement.id)
    queued = (
        await session.execute(
            select(Outbox.member_id, Outbox.group_id).where(Outbox.subject == key)
        )
    ).all()
    have_members = {member for member, _group in queued if member is not None}
    have_groups = {group for _member, group in queued if group is not None}
    common = {
        "kind": "announcement",
        "subject": key,
        "due_at": now,
        "payload": {"announcement_id": announcement.id},
        "priority": PRIORITY_BROADCAST,
    }
    missing = [
        NewRow(dedupe_key=f"{key}:group:{g}", group_id=g, **common)  # type: ignore[arg-type]
        for g in people.group_ids
        if g not in have_groups
    ] + [
        NewRow(dedupe_key=f"{key}:member:{m}", member_id=m, **common)  # type: ignore[arg-type]
        for m in people.member_ids
        if m not in have_members
    ]
    added = await add_rows(session, missing[:limit], now)
    if len(missing) <= limit:
        # Members who registered meanwhile are in too: the count follows.
        announcement.recipients = len(queued) + added
        announcement.queued_at = now
    return added


async def cancel(
    session: AsyncSession, now: datetime, who: Requester, announcement_id: int
) -> Announcement:
    require_admin(who)
    announcement = await _switch(
        session, announcement_id, AnnouncementState.CANCELLED, finished_at=now
    )
    if announcement is None:
        raise NotAllowedError(msg("This announcement has already been sent or cancelled."))
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "announcement.cancel",
        announcement_id=announcement.id,
        target=announcement.target,
    )
    return announcement


async def acknowledge(
    session: AsyncSession, now: datetime, telegram_user_id: int, announcement_id: int
) -> bool:
    """👍: counted once per recipient; returns False for a repeated press.

    Only a recipient counts: a registered member who was in the announcement's audience
    (one of its copies was addressed to them). The copy in a group carries the same
    button for whoever reads the group, so anyone else is refused and nothing is counted.
    A recipient who presses on their private copy and on the group copy counts once.
    """
    announcement = await session.get(Announcement, announcement_id)
    if announcement is None or announcement.state in (
        AnnouncementState.DRAFT,
        AnnouncementState.CANCELLED,
    ):
        raise NotFoundError(msg("This announcement no longer exists."))
    recipient = await session.scalar(
        select(Outbox.id)
        .join(Member, Member.id == Outbox.member_id)
        .where(
            Outbox.subject == subject(announcement_id),
            Member.telegram_user_id == telegram_user_id,
        )
        .limit(1)
    )
    if recipient is None:
        raise NotAllowedError(
            msg(
                "Thank you, but this confirmation is for the recipients of the announcement; "
                "nothing was counted."
            )
        )
    result = await session.execute(
        insert_for(session, AnnouncementAck)
        .values(announcement_id=announcement_id, telegram_user_id=telegram_user_id, at=now)
        .on_conflict_do_nothing(index_elements=["announcement_id", "telegram_user_id"])
        .returning(AnnouncementAck.id)
    )
    return result.first() is not None


@dataclass
class Progress:
    total: int = 0
    delivered: int = 0
    failed: int = 0
    waiting: int = 0
    acks: int = 0
    unreachable: list[str] = field(default_factory=list)  # full names
    failures: list[str] = field(default_factory=list)  # full names or group titles

    @property
    def finished(self) -> bool:
        return self.waiting == 0


async def progress(session: AsyncSession, announcement_id: int) -> Progress:
    rows = (
        await session.execute(
            select(Outbox.state, Outbox.last_error, Member.full_name, GroupChat.title)
            .outerjoin(Member, Member.id == Outbox.member_id)
            .outerjoin(GroupChat, GroupChat.id == Outbox.group_id)
            .where(Outbox.subject == subject(announcement_id))
            .order_by(Outbox.id)
        )
    ).all()
    announcement = await session.get(Announcement, announcement_id)
    # Copies not queued yet are waiting too.
    expected = (announcement.recipients or 0) if announcement is not None else 0
    all_queued = announcement is None or announcement.queued_at is not None
    states: Counter[OutboxState] = Counter()
    result = Progress(total=len(rows) if all_queued else max(len(rows), expected))
    for state, error, name, title in rows:
        states[state] += 1
        who = name or title or "?"
        if state == OutboxState.SKIPPED and error and error.startswith("unreachable"):
            result.unreachable.append(who)
        elif state in (OutboxState.FAILED, OutboxState.SKIPPED, OutboxState.DROPPED):
            result.failures.append(who)
    result.delivered = states[OutboxState.SENT]
    result.failed = len(result.unreachable) + len(result.failures)
    result.waiting = states[OutboxState.PENDING] + states[OutboxState.SENDING]
    if not all_queued:
        result.waiting += max(0, expected - len(rows)) or 1  # unfinished until all queued
    result.acks = (
        await session.scalar(
            select(func.count())
            .select_from(AnnouncementAck)
            .where(AnnouncementAck.announcement_id == announcement_id)
        )
        or 0
    )
    return result


async def has_progress_message(session: AsyncSession, announcement_id: int) -> bool:
    """True once the admin's progress message was posted (and recorded)."""
    message_id = await session.scalar(
        select(Announcement.progress_message_id).where(Announcement.id == announcement_id)
    )
    return message_id is not None


async def attach_progress(
    session: AsyncSession, announcement_id: int, chat_id: int, message_id: int, text: str
) -> None:
    announcement = await session.get(Announcement, announcement_id)
    if announcement is not None:
        announcement.progress_chat_id = chat_id
        announcement.progress_message_id = message_id
        announcement.progress_text = text


async def finish(session: AsyncSession, announcement_id: int, now: datetime) -> bool:
    """Mark a broadcast done once, and queue its summary for the admin who sent it (an
    outbox row: paced, retried, split when long). True for the one caller that did it."""
    result = await session.execute(
        update(Announcement)
        .where(
            Announcement.id == announcement_id,
            Announcement.state == AnnouncementState.SENDING,
        )
        .values(state=AnnouncementState.DONE, finished_at=now)
        .returning(Announcement.confirmed_by)
    )
    done = result.first()
    if done is None:
        return False
    if done.confirmed_by is not None:
        key = f"{subject(announcement_id)}:summary"
        summary = NewRow(
            dedupe_key=key,
            kind="announcement_summary",
            # Not the copies' subject: the progress counts those rows.
            subject=key,
            due_at=now,
            telegram_user_id=done.confirmed_by,
            payload={"announcement_id": announcement_id},
            priority=PRIORITY_BROADCAST - 1,
        )
        await add_rows(session, [summary], now)
    return True


async def sending(session: AsyncSession) -> list[Announcement]:
    return list(
        (
            await session.scalars(
                select(Announcement).where(Announcement.state == AnnouncementState.SENDING)
            )
        ).all()
    )
