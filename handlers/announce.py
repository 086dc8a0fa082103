"""/announce: preview, then 📣 send or ✖️ cancel (the buttons are in handlers/buttons.py)."""

from __future__ import annotations

from telegram.ext import BaseHandler, CommandHandler

from bot.i18n import _
from bot.keyboards import broadcast_keyboard, to_markup
from bot.outbox.render import announcement_heading
from bot.services import broadcasts
from bot.text import Html, escape, html_format, join_lines
from handlers.common import Reply, Turn, handler


@handler
async def announce(turn: Turn) -> Reply:
    if not turn.in_private:
        return Reply(escape(_("Please send /announce to the bot in a private chat.")))
    message = turn.message
    first_line, _newline, rest = (message.text_html or "").partition("\n")
    words = first_line.split()
    target = words[1] if len(words) > 1 else ""
    html = rest.strip()
    replied = message.reply_to_message
    author = replied.from_user if replied is not None else None
    if not html and replied is not None and author and author.id == turn.who.telegram_user_id:
        # Replying /announce to one of the admin's own messages sends that message,
        # with its formatting (Telegram gives it back as HTML, already escaped).
        html = (replied.text_html or replied.caption_html or "").strip()
    draft = await broadcasts.draft(turn.session, turn.now, turn.who, target, html)
    people, groups = len(draft.audience.member_ids), len(draft.audience.group_ids)
    target_name = (
        _("all councils")
        if draft.announcement.target == broadcasts.ALL
        else draft.councils[0].name(turn.who.locale)
    )
    lines = [
        html_format(
            _("Preview of announcement #{id} to {target}:"),
            id=draft.announcement.id,
            target=target_name,
        ),
        "",
        announcement_heading(),
        "",
        Html(draft.announcement.html),
        "",
        html_format(
            _(
                "It will go to {people} registered members (one copy each) and {groups} groups. "
                "Press 📣 to send or ✖️ to cancel."
            ),
            people=people,
            groups=groups,
        ),
    ]
    return Reply(join_lines(lines), to_markup(broadcast_keyboard(draft.announcement.id)))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("announce", announce)]
