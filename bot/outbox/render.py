"""Turn a claimed outbox row into the message its recipient gets, at the moment of sending.

Rendering late, not at planning time, means the text is in the recipient's language
of today, about the meeting or task as it is now, with "còn 3 ngày" counted from now;
and a reminder that has lost its point (task done, meeting moved) is skipped here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chart import reporting_chart
from bot.formats import (
    format_cut_off,
    format_day,
    format_days_left,
    format_document,
    format_moment,
    format_period,
    format_time_left,
)
from bot.i18n import _, ngettext, pick_locale, secretariat_name, use_locale
from bot.keyboards import Keyboard, received_keyboard, rsvp_keyboard, task_status_keyboard
from bot.models import (
    Absence,
    Agency,
    Announcement,
    Council,
    GroupChat,
    Meeting,
    Member,
    Outbox,
    Task,
    TaskAgency,
    TelegramUser,
)
from bot.outbox.plan import NUDGE_WINDOW, task_key
from bot.outbox.store import NewRow, add_rows
from bot.schedule import Timing, nudges
from bot.services import absences, broadcasts, digest
from bot.services.broadcasts import Progress
from bot.services.groups import TOPIC_LOST, group_language
from bot.text import Html, bold, escape, html_format, join_lines, mention

TASK_KINDS = frozenset({"task_reminder", "task_nudge"})


@dataclass(frozen=True)
class Message:
    chat_id: int
    text: Html
    keyboard: Keyboard | None
    is_group: bool
    # Set when the message goes to a person's private chat (for a 403: mark unreachable).
    private_user_id: int | None = None
    # A picture sent after the text (the digest's chart).
    photo: bytes | None = None
    # The forum topic it goes to (message_thread_id), None for a whole chat or General.
    thread_id: int | None = None
    # The group link (GroupChat id) it goes through: a topic found deleted is its to mark.
    link_id: int | None = None


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class Postpone:
    until: datetime
    reason: str


Rendered = Message | Skip | Postpone


@dataclass(frozen=True)
class _Destination:
    chat_id: int
    locale: str
    is_group: bool
    mention: Html | None = None
    private_user_id: int | None = None
    thread_id: int | None = None
    link_id: int | None = None

    @classmethod
    def link(cls, group: GroupChat, locale: str, mention: Html | None = None) -> _Destination:
        """A linked group, or its topic."""
        return cls(
            group.chat_id,
            locale,
            is_group=True,
            mention=mention,
            thread_id=group.send_thread,
            link_id=group.id,
        )


async def render(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, default_locale: str
) -> Rendered:
    if row.kind in TASK_KINDS:
        working = timing.calendar.next_working_moment(now)
        if working > now:
            # Late after downtime, outside working hours: wait for the next working morning.
            return Postpone(working, "outside working hours")
    renderer = _RENDERERS.get(row.kind)
    if renderer is None:
        return Skip(f"unknown kind {row.kind}")
    return await renderer(session, row, timing, now, default_locale)


async def preload(session: AsyncSession, rows: list[Outbox]) -> None:
    """Load at once the members and Telegram users a batch of rows is for, so that
    rendering each row finds them in the session instead of asking for them one by one
    (200 copies of a broadcast: 2 statements instead of 400)."""
    member_ids = {row.member_id for row in rows if row.member_id is not None}
    members = (
        (await session.scalars(select(Member).where(Member.id.in_(member_ids)))).all()
        if member_ids
        else []
    )
    user_ids = {m.telegram_user_id for m in members if m.telegram_user_id is not None}
    user_ids |= {row.telegram_user_id for row in rows if row.telegram_user_id is not None}
    if user_ids:
        await session.scalars(select(TelegramUser).where(TelegramUser.id.in_(user_ids)))


async def _destination(
    session: AsyncSession, row: Outbox, council_id: int | None, default_locale: str
) -> _Destination | Skip:
    """Where the row goes: a member's private chat, else a mention in the group of the
    council `council_id` (SPEC §6); with None, a member out of reach is skipped."""
    if row.group_id is not None:
        group = await session.get(GroupChat, row.group_id)
        if group is None:
            return Skip("group no longer linked")
        language = await group_language(session, group.chat_id, default_locale)
        return _Destination.link(group, language)
    if row.telegram_user_id is not None:
        user = await session.get(TelegramUser, row.telegram_user_id)
        locale = pick_locale(
            user.language if user else None,
            None,
            user.telegram_language if user else None,
            default_locale,
        )
        return _Destination(row.telegram_user_id, locale, False, None, row.telegram_user_id)
    member = await session.get(Member, row.member_id) if row.member_id is not None else None
    if member is None or member.telegram_user_id is None:
        return Skip("member not registered")
    user = await session.get(TelegramUser, member.telegram_user_id)
    if user is not None and user.private_chat_ok:
        locale = pick_locale(user.language, member.language, user.telegram_language, default_locale)
        return _Destination(user.id, locale, False, None, user.id)
    if council_id is None:
        return Skip("unreachable: no private chat")
    group = await session.scalar(
        select(GroupChat).where(GroupChat.council_id == council_id).order_by(GroupChat.id)
    )
    if group is None:
        return Skip("unreachable: no private chat and no linked group")
    name = mention(member.telegram_user_id, member.full_name)
    language = await group_language(session, group.chat_id, default_locale)
    return _Destination.link(group, language, mention=name)


def _message(destination: _Destination, lines: list[str], keyboard: Keyboard | None) -> Message:
    if destination.mention is not None:
        lines = [destination.mention, *lines]
    return Message(
        chat_id=destination.chat_id,
        text=join_lines(lines),
        keyboard=keyboard,
        is_group=destination.is_group,
        private_user_id=destination.private_user_id,
        thread_id=destination.thread_id,
        link_id=destination.link_id,
    )


# --- meetings ---------------------------------------------------------------------------


def meeting_lines(meeting: Meeting, timing: Timing, locale: str) -> list[str]:
    lines: list[str] = [
        bold(meeting.title),
        html_format(_("🕘 {moment}"), moment=format_moment(meeting.starts_at, timing.tz, locale)),
    ]
    if meeting.place:
        lines.append(html_format(_("📍 {place}"), place=meeting.place))
    lines.append(escape(meeting.council.name(locale)))
    return lines


async def _meeting_reminder(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, default_locale: str
) -> Rendered:
    meeting = await session.get(Meeting, row.payload["meeting_id"])
    if meeting is None or meeting.cancelled_at is not None:
        return Skip("meeting cancelled")
    if meeting.revision != row.payload.get("revision"):
        return Skip("meeting moved")
    destination = await _destination(session, row, meeting.council_id, default_locale)
    if isinstance(destination, Skip):
        return destination
    with use_locale(destination.locale):
        header = html_format(
            _("📅 <b>Meeting reminder</b> ({left})"),
            left=format_time_left(meeting.starts_at - now, destination.locale),
        )
        lines = [header, *meeting_lines(meeting, timing, destination.locale)]
        lines += await _away_note(session, row, timing, now, destination.locale)
        lines.append(escape(_("Will you attend? Please answer with a button below.")))
        return _message(destination, lines, rsvp_keyboard(meeting.id))


async def _away_note(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, locale: str
) -> list[str]:
    """A meeting reminder still reaches a member who is away, saying so."""
    if row.member_id is None:
        return []
    absence = await absences.current_absence(session, row.member_id, timing.today(now))
    if absence is None:
        return []
    last = format_day(absence.ends_on, timing.tz, locale, weekday=False)
    return [html_format(_("🌴 You are away until {last}."), last=last)]


async def _meeting_change(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, default_locale: str
) -> Rendered:
    meeting = await session.get(Meeting, row.payload["meeting_id"])
    if meeting is None or meeting.revision != row.payload.get("revision"):
        return Skip("superseded by a later change")
    destination = await _destination(session, row, meeting.council_id, default_locale)
    if isinstance(destination, Skip):
        return destination
    with use_locale(destination.locale):
        if row.payload.get("change") == "cancelled":
            header = escape(_("❌ A meeting has been cancelled:"))
            keyboard = None
        elif row.payload.get("change") == "place":  # the desk's move form, a new place only
            header = escape(_("📍 A meeting has a new place:"))
            keyboard = rsvp_keyboard(meeting.id)
        else:
            header = escape(_("🔁 A meeting has been moved to a new time:"))
            keyboard = rsvp_keyboard(meeting.id)
        lines = [header, *meeting_lines(meeting, timing, destination.locale)]
        return _message(destination, lines, keyboard)


# --- tasks ------------------------------------------------------------------------------


def due_line(task: Task, timing: Timing, now: datetime, locale: str) -> Html:
    """'⏳ Hạn: quý IV/2026 · thứ Năm, ngày 31/12/2026 (còn 38 ngày)'; for a report on a
    period, that period with its data cut-off, then the send deadline."""
    due = format_day(task.due_on, timing.tz, locale)
    if task.period and not task.report_period:
        due = f"{format_period(task.period, locale)} · {due}"
    calendar = timing.calendar
    left = format_days_left(calendar.days_left(task.due_on, timing.today(now)))
    last_day = calendar.deadline_end(task.due_on)
    if last_day != task.due_on:
        # Civil Code art. 148(5): say why the count runs past the written deadline.
        deadline = html_format(
            _("⏳ Due: {due}, a day off, so until the end of {last_day} ({left})"),
            due=due,
            last_day=format_day(last_day, timing.tz, locale),
            left=left,
        )
    else:
        deadline = html_format(_("⏳ Due: {due} ({left})"), due=due, left=left)
    if task.report_period:
        if last_day == task.due_on:
            deadline = html_format(_("⏳ Send by: {due} ({left})"), due=due, left=left)
        return join_lines(
            [
                html_format(
                    _("🗂 Reporting period: {period} ({cut_off})"),
                    period=format_period(task.report_period, locale),
                    cut_off=format_cut_off(task.report_period, locale),
                ),
                deadline,
            ]
        )
    return deadline


def task_lines(task: Task, agency: Agency, timing: Timing, now: datetime, locale: str) -> list[str]:
    lines: list[str] = [
        bold(task.title),
        due_line(task, timing, now, locale),
        html_format(_("🏛 Agency: {agency}"), agency=agency.addressee(locale)),
    ]
    if task.ref:
        lines.append(html_format(_("📄 Document: {ref}"), ref=format_document(task.ref, locale)))
    lines.append(escape(task.council.name(locale)))
    return lines


async def _open_part(session: AsyncSession, row: Outbox) -> tuple[Task, TaskAgency] | Skip:
    task = await session.get(Task, row.payload["task_id"])
    if task is None or task.cancelled_at is not None:
        return Skip("task cancelled")
    part = await session.scalar(
        select(TaskAgency).where(
            TaskAgency.task_id == task.id, TaskAgency.agency_id == row.payload["agency_id"]
        )
    )
    if part is None:
        return Skip("agency no longer assigned")
    if part.done_at is not None or task.done_at is not None:
        return Skip("already done")
    return task, part


async def _task_message(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, default_locale: str
) -> Rendered:
    found = await _open_part(session, row)
    if isinstance(found, Skip):
        return found
    task, part = found
    away = await _member_away(session, row, task, part, timing, now)
    if isinstance(away, Skip):
        return away
    destination = await _destination(session, row, task.council_id, default_locale)
    if isinstance(destination, Skip):
        return destination
    with use_locale(destination.locale):
        if row.kind == "task_nudge":
            header = escape(_("⏰ Overdue: your agency has not yet reported this task as done."))
        else:
            header = escape(_("📝 Reminder: a task of your agency is due."))
        lines = [header, *task_lines(task, part.agency, timing, now, destination.locale)]
        if away is not None:
            name, last = away
            lines.append(
                html_format(
                    _("👤 You get this in place of {name}, who is away until {last}."),
                    name=name,
                    last=format_day(last, timing.tz, destination.locale, weekday=False),
                )
            )
        lines.append(escape(_("Please report its status with a button below.")))
        return _message(destination, lines, task_status_keyboard(task.id))


async def _member_away(
    session: AsyncSession, row: Outbox, task: Task, part: TaskAgency, timing: Timing, now: datetime
) -> Skip | tuple[str, date] | None:
    """Decided now, not when the row was planned (an absence recorded since counts): a
    task message for a member away today is not sent to them. When nobody of the agency
    in the task's council is left to get it, it becomes a row for their stand-in, keyed
    by the stand-in, so they get it once however many away members name them. A
    stand-in's row returns whom they stand in for, and until when."""
    if row.member_id is None:
        return None
    today = timing.today(now)
    away_member = row.payload.get("stand_in_for")
    if away_member is not None:
        absence = await absences.current_absence(session, int(away_member), today)
        if absence is None:
            return Skip("the member is back")
        if await absences.current_absence(session, row.member_id, today) is not None:
            return Skip("the stand-in is away too")
        return absence.member.full_name, absence.ends_on
    handover = await absences.hand_over(
        session, row.member_id, task.council_id, part.agency_id, today
    )
    if handover is None:
        return None
    if handover.stand_in_id is None:
        return Skip("member away")
    label = row.payload.get("label", "")
    key = f"{task_key(task)}:agency:{part.agency_id}:standin:{handover.stand_in_id}:{label}"
    stand_in_row = NewRow(
        dedupe_key=key,
        kind=row.kind,
        subject=row.subject,
        due_at=now,
        expires_at=row.expires_at,
        member_id=handover.stand_in_id,
        payload={**row.payload, "stand_in_for": row.member_id},
        priority=row.priority,
    )
    await add_rows(session, [stand_in_row], now)
    return Skip("member away: passed to the stand-in")


