"""Which councils' data a person may see: admins all, members their own councils; in a
group chat, only the council that group is linked to, whoever asks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import msg
from bot.models import WHOLE_CHAT, Council
from bot.services.errors import NotAllowedError, NotFoundError
from bot.services.groups import council_by_code, linked_council
from bot.services.people import Requester
from bot.services.permissions import require_member


async def group_council(
    session: AsyncSession, group_chat_id: int, code: str | None, thread_id: int = WHOLE_CHAT
) -> Council:
    """The council whose data may be shown in this group chat (inside a forum topic: that
    topic, else the group): the one it is linked to.

    A group may hold people of several councils (and people on no roster), so what is
    shown there is the linked council's data only, for admins too: another council named
    in the command is refused, and a group linked to none shows nothing.
    """
    council = await linked_council(session, group_chat_id, thread_id)
    if council is None:
        raise NotFoundError(
            msg(
                "This group is not linked to a council, so no council data is shown here. "
                "The staff of {secretariat} can link it with /link COUNCIL, e.g. /link DBSH."
            )
        )
    if code and (await council_by_code(session, code)).id != council.id:
        raise NotAllowedError(
            msg(
                "This group is linked to the council {linked}: only its data is shown here. "
                "For {code}, send the command to me in a private chat.",
                linked=council.code,
                code=code.strip().upper(),
            )
        )
    return council


async def visible_councils(
    session: AsyncSession,
    who: Requester,
    code: str | None,
    *,
    group_chat_id: int | None = None,
    thread_id: int = WHOLE_CHAT,
) -> list[Council]:
    """The councils whose data `who` may see, optionally narrowed to one code; asked in a
    group chat (`group_chat_id`, `thread_id` inside a forum topic), at most the council
    that place is linked to."""
    require_member(who)
    if group_chat_id is not None:
        council = await group_council(session, group_chat_id, code, thread_id)
    elif code:
        council = await council_by_code(session, code)
    else:
        query = select(Council).order_by(Council.id)
        if not who.is_admin:
            query = query.where(Council.code.in_(who.council_codes))
        return list((await session.scalars(query)).all())
    if not who.is_admin and council.code not in who.council_codes:
        raise NotAllowedError(msg("You are not a member of the council {code}.", code=council.code))
    return [council]
