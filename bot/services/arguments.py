"""Free text typed after a command (titles, places): cleaned and checked in one place."""

from __future__ import annotations

from bot.i18n import Msg, msg
from bot.services.errors import BadInputError

MAX_TITLE = 300


def one_line(text: str) -> str:
    """Spaces and line breaks collapsed: what a title or a place is stored as."""
    return " ".join(text.split())


def title_of(text: str, usage: Msg) -> str:
    """A meeting's or task's title: not empty, at most MAX_TITLE characters."""
    title = one_line(text)
    if not title:
        raise BadInputError(msg("The title is empty."), usage)
    if len(title) > MAX_TITLE:
        raise BadInputError(
            msg(
                "The title is {length} characters long; at most {limit} are allowed.",
                length=len(title),
                limit=MAX_TITLE,
            ),
            usage,
        )
    return title
