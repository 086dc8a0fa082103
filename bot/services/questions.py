"""Which reply answers which of the bot's questions (the note after a status button, the
delegate's name after 👤), when the question's message id is not recorded yet.

The id is written just after the question is sent, so a quick reply may come before it
is: a reply to a bot message is then taken as the answer to the question being asked
right now, but only for the person's newest question in that chat (a service decides
which), only shortly after the press, and only when the replied-to message was sent
after the press. An older question that never went out (a newer press replaced it, or
sending it failed) must not catch a later reply meant for something else.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_

# How long after the press a reply may answer a question whose id is not recorded yet.
QUESTION_WINDOW = timedelta(minutes=2)
# Telegram dates a message in whole seconds, by its own clock, not ours.
CLOCK_SLACK = timedelta(seconds=5)


def being_asked(
    asked_at: Any, now: datetime, replied_at: datetime | None, *, to_the_bot: bool
) -> ColumnElement[bool] | None:
    """The condition under which a question asked (pressed) at the column `asked_at`,
    whose id is not recorded, takes this reply; None when it cannot take it."""
    if not to_the_bot or replied_at is None:
        return None
    return and_(asked_at >= now - QUESTION_WINDOW, asked_at <= replied_at + CLOCK_SLACK)
