"""Linking council group chats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Msg, msg
from bot.models import ChatLanguage, Council, GroupChat
from bot.services import audit
from bot.services.errors import BadInputError, NotFoundError
from bot.services.people import Requester, supported_language
from bot.services.permissions import require_admin


@dataclass(frozen=True)
class LinkResult:
    council: Council
    previous: Council | None  # the council this group was linked to before, if another
    already: bool


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


async def link_group(
    session: AsyncSession, now: datetime, who: Requester, chat_id: int, title: str, code: str
) -> LinkResult:
    require_admin(who)
    if not code.strip():
        raise BadInputError(msg("Name the council, e.g. /link DBSH"))
    council = await council_by_code(session, code)
    group = await session.scalar(select(GroupChat).where(GroupChat.chat_id == chat_id))
    if group is not None and group.council_id == council.id:
        group.title = title[:255]
        return LinkResult(council, None, already=True)
    previous = group.council if group is not None else None
    if group is None:
        group = GroupChat(chat_id=chat_id, council_id=council.id)
        session.add(group)
    group.council_id = council.id
    group.title = title[:255]
    group.linked_at = now
    group.linked_by = who.telegram_user_id
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "group.link",
        chat_id=chat_id,
        council=council.code,
        previous=previous.code if previous else None,
    )
    return LinkResult(council, previous, already=False)


async def unlink_group(
    session: AsyncSession, now: datetime, who: Requester, chat_id: int
) -> Council:
    require_admin(who)
    group = await session.scalar(select(GroupChat).where(GroupChat.chat_id == chat_id))
    if group is None:
        raise NotFoundError(msg("This group is not linked to any council."))
    council = group.council
    await session.delete(group)
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "group.unlink",
        chat_id=chat_id,
        council=council.code,
    )
    return council


async def linked_council(session: AsyncSession, chat_id: int) -> Council | None:
    group = await session.scalar(select(GroupChat).where(GroupChat.chat_id == chat_id))
    return group.council if group else None


async def group_migrated(session: AsyncSession, now: datetime, old_id: int, new_id: int) -> bool:
    """A group became a supergroup: keep its link under the new chat id."""
    group = await session.scalar(select(GroupChat).where(GroupChat.chat_id == old_id))
    if group is None:
        return False
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
    """The bot left or was removed from a group: a link to it would only fail."""
    group = await session.scalar(select(GroupChat).where(GroupChat.chat_id == chat_id))
    if group is None:
        return False
    await session.delete(group)
    audit.record(
        session,
        now,
        audit.telegram_actor(by_user),
        "group.removed",
        chat_id=chat_id,
        council=group.council.code,
    )
    return True


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
