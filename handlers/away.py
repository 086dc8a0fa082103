"""/away and /back: a member records an absence, chooses a stand-in, and ends it."""

from __future__ import annotations

from datetime import date

from telegram.ext import BaseHandler, CommandHandler

from bot.callbacks import StandInPress
from bot.formats import format_day
from bot.i18n import _, current_locale
from bot.keyboards import stand_in_keyboard, to_markup
from bot.models import Absence
from bot.schedule import Timing
from bot.services import absences
from bot.text import Html, escape, html_format, join_lines
from handlers.common import Reply, Turn, handler


def _day(day: date, timing: Timing) -> str:
    return format_day(day, timing.tz, current_locale(), weekday=False)


def away_dates(absence: Absence, timing: Timing) -> Html:
    """'Quý vị vắng từ ngày 07/12/2026 đến ngày 11/12/2026'."""
    return html_format(
        _("you are away from {first} to {last}"),
        first=_day(absence.starts_on, timing),
        last=_day(absence.ends_on, timing),
    )


def _private_only() -> Reply:
    return Reply(escape(_("Please send /away and /back to the bot in a private chat.")))


@handler
async def away(turn: Turn) -> Reply:
    if not turn.in_private:
        return _private_only()
    timing = turn.deps.timing
    started = await absences.go_away(
        turn.session, turn.now, timing.today(turn.now), turn.who, turn.args
    )
    absence = started.recorded.absence
    lines: list[str] = [
        html_format(_("🌴 Recorded: {dates}."), dates=away_dates(absence, timing)),
    ]
    for old in started.recorded.replaced:
        lines.append(
            html_format(
                _("It replaces your earlier absence from {first} to {last}."),
                first=_day(old.starts_on, timing),
                last=_day(old.ends_on, timing),
            )
        )
    lines.append(
        escape(
            _(
                "While you are away you get no task reminders; meeting reminders still come. "
                "Send /back to end the absence early."
            )
        )
    )
    if not started.candidates:
        lines += [
            "",
            escape(_("No other member of your agency is registered, so nobody stands in.")),
        ]
        return Reply(join_lines(lines))
    lines += [
        "",
        escape(
            _(
                "Who stands in for you and gets your agency's task reminders meanwhile? "
                "Please choose below."
            )
        ),
    ]
    keyboard = stand_in_keyboard(absence.id, [(m.id, m.full_name) for m in started.candidates])
    return Reply(join_lines(lines), to_markup(keyboard))


async def stand_in_chosen(turn: Turn, press: StandInPress) -> Reply:
    """The press on a stand-in button (called from handlers/buttons.py), checked now."""
    timing = turn.deps.timing
    absence = await absences.choose_stand_in(
        turn.session,
        turn.now,
        timing.today(turn.now),
        turn.who,
        press.absence_id,
        press.stand_in_id,
    )
    turn.answer_query(_("Recorded."))
    turn.remove_keyboard()
    if absence.stand_in is None:
        text = html_format(
            _("✅ Recorded: {dates}; nobody stands in."), dates=away_dates(absence, timing)
        )
    else:
        text = html_format(
            _("✅ Recorded: {dates}; {name} stands in for you."),
            dates=away_dates(absence, timing),
            name=absence.stand_in.full_name,
        )
    return Reply(text)


@handler
async def back(turn: Turn) -> Reply:
    if not turn.in_private:
        return _private_only()
    timing = turn.deps.timing
    today = timing.today(turn.now)
    absence = await absences.come_back(turn.session, turn.now, today, turn.who)
    if absence.starts_on > today:
        text = _("Your absence from {first} to {last} is called off.")
    else:
        text = _(
            "👋 Welcome back. Your absence from {first} to {last} has ended; task reminders "
            "come to you again."
        )
    return Reply(
        html_format(text, first=_day(absence.starts_on, timing), last=_day(absence.ends_on, timing))
    )


def handlers() -> list[BaseHandler]:
    return [CommandHandler("away", away), CommandHandler("back", back)]
