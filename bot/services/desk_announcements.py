"""The desk's announcements (admins): compose, preview with the audience counted, confirm,
then follow the progress and the 👍 — through the same service as /announce
(`broadcasts`), so the same checks, the same once-only 📣 and the same audit records apply.

The desk's text area holds plain text: it is escaped, as Telegram escapes the text of an
admin's message before /announce sends it on, so `<b>` typed in the form reaches members
as the four characters `<b>`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import current_locale, msg
from bot.models import (
    Agency,
    Announcement,
    AnnouncementAck,
    AnnouncementState,
    Council,
    CouncilMembership,
    Member,
    TelegramUser,
)
from bot.outbox.render import announcement_heading
from bot.services import broadcasts
from bot.services.errors import NotAllowedError, NotFoundError
from bot.services.people import Requester
from bot.services.permissions import require_admin
from bot.text import escape, visible_length, visible_text

RECENT_LIMIT = 50
# What one announcement may hold, as the form says (the bot's heading takes the rest).
MAX_TEXT = broadcasts.MAX_TEXT


@dataclass(frozen=True)
class Headcount:
    """Who a draft would reach, counted before 📣."""

    on_roster: int  # people on the rosters of the target councils
    registered: int  # with a Telegram account: one copy each
    reachable: int  # of those, reachable in private
    not_started: int  # registered, but never started the bot (or blocked it)
    groups: int  # linked group chats: one copy each


@dataclass(frozen=True)
class Acknowledged:
    agency: str  # the agency's name, or "" for someone no longer on a roster
    names: list[str]


@dataclass
class AnnouncementView:
    announcement: Announcement
    heading: str  # the bot's heading above the text, as members see it
    text: str  # the text as members see it
    councils: list[Council]
    headcount: Headcount | None = None  # a draft's
    progress: broadcasts.Progress | None = None  # once confirmed
    acknowledged: list[Acknowledged] = field(default_factory=list)

    @property
    def draft(self) -> bool:
        return self.announcement.state == AnnouncementState.DRAFT

    @property
    def length(self) -> int:
        """As Telegram counts it (what the limit is about)."""
        return visible_length(self.announcement.html)

    @property
    def sending(self) -> bool:
        return self.announcement.state == AnnouncementState.SENDING


def form_text(text: str) -> str:
    """The form's text as it is kept: line ends of any browser as '\\n', no blank edges."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


async def councils(session: AsyncSession, who: Requester) -> list[Council]:
    """The targets the form offers, after 'all'."""
    require_admin(who)
    return list((await session.scalars(select(Council).order_by(Council.id))).all())


async def compose(
    session: AsyncSession, now: datetime, who: Requester, target: str, text: str, form_key: str
) -> Announcement:
    """A draft from the form (nothing queued); the same form sent twice makes one."""
    made = await broadcasts.draft(
        session, now, who, target, escape(form_text(text)), form_key=form_key
    )
    return made.announcement


async def _announcement(
    session: AsyncSession, who: Requester, announcement_id: int
) -> Announcement:
    require_admin(who)
    announcement = await session.get(Announcement, announcement_id)
    if announcement is None:
        raise NotFoundError(msg("This announcement no longer exists."))
    return announcement


async def _target_councils(session: AsyncSession, announcement: Announcement) -> list[Council]:
    query = select(Council).order_by(Council.id)
    if announcement.target != broadcasts.ALL:
        query = query.where(Council.code == announcement.target)
    return list((await session.scalars(query)).all())


async def headcount(session: AsyncSession, councils: list[Council]) -> Headcount:
    ids = [council.id for council in councils]
    people = (
        await session.execute(
            select(Member.id, Member.telegram_user_id, TelegramUser.private_chat_ok)
            .join(CouncilMembership, CouncilMembership.member_id == Member.id)
            .outerjoin(TelegramUser, TelegramUser.id == Member.telegram_user_id)
            .where(CouncilMembership.council_id.in_(ids), Member.removed_at.is_(None))
            .distinct()
        )
    ).all()
    audience = await broadcasts.audience(session, councils)
    registered = [p for p in people if p.telegram_user_id is not None]
    reachable = sum(1 for p in registered if p.private_chat_ok)
    return Headcount(
        on_roster=len({p.id for p in people}),
        registered=len(audience.member_ids),
        reachable=reachable,
        not_started=len(registered) - reachable,
        groups=len(audience.group_ids),
    )


