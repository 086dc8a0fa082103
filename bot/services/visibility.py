"""Which councils' data a person may see: admins all, members their own councils."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import msg
from bot.models import Council
from bot.services.errors import NotAllowedError
from bot.services.groups import council_by_code
from bot.services.people import Requester
from bot.services.permissions import require_member


async def visible_councils(
    session: AsyncSession, who: Requester, code: str | None
) -> list[Council]:
    """The councils whose data `who` may see, optionally narrowed to one code."""
    require_member(who)
    if code:
        council = await council_by_code(session, code)
        if not who.is_admin and council.code not in who.council_codes:
            raise NotAllowedError(
                msg("You are not a member of the council {code}.", code=council.code)
            )
        return [council]
    query = select(Council).order_by(Council.id)
    if not who.is_admin:
        query = query.where(Council.code.in_(who.council_codes))
    return list((await session.scalars(query)).all())
