"""Linking council group chats, and forum topics.

A link is for a place: a plain group as a whole, a forum group's General topic (both
thread WHOLE_CHAT), or one topic of a forum group. One place holds one council; one
council has at most one place in a given group (linking it in another topic moves it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Msg, msg
from bot.models import WHOLE_CHAT, ChatLanguage, Council, GroupChat
from bot.outbox.store import NewRow, add_rows
from bot.services import audit
from bot.services.admins import admin_ids
from bot.services.errors import BadInputError, NotFoundError
from bot.services.people import Requester, supported_language
from bot.services.permissions import require_admin

# Kind of the outbox rows telling the admins that a linked topic was deleted.
TOPIC_LOST = "topic_lost"


@dataclass(frozen=True)
class LinkResult:
    council: Council
    previous: Council | None  # the council this place was linked to before, if another
    already: bool
    # The council was linked to another topic of this group (or its topic was lost):
    # that link moved here.
    moved: bool = False


async def council_by_code(session: AsyncSession, code: str, *usage: Msg) -> Council:
    """The council with this code; an unknown one is refused, listing the known codes
    (and the command's usage when given)."""
    council = await session.scalar(select(Council).where(Council.code == code.strip().upper()))
    if council is None:
        known = (await session.scalars(select(Council.code).order_by(Council.id))).all()
        raise NotFoundError(
            msg(
                "Unknown council {code}. Known councils: {known}.",
                code=code.strip(),
                known=", ".join(known) or "—",
            ),
            *usage,
        )
    return council


async def council_codes(session: AsyncSession) -> list[str]:
    return list((await session.scalars(select(Council.code).order_by(Council.id))).all())


async def _links_in(session: AsyncSession, chat_id: int) -> list[GroupChat]:
    return list(
        (
            await session.scalars(
                select(GroupChat).where(GroupChat.chat_id == chat_id).order_by(GroupChat.id)
            )
        ).all()
    )


async def link_group(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    chat_id: int,
    title: str,
    code: str,
    thread_id: int = WHOLE_CHAT,
) -> LinkResult:
    """/link COUNCIL in a group (`thread_id` WHOLE_CHAT) or inside a forum topic."""
    require_admin(who)
    if not code.strip():
        raise BadInputError(msg("Name the council, e.g. /link DBSH"))
    council = await council_by_code(session, code)
    links = await _links_in(session, chat_id)
    here = next((g for g in links if g.thread_id == thread_id), None)
    if here is not None and here.council_id == council.id:
        here.title = title[:255]
        here.topic_lost_at = None  # the command came from the topic: it is there
        return LinkResult(council, None, already=True)
    previous = here.council if here is not None else None
    # The council's link elsewhere in this group: it moves here (one place per group, so
    # that a digest is not posted twice in one group).
    elsewhere = next((g for g in links if g.council_id == council.id), None)
    if elsewhere is not None:
        if here is not None:
            await session.delete(here)
            await session.flush()  # the place must be free before the link moves into it
        group = elsewhere
    elif here is not None:
        group = here
    else:
        group = GroupChat(chat_id=chat_id, council_id=council.id)
        session.add(group)
    group.council_id = council.id
    group.thread_id = thread_id
    group.topic_lost_at = None
    group.title = title[:255]
    group.linked_at = now
    group.linked_by = who.telegram_user_id
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "group.link",
        chat_id=chat_id,
        thread_id=thread_id or None,
        council=council.code,
        previous=previous.code if previous else None,
        moved_from=None if elsewhere is None else elsewhere.thread_id or None,
    )
    return LinkResult(council, previous, already=False, moved=elsewhere is not None)


async def unlink_group(
    session: AsyncSession, now: datetime, who: Requester, chat_id: int, thread_id: int = WHOLE_CHAT
) -> list[Council]:
    """/unlink inside a topic unlinks that topic; in a plain group or a forum's General
    topic, whatever posts there: its own link and those whose topic was deleted."""
    require_admin(who)
    links = await _links_in(session, chat_id)
    if thread_id == WHOLE_CHAT:
        gone = [g for g in links if g.thread_id == WHOLE_CHAT or g.topic_lost_at is not None]
    else:
        gone = [g for g in links if g.thread_id == thread_id]
    if not gone:
        if thread_id != WHOLE_CHAT:
            raise NotFoundError(msg("This topic is not linked to any council."))
        raise NotFoundError(msg("This group is not linked to any council."))
    councils = []
    for group in gone:
        councils.append(group.council)
        await session.delete(group)
        audit.record(
            session,
            now,
            audit.telegram_actor(who.telegram_user_id),
            "group.unlink",
            chat_id=chat_id,
            thread_id=group.thread_id or None,
            council=group.council.code,
        )
    return councils


