"""/export [COUNCIL]: an XLSX file of tasks and status reports; /export MEETING_ID: a
meeting's attendance list. For admins, in a private chat."""

from __future__ import annotations

from telegram.ext import BaseHandler, CommandHandler

from bot.formats import format_day
from bot.i18n import _, current_locale
from bot.services import exports
from bot.services.attendance_export import attendance_list
from bot.services.exports import ExportFormat
from bot.services.permissions import require_admin
from bot.text import escape, html_format
from handlers.common import Reply, Turn, handler


@handler
async def export(turn: Turn) -> Reply:
    timing = turn.deps.timing
    now = turn.now
    require_admin(turn.who)
    if not turn.in_private:
        # A group may hold people who are not on any roster: the file goes to private chats only.
        return Reply(escape(_("Send /export to the bot in a private chat.")))
    meeting_id = exports.meeting_id_of(turn.args)
    if meeting_id is not None:
        listed = await attendance_list(turn.session, turn.who, meeting_id, timing.tz, now)
        caption = html_format(
            _("📋 Attendance list of meeting #{id} “{title}”, as of {date}."),
            id=meeting_id,
            title=listed.meeting.title,
            date=format_day(now, timing.tz),
        )
        return Reply(caption, document=(listed.file_name(), listed.content))
    found = await exports.export(
        turn.session, turn.who, turn.args, ExportFormat.XLSX, timing.calendar, now
    )
    if found.count == 0:
        return Reply(escape(_("There are no tasks to export.")))
    locale = current_locale()
    scope = (
        ", ".join(c.code for c in found.councils)
        if found.every_council
        else found.councils[0].name(locale)
    )
    caption = html_format(
        _("📊 Tasks and status reports of {councils}, as of {date}."),
        councils=scope,
        date=format_day(now, timing.tz, locale, weekday=False),
    )
    return Reply(caption, document=(found.file_name(timing.today(now)), found.content))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("export", export)]