async def _stand_in_notice(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, default_locale: str
) -> Rendered:
    """Tell a member they were chosen to stand in, unless that has changed since."""
    absence = await session.get(Absence, row.payload["absence_id"])
    if absence is None or absence.ended_at is not None or absence.ends_on < timing.today(now):
        return Skip("absence over")
    if absence.stand_in_id != row.payload.get("stand_in_id"):
        return Skip("another stand-in chosen since")
    destination = await _destination(session, row, None, default_locale)
    if isinstance(destination, Skip):
        return destination
    with use_locale(destination.locale):
        text = html_format(
            _(
                "👤 {name} ({agency}) will be away from {first} to {last} and has chosen you "
                "as stand-in: meanwhile you get the task reminders of your agency that would "
                "have gone to them."
            ),
            name=absence.member.full_name,
            agency=absence.member.agency.code,
            first=format_day(absence.starts_on, timing.tz, destination.locale, weekday=False),
            last=format_day(absence.ends_on, timing.tz, destination.locale, weekday=False),
        )
        return _message(destination, [text], None)


async def escalated_on(session: AsyncSession, day: date, timing: Timing) -> list[Task]:
    """Open tasks whose escalation falls on `day` (after five nudges), with late agencies."""
    window = select(Task).where(
        Task.cancelled_at.is_(None),
        Task.done_at.is_(None),
        Task.due_on >= day - NUDGE_WINDOW,
        Task.due_on < day,
    )
    found = []
    for task in (await session.scalars(window.order_by(Task.due_on, Task.id))).all():
        moments = nudges(task.due_on, timing.calendar, planned_at=task.created_at)
        last = moments[-1] if moments and moments[-1].label == "ESC" else None
        late = any(a.done_at is None for a in task.assignments)
        if last is not None and late and last.due_at.astimezone(timing.tz).date() == day:
            found.append(task)
    return found