async def acknowledged(session: AsyncSession, announcement_id: int) -> list[Acknowledged]:
    """Who pressed 👍, by agency (agencies and names in alphabetical order)."""
    rows = (
        await session.execute(
            select(Member.full_name, Agency.name_vi, Agency.name_en, TelegramUser.first_name)
            .select_from(AnnouncementAck)
            .outerjoin(Member, Member.telegram_user_id == AnnouncementAck.telegram_user_id)
            .outerjoin(Agency, Agency.id == Member.agency_id)
            .outerjoin(TelegramUser, TelegramUser.id == AnnouncementAck.telegram_user_id)
            .where(AnnouncementAck.announcement_id == announcement_id)
        )
    ).all()
    vi = current_locale() == "vi"
    by_agency: dict[str, list[str]] = defaultdict(list)
    for full_name, name_vi, name_en, first_name in rows:
        agency = (name_vi if vi else name_en) or ""
        by_agency[agency].append(full_name or first_name or "?")
    return [
        Acknowledged(agency, sorted(names))
        for agency, names in sorted(by_agency.items(), key=lambda item: (not item[0], item[0]))
    ]


async def announcement_page(
    session: AsyncSession, who: Requester, announcement_id: int
) -> AnnouncementView:
    """A draft's preview with its headcount, or a confirmed one's progress and 👍."""
    announcement = await _announcement(session, who, announcement_id)
    view = AnnouncementView(
        announcement=announcement,
        heading=visible_text(announcement_heading()),
        text=visible_text(announcement.html),
        councils=await _target_councils(session, announcement),
    )
    if announcement.state == AnnouncementState.DRAFT:
        view.headcount = await headcount(session, view.councils)
    elif announcement.state != AnnouncementState.CANCELLED:
        view.progress = await broadcasts.progress(session, announcement.id)
        view.acknowledged = await acknowledged(session, announcement.id)
    return view


async def confirm(
    session: AsyncSession, now: datetime, who: Requester, announcement_id: int
) -> Announcement:
    """📣 from the desk. Confirming again what is already on its way (a double click, a
    resent form) changes nothing: the same broadcast, not a second one."""
    announcement = await _announcement(session, who, announcement_id)
    try:
        confirmed, _copies = await broadcasts.confirm(session, now, who, announcement_id)
    except NotAllowedError:
        await session.refresh(announcement)
        if announcement.state in (AnnouncementState.SENDING, AnnouncementState.DONE):
            return announcement
        raise  # cancelled
    return confirmed


async def withdraw(
    session: AsyncSession, now: datetime, who: Requester, announcement_id: int
) -> Announcement:
    """Edit: the draft is cancelled (never sent), and its text goes back into the form."""
    announcement = await _announcement(session, who, announcement_id)
    if announcement.state == AnnouncementState.CANCELLED:
        return announcement  # pressed twice
    return await broadcasts.cancel(session, now, who, announcement_id)


async def text_of(session: AsyncSession, who: Requester, announcement_id: int) -> tuple[str, str]:
    """The target and the text of an announcement, to fill the form again."""
    announcement = await _announcement(session, who, announcement_id)
    return announcement.target, visible_text(announcement.html)


async def recent(session: AsyncSession, who: Requester) -> list[AnnouncementView]:
    """The latest announcements, drafts left unsent included, newest first."""
    require_admin(who)
    found = (
        await session.scalars(
            select(Announcement).order_by(Announcement.id.desc()).limit(RECENT_LIMIT)
        )
    ).all()
    return [
        AnnouncementView(
            announcement=announcement,
            heading="",
            text=visible_text(announcement.html),
            councils=[],
        )
        for announcement in found
    ]
