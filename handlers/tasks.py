"""/newtask, /canceltask, /tasks and /status."""

from __future__ import annotations

from datetime import datetime

from telegram.ext import BaseHandler, CommandHandler

from bot.formats import format_document
from bot.i18n import _, current_locale, ngettext
from bot.keyboards import task_status_keyboard, to_markup
from bot.models import ReportStatus, Task
from bot.outbox.render import due_line
from bot.schedule import Timing
from bot.services import completion, reports, tasks
from bot.services.reports import mark
from bot.text import Html, bold, escape, html_format, join_lines
from handlers.common import Reply, Turn, handler


def task_summary(
    task: Task,
    timing: Timing,
    now: datetime,
    statuses: dict[tuple[int, int], ReportStatus] | None = None,
) -> list[Html]:
    """#42 · title, the deadline with how far it is, and each agency with its status."""
    statuses = statuses or {}
    marks = []
    for part in task.assignments:
        latest = statuses.get((task.id, part.agency_id))
        marks.append(f"{escape(part.agency.code)} {mark(part.done_at is not None, latest)}")
    lines = [
        html_format("#{id} · {title}", id=task.id, title=bold(task.title)),
        due_line(task, timing, now, current_locale()),
        Html(" · ".join(marks)),
    ]
    lines.extend(_document_line(task))
    return lines


def _document_line(task: Task) -> list[Html]:
    """The document that assigned the task, cited in full (SPEC §8), if any."""
    if not task.ref:
        return []
    return [html_format(_("📄 Document: {ref}"), ref=format_document(task.ref))]


def task_completion(
    task: Task,
    timing: Timing,
    now: datetime,
    statuses: dict[tuple[int, int], ReportStatus],
) -> list[Html]:
    """A task in /tasks: its deadline, its completion class, and each agency's part with
    its latest status and its own class."""
    calendar = timing.calendar
    lines = [
        html_format("#{id} · {title}", id=task.id, title=bold(task.title)),
        due_line(task, timing, now, current_locale()),
        html_format(
            _("📌 Status of the task: {completion}"),
            completion=completion.classify_task(task, now, calendar).label(),
        ),
    ]
    for part in task.assignments:
        latest = statuses.get((task.id, part.agency_id))
        lines.append(
            html_format(
                "• {agency} {mark}: {completion}",
                agency=part.agency.code,
                mark=mark(part.done_at is not None, latest),
                completion=completion.classify_part(task, part, now, calendar).label(),
            )
        )
    lines.extend(_document_line(task))
    return lines


@handler
async def new_task(turn: Turn) -> Reply:
    task, planned = await tasks.create_task(
        turn.session, turn.now, turn.who, turn.deps.timing, turn.args_text, turn.actor
    )
    timing = turn.deps.timing
    lines = [
        html_format(
            _("✅ Task #{id} is created for {council}."),
            id=task.id,
            council=task.council.name(current_locale()),
        ),
        *task_summary(task, timing, turn.now),
        "",
        escape(
            ngettext(
                "{n} reminder is planned for the registered members of these agencies.",
                "{n} reminders are planned for the registered members of these agencies.",
                planned,
            ).format(n=planned)
        ),
    ]
    if task.recurrence is not None:
        lines.append(escape(_("When it falls due, the task of the next period is created.")))
    return Reply(join_lines(lines))


@handler
async def cancel_task(turn: Turn) -> Reply:
    task = await tasks.cancel_task(turn.session, turn.now, turn.who, turn.args, turn.actor)
    return Reply(
        html_format(
            _("❌ Task #{id} “{title}” is cancelled; its reminders are withdrawn."),
            id=task.id,
            title=task.title,
        )
    )


@handler
async def list_tasks(turn: Turn) -> Reply:
    code = turn.args[0] if turn.args else None
    group = None if turn.in_private else turn.chat_id
    found = await tasks.open_tasks(
        turn.session, turn.who, code, group_chat_id=group, thread_id=turn.thread_id
    )
    if not found:
        return Reply(escape(_("No open tasks.")))
    timing = turn.deps.timing
    locale = current_locale()
    statuses = await reports.latest_statuses(turn.session, [t.id for t in found])
    lines: list[str] = [
        html_format(
            _("📋 Open tasks ({as_of}):"), as_of=completion.as_of(turn.now, timing.tz, locale)
        )
    ]
    council_id = None
    for task in sorted(found, key=lambda t: (t.council_id, t.due_on, t.id)):
        if task.council_id != council_id:
            council_id = task.council_id
            lines += ["", bold(task.council.name(locale))]
        lines += ["", *task_completion(task, timing, turn.now, statuses)]
    if turn.who.is_admin:
        lines += ["", escape(_("To cancel a task: /canceltask ID."))]
    return Reply(join_lines(lines))


@handler
async def status(turn: Turn) -> list[Reply]:
    found = await tasks.tasks_of_member(turn.session, turn.who)
    if not found:
        return [Reply(escape(_("Your agency has no open tasks to report on.")))]
    timing = turn.deps.timing
    statuses = await reports.latest_statuses(turn.session, [t.id for t in found])
    replies = [Reply(escape(_("📋 Your agency's open tasks — answer with a button:")))]
    for task in found:
        lines = [
            *task_summary(task, timing, turn.now, statuses),
            escape(task.council.name(current_locale())),
        ]
        replies.append(Reply(join_lines(lines), to_markup(task_status_keyboard(task.id))))
    return replies


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("status", status),
        CommandHandler("newtask", new_task),
        CommandHandler("canceltask", cancel_task),
        CommandHandler("tasks", list_tasks),
    ]