async def _task_escalation(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, default_locale: str
) -> Rendered:
    tasks = await escalated_on(session, date.fromisoformat(row.payload["day"]), timing)
    if not tasks:
        return Skip("every agency is done")
    destination = await _destination(session, row, tasks[0].council_id, default_locale)
    if isinstance(destination, Skip):
        return destination
    with use_locale(destination.locale):
        lines: list[str] = [
            bold(
                _("🚨 To {secretariat}: tasks still overdue after five reminders").format(
                    secretariat=secretariat_name()
                )
            ),
        ]
        for task in tasks:
            days = -timing.calendar.days_left(task.due_on, timing.today(now))
            late = [a for a in task.assignments if a.done_at is None]
            lines += [
                "",
                html_format(
                    "#{id} {title} — {overdue}",
                    id=task.id,
                    title=bold(task.title),
                    overdue=format_days_left(-days),
                ),
                escape(task.council.name(destination.locale)),
                escape(_("Agencies that have not reported it done:")),
                *(
                    html_format("• {agency}", agency=a.agency.addressee(destination.locale))
                    for a in late
                ),
            ]
        return _message(destination, lines, None)


# --- digests ----------------------------------------------------------------------------


async def build_digest(
    session: AsyncSession, council: Council, period: str, timing: Timing, now: datetime, locale: str
) -> tuple[Html, bytes | None]:
    """The digest of `council` for `period`, recorded once; text and chart (or None)."""
    _new, previous = await digest.open_period(session, council, period, now)
    data = await digest.collect(session, council, now, timing, previous)
    with use_locale(locale):
        text = digest.render(data, timing, now, locale)
        picture = None
        if not data.empty:
            # Drawing takes 0.1–0.3 s: in a thread, so the bot keeps answering meanwhile.
            picture = await asyncio.to_thread(reporting_chart, data.chart, council.name(locale))
    return text, picture


