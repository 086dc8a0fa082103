"""/desk: the way into the desk (SPEC §9), a Mini App button and a one-time link."""

from __future__ import annotations

from telegram.ext import BaseHandler, CommandHandler

from bot.i18n import _
from bot.keyboards import desk_markup
from bot.services import desk
from bot.text import escape, html_format
from handlers.common import Reply, Turn, handler


@handler
async def open_desk(turn: Turn) -> Reply:
    if not turn.in_private:
        return Reply(
            escape(
                _("Please send /desk in a private chat with me: the sign-in link is yours alone.")
            )
        )
    desk.may_sign_in(turn.who)
    web_url = turn.deps.settings.web_url
    if not web_url:
        return Reply(
            escape(
                _(
                    "The desk is not turned on for this bot. To turn it on, the operator sets "
                    "WEB_URL to the desk's public https address and restarts the bot."
                )
            )
        )
    token = await desk.new_link(turn.session, turn.now, turn.who)
    return Reply(
        html_format(
            _(
                "Open the desk with the button below, or in a browser on your computer with "
                "this one-time link (for you alone, valid for 10 minutes):\n{link}"
            ),
            link=f"{web_url}/auth/link/{token}",
        ),
        markup=desk_markup(web_url, turn.deps.settings.opens_mini_app(web_url)),
    )


def handlers() -> list[BaseHandler]:
    return [CommandHandler("desk", open_desk)]