async def linked_council(
    session: AsyncSession, chat_id: int, thread_id: int = WHOLE_CHAT
) -> Council | None:
    """The council whose place this is: the topic's own link, else the group's (a topic
    nobody linked belongs to the group as a whole); in General, failing those, a council
    whose topic was deleted (it posts there now)."""
    links = await _links_in(session, chat_id)
    for wanted in (thread_id, WHOLE_CHAT):
        found = next((g for g in links if g.thread_id == wanted), None)
        if found is not None:
            return found.council
    if thread_id == WHOLE_CHAT:
        lost = next((g for g in links if g.topic_lost_at is not None), None)
        if lost is not None:
            return lost.council
    return None


async def topic_gone(
    session: AsyncSession, now: datetime, group_id: int, thread_id: int
) -> GroupChat | None:
    """Telegram answered "message thread not found" for the link's topic: from now on the
    council's posts go to the group's General topic, and each admin is told once, in
    their language (an outbox row, rendered by bot/outbox/render.py). Returns the link,
    None when it is gone or no longer for that topic (linked again meanwhile)."""
    group = await session.get(GroupChat, group_id)
    if group is None or group.thread_id != thread_id or thread_id == WHOLE_CHAT:
        return None
    if group.topic_lost_at is not None:
        return group
    group.topic_lost_at = now
    payload = {
        "group_id": group.id,
        "council_id": group.council_id,
        "title": group.title,
        "thread_id": thread_id,
    }
    await add_rows(
        session,
        [
            NewRow(
                dedupe_key=f"{TOPIC_LOST}:{group.id}:{thread_id}:admin:{admin}",
                kind=TOPIC_LOST,
                subject=f"group:{group.id}",
                due_at=now,
                expires_at=now + timedelta(days=7),
                telegram_user_id=admin,
                payload=payload,
            )
            for admin in await admin_ids(session)
        ],
        now,
    )
    audit.record(
        session,
        now,
        "telegram",
        "group.topic_lost",
        chat_id=group.chat_id,
        thread_id=thread_id,
        council=group.council.code,
    )
    return group


async def group_migrated(session: AsyncSession, now: datetime, old_id: int, new_id: int) -> bool:
    """A group became a supergroup: keep its link under the new chat id."""
    links = await _links_in(session, old_id)
    if not links:
        return False
    for group in links:
        group.chat_id = new_id
    language = await session.get(ChatLanguage, old_id)
    if language is not None:
        # The primary key moves: a new row, the old one gone (an UPDATE of a key is not
        # what the ORM does for a changed identity).
        session.add(
            ChatLanguage(
                chat_id=new_id,
                language=language.language,
                set_at=language.set_at,
                set_by=language.set_by,
            )
        )
        await session.delete(language)
    audit.record(session, now, "telegram", "group.migrate", old_chat_id=old_id, new_chat_id=new_id)
    return True


async def bot_removed(session: AsyncSession, now: datetime, chat_id: int, by_user: int) -> bool:
    """The bot left or was removed from a group: its links (every topic's) would only fail."""
    links = await _links_in(session, chat_id)
    for group in links:
        await session.delete(group)
        audit.record(
            session,
            now,
            audit.telegram_actor(by_user),
            "group.removed",
            chat_id=chat_id,
            thread_id=group.thread_id or None,
            council=group.council.code,
        )
    return bool(links)


async def group_language(session: AsyncSession, chat_id: int, default: str) -> str:
    """The language the bot uses in a group: the one an admin set there, else the
    councils' default. Groups are read by many people, so not any one reader's."""
    chosen = await session.scalar(
        select(ChatLanguage.language).where(ChatLanguage.chat_id == chat_id)
    )
    return chosen or default


async def set_group_language(
    session: AsyncSession, now: datetime, who: Requester, chat_id: int, language: str
) -> str:
    """`/lang` in a group: an admin sets the group's language (anyone else is refused)."""
    require_admin(who)
    code = supported_language(language)
    row = await session.get(ChatLanguage, chat_id)
    previous = row.language if row is not None else None
    if row is None:
        row = ChatLanguage(chat_id=chat_id)
        session.add(row)
    row.language, row.set_at, row.set_by = code, now, who.telegram_user_id
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "group.language",
        chat_id=chat_id,
        language=code,
        previous=previous,
    )
    return code