async def _digest(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, default_locale: str
) -> Rendered:
    council = await session.get(Council, row.payload["council_id"])
    if council is None:
        return Skip("council gone")
    destination = await _destination(session, row, council.id, default_locale)
    if isinstance(destination, Skip):
        return destination
    text, picture = await build_digest(
        session, council, row.payload["period"], timing, now, destination.locale
    )
    return Message(
        chat_id=destination.chat_id,
        text=text,
        keyboard=None,
        is_group=destination.is_group,
        private_user_id=destination.private_user_id,
        photo=picture,
        thread_id=destination.thread_id,
        link_id=destination.link_id,
    )


# --- announcements ----------------------------------------------------------------------


async def _about_announcement(
    session: AsyncSession, row: Outbox, default_locale: str
) -> tuple[Announcement, _Destination] | Skip:
    announcement = await session.get(Announcement, row.payload["announcement_id"])
    if announcement is None:
        return Skip("announcement deleted")
    # Neither a copy nor the summary is rerouted to a group as a mention (council None):
    # the summary names who could not be reached instead (SPEC §6).
    destination = await _destination(session, row, None, default_locale)
    if isinstance(destination, Skip):
        return destination
    return announcement, destination


def announcement_heading() -> Html:
    """The announcement's heading names the standing agency that speaks (SECRETARIAT_NAME)."""
    return bold(_("📣 Announcement from {secretariat}").format(secretariat=secretariat_name()))


