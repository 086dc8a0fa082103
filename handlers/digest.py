"""/digest [COUNCIL] (post the digest now) and /digestat (when the weekly one goes out)."""

from __future__ import annotations

from telegram.ext import BaseHandler, CommandHandler

from bot.formats import format_weekly
from bot.i18n import _, current_locale, ngettext
from bot.outbox.render import build_digest
from bot.services import digest
from bot.text import escape, html_format
from handlers.common import Reply, Turn, handler


@handler
async def digest_now(turn: Turn) -> list[Reply]:
    if len(turn.args) > 1:
        return [Reply(escape(_("Usage: /digest [COUNCIL] — for example: /digest DBSH")))]
    group = None if turn.in_private else turn.chat_id
    councils = await digest.councils_for_digest(
        turn.session,
        turn.who,
        turn.args[0] if turn.args else None,
        group_chat_id=group,
        thread_id=turn.thread_id,
    )
    timing = turn.deps.timing
    period = digest.on_demand_period(turn.now, timing)
    replies = []
    for council in councils:
        if group is None:
            # In a group the digest is not shown here as well: its post to this group,
            # one of the council's linked groups, is that.
            text, picture = await build_digest(
                turn.session, council, period, timing, turn.now, current_locale()
            )
            replies.append(Reply(text))
            if picture is not None:
                replies.append(Reply(escape(council.name(current_locale())), photo=picture))
        posted = await digest.queue_posts(turn.session, council, period, turn.now, turn.actor)
        if posted:
            note = ngettext(
                "Posted to {n} linked group of the council.",
                "Posted to {n} linked groups of the council.",
                posted,
            ).format(n=posted)
        else:
            note = _("This council has no linked group: nothing was posted.")
        replies.append(Reply(escape(note)))
    return replies


@handler
async def digest_at(turn: Turn) -> Reply:
    council, schedule = await digest.set_schedule(turn.session, turn.now, turn.who, turn.args)
    return Reply(
        html_format(
            _("The weekly digest of {council} will be posted {schedule} (local time)."),
            council=council.name(current_locale()),
            schedule=format_weekly(schedule.weekday, schedule.at),
        )
    )


def handlers() -> list[BaseHandler]:
    return [CommandHandler("digest", digest_now), CommandHandler("digestat", digest_at)]
