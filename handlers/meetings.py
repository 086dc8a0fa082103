"""/newmeeting, /movemeeting, /cancelmeeting and /meetings."""

from __future__ import annotations

from collections import Counter

from telegram.ext import BaseHandler, CommandHandler

from bot.days_off import day_off_cause
from bot.formats import format_day, format_time_left
from bot.i18n import _, current_locale, ngettext
from bot.keyboards import rsvp_keyboard, rsvp_word, to_markup
from bot.models import Meeting, MeetingResponse, RsvpAnswer
from bot.outbox.render import meeting_lines
from bot.schedule import Timing
from bot.services import meetings, rsvp
from bot.services.rsvp import BUTTON_OF_ANSWER
from bot.text import Html, escape, html_format, join_lines
from handlers.common import Reply, Turn, handler


def rsvp_tally(tally: Counter[RsvpAnswer]) -> Html:
    """'✅ 3 · ❌ 1 · 👤 1' — answers so far."""
    parts = [f"{BUTTON_OF_ANSWER[a].emoji} {tally.get(a, 0)}" for a in RsvpAnswer]
    return html_format(_("Answers: {counts}"), counts=" · ".join(parts))


def your_answer(response: MeetingResponse) -> Html:
    button = BUTTON_OF_ANSWER[response.answer]
    label = f"{button.emoji} {rsvp_word(button)}"
    if response.delegate:
        label = f"{label}: {response.delegate}"
    return html_format(_("Your answer: {answer}"), answer=label)


def day_off_note(meeting: Meeting, timing: Timing) -> list[str]:
    """A meeting on a day off is the admin's call (a Saturday session before a deadline
    happens), so it is accepted; the admin is only told, in case it was a slip."""
    day = meeting.starts_at.astimezone(timing.tz).date()
    cause = day_off_cause(timing.calendar, day)
    if cause is None:
        return []
    return [
        "",
        html_format(
            _("⚠️ Note: {day} is a day off ({cause})."),
            day=format_day(day, timing.tz, current_locale()),
            cause=cause,
        ),
    ]


@handler
async def new_meeting(turn: Turn) -> Reply:
    meeting, planned = await meetings.create_meeting(
        turn.session, turn.now, turn.who, turn.deps.timing, turn.args_text, turn.actor
    )
    lines = [
        html_format(_("✅ Meeting #{id} is scheduled."), id=meeting.id),
        *meeting_lines(meeting, turn.deps.timing, current_locale()),
        "",
        escape(
            ngettext(
                "{n} reminder is planned for the council's members and groups.",
                "{n} reminders are planned for the council's members and groups.",
                planned,
            ).format(n=planned)
        ),
        *day_off_note(meeting, turn.deps.timing),
    ]
    return Reply(join_lines(lines))


@handler
async def move_meeting(turn: Turn) -> Reply:
    meeting = await meetings.move_meeting(
        turn.session, turn.now, turn.who, turn.deps.timing, turn.args, turn.actor
    )
    return Reply(
        join_lines(
            [
                html_format(_("🔁 Meeting #{id} is moved."), id=meeting.id),
                *meeting_lines(meeting, turn.deps.timing, current_locale()),
                "",
                escape(_("The members are told, and the reminders follow the new time.")),
                *day_off_note(meeting, turn.deps.timing),
            ]
        )
    )


@handler
async def cancel_meeting(turn: Turn) -> Reply:
    meeting = await meetings.cancel_meeting(turn.session, turn.now, turn.who, turn.args, turn.actor)
    return Reply(
        join_lines(
            [
                html_format(_("❌ Meeting #{id} is cancelled."), id=meeting.id),
                *meeting_lines(meeting, turn.deps.timing, current_locale()),
                "",
                escape(_("The members are told; no more reminders will be sent for it.")),
            ]
        )
    )


@handler
async def list_meetings(turn: Turn) -> list[Reply]:
    code = turn.args[0] if turn.args else None
    group = None if turn.in_private else turn.chat_id
    found = await meetings.upcoming_meetings(
        turn.session, turn.now, turn.who, code, group_chat_id=group, thread_id=turn.thread_id
    )
    if not found:
        return [Reply(escape(_("No upcoming meetings.")))]
    ids = [m.id for m in found]
    tallies = await rsvp.counts(turn.session, ids)
    mine = await rsvp.answers_of(turn.session, turn.who.member.id, ids) if turn.who.member else {}
    replies = [Reply(escape(_("📅 Upcoming meetings:")))]
    for meeting in found:
        lines = [
            html_format(
                _("#{id} · {left}"),
                id=meeting.id,
                left=format_time_left(meeting.starts_at - turn.now),
            ),
            *meeting_lines(meeting, turn.deps.timing, current_locale()),
            rsvp_tally(tallies[meeting.id]),
        ]
        if meeting.id in mine:
            lines.append(your_answer(mine[meeting.id]))
        replies.append(Reply(join_lines(lines), to_markup(rsvp_keyboard(meeting.id))))
    if turn.who.is_admin:
        replies.append(
            Reply(
                escape(
                    _(
                        "To move a meeting: /movemeeting ID DD/MM/YYYY HH:MM. "
                        "To cancel it: /cancelmeeting ID."
                    )
                )
            )
        )
    return replies


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("newmeeting", new_meeting),
        CommandHandler("movemeeting", move_meeting),
        CommandHandler("cancelmeeting", cancel_meeting),
        CommandHandler("meetings", list_meetings),
    ]