async def _announcement(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, default_locale: str
) -> Rendered:
    found = await _about_announcement(session, row, default_locale)
    if isinstance(found, Skip):
        return found
    announcement, destination = found
    with use_locale(destination.locale):
        lines = [announcement_heading(), "", Html(announcement.html)]
        return _message(destination, lines, received_keyboard(announcement.id))


def progress_text(announcement: Announcement, progress: Progress) -> Html:
    return html_format(
        _("📣 Announcement #{id}: sent {sent}/{total} · {failed} failed"),
        id=announcement.id,
        sent=progress.delivered,
        total=progress.total,
        failed=progress.failed,
    )


def summary_text(announcement: Announcement, progress: Progress) -> Html:
    """Delivered, failed and 👍 counts, naming who could not be reached (SPEC §6). With
    hundreds of names it is longer than one message: the sender splits it."""
    lines: list[str] = [
        bold(_("📣 Announcement #{id} is finished.").format(id=announcement.id)),
        html_format(_("Delivered: {n}"), n=progress.delivered),
        html_format(_("Failed: {n}"), n=progress.failed),
        html_format(_("👍 Received: {n}"), n=progress.acks),
    ]
    if progress.unreachable:
        lines.append(
            escape(
                ngettext(
                    "{n} member cannot be reached in private (never started the bot, or "
                    "blocked it):",
                    "{n} members cannot be reached in private (never started the bot, or "
                    "blocked it):",
                    len(progress.unreachable),
                ).format(n=len(progress.unreachable))
            )
        )
        lines += [html_format("• {name}", name=name) for name in progress.unreachable]
    if progress.failures:
        lines.append(escape(_("Not delivered after several attempts:")))
        lines += [html_format("• {name}", name=name) for name in progress.failures]
    return join_lines(lines)


