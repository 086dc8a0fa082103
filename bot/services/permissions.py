"""The permission rules, in one place, called by services at the moment of the action."""

from __future__ import annotations

from bot.i18n import msg
from bot.services.errors import NotAllowedError
from bot.services.people import Requester


def require_admin(who: Requester | None) -> None:
    """Only secretariat admins change council data. `None` is the trusted command line."""
    if who is not None and not who.is_admin:
        raise NotAllowedError(msg("Only the staff of {secretariat} may do this."))


def require_member(who: Requester) -> None:
    """Only registered members (and admins) see council data."""
    if not who.may_see_councils:
        raise NotAllowedError(
            msg(
                "You are not registered yet. Please open the personal invitation link "
                "{secretariat} sent you. Your Telegram id is {id}.",
                id=who.telegram_user_id,
            )
        )
