"""A desk form sent twice (a double click, back and resend, two tabs) makes one thing.

The form carries a random key; the row it makes keeps it in a unique `form_key` column
(tasks, meetings, announcements). The same key again finds that row; two requests at the
same instant are decided by the unique column. Rows made in the chat have no key.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import msg
from bot.models import Announcement, Meeting, Task
from bot.services.errors import BadInputError

FORM_KEY_MAX = 64

Made = TypeVar("Made", Task, Meeting, Announcement)


def check_form_key(form_key: str | None) -> None:
    """None: not from a form. A form's key that is empty or too long is refused."""
    if form_key is not None and (not form_key or len(form_key) > FORM_KEY_MAX):
        raise BadInputError(msg("This form has expired. Please open the page again."))


async def made_by_form(
    session: AsyncSession, model: type[Made], form_key: str | None
) -> Made | None:
    """The row the form with `form_key` made already, if any."""
    if not form_key:
        return None
    return await session.scalar(select(model).where(model.form_key == form_key))


async def add_once(session: AsyncSession, row: Made) -> Made:
    """Add `row`; if the same form's row was saved meanwhile (the unique key refuses this
    one), that row instead."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        made = await made_by_form(session, type(row), row.form_key)
        if made is None:
            raise
        return made
    return row