async def _announcement_summary(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, default_locale: str
) -> Rendered:
    """The summary for the admin who pressed 📣, once every copy is out."""
    found = await _about_announcement(session, row, default_locale)
    if isinstance(found, Skip):
        return found
    announcement, destination = found
    progress = await broadcasts.progress(session, announcement.id)
    with use_locale(destination.locale):
        return _message(destination, [summary_text(announcement, progress)], None)


async def _files_storage(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, default_locale: str
) -> Rendered:
    """FILES_DIR cannot take report files: the admins are told once (jobs/downloads.py)."""
    destination = await _destination(session, row, None, default_locale)
    if isinstance(destination, Skip):
        return destination
    with use_locale(destination.locale):
        lines: list[str] = [
            bold(_("⚠️ Report files cannot be saved")),
            html_format(
                _(
                    "The folder FILES_DIR does not take the files members send ({error}). "
                    "The reports are recorded and their downloads will be tried again; "
                    "please free space or fix the folder's permissions."
                ),
                error=row.payload.get("error", ""),
            ),
        ]
        return _message(destination, lines, None)


# --- groups ----------------------------------------------------------------------------


async def _topic_lost(
    session: AsyncSession, row: Outbox, timing: Timing, now: datetime, default_locale: str
) -> Rendered:
    """To an admin: a linked forum topic was deleted, so its council's posts now go to
    the group's General topic (bot/services/groups.topic_gone)."""
    council = await session.get(Council, row.payload["council_id"])
    if council is None:
        return Skip("council gone")
    destination = await _destination(session, row, None, default_locale)
    if isinstance(destination, Skip):
        return destination
    with use_locale(destination.locale):
        lines: list[str] = [
            bold(_("⚠️ A linked forum topic was deleted")),
            html_format(
                _(
                    "The topic of {council} in the group “{group}” no longer exists. The "
                    "council's digests and group reminders now go to the group's General "
                    "topic."
                ),
                council=council.name(destination.locale),
                group=row.payload.get("title") or "—",
            ),
            html_format(
                _("To choose another topic, send /link {code} inside it."), code=council.code
            ),
        ]
        return _message(destination, lines, None)


_RENDERERS = {
    "meeting_reminder": _meeting_reminder,
    "meeting_change": _meeting_change,
    "task_reminder": _task_message,
    "task_nudge": _task_message,
    "task_escalation": _task_escalation,
    "stand_in_notice": _stand_in_notice,
    "digest": _digest,
    "announcement": _announcement,
    "announcement_summary": _announcement_summary,
    TOPIC_LOST: _topic_lost,
    "files_storage": _files_storage,
}
