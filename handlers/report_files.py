"""Report files: a document or photo sent in private as the agency's report on a task
(as a reply to the task's reminder or note question, with the caption /submit TASK_ID, or
with no context: then buttons list the agency's open tasks); /files TASK_ID for admins.

In a group a file is not taken: reports go to the bot in private.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

from telegram import Message
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.documents import Document
from bot.formats import format_cited, format_day
from bot.i18n import _, current_locale
from bot.keyboards import done_keyboard, file_choice_keyboard, to_markup
from bot.models import ReportFile
from bot.services import report_files
from bot.services.permissions import require_admin
from bot.services.report_files import Choice, Incoming, Received
from bot.text import Html, bold, escape, html_format, join_lines
from handlers.common import Reply, Turn, handler
from handlers.roster_import import IMPORT_CAPTION

SUBMIT = re.compile(r"^/submit(?:@\w+)?(?:\s+|$)", re.IGNORECASE)


def incoming_of(message: Message) -> Incoming:
    album = message.media_group_id
    if message.document is not None:
        document = message.document
        return Incoming(
            "document",
            document.file_id,
            document.file_unique_id,
            document.file_name,
            document.mime_type,
            document.file_size,
            album,
        )
    largest = max(message.photo, key=lambda size: (size.file_size or 0, size.width))
    return Incoming(
        "photo",
        largest.file_id,
        largest.file_unique_id,
        None,
        "image/jpeg",
        largest.file_size,
        album,
    )


@handler
async def receive(turn: Turn) -> Reply | None:
    message = turn.message
    incoming = incoming_of(message)
    caption = message.caption or ""
    who = turn.who
    if who.member is None and who.is_admin and not SUBMIT.match(caption):
        # An admin who is not on a roster sends files for one reason: a roster.
        return Reply(escape(_("To import a roster, send the file again with the caption /import.")))
    if SUBMIT.match(caption):
        task_id, rest = report_files.parse_submit(SUBMIT.sub("", caption, count=1))
        received = await report_files.submit(
            turn.session,
            turn.now,
            who,
            incoming,
            task_id,
            report_files.parse_caption(rest),
            turn.deps.timing.today(turn.now),
        )
        return receipt(received, turn.deps.settings.tz, rest)
    page = await report_files.album_page(
        turn.session, turn.now, who, incoming, turn.deps.timing.today(turn.now)
    )
    if isinstance(page, Received):
        return receipt(page, turn.deps.settings.tz, caption)
    if page is not None:
        # The first page's receipt (or its buttons) covers the album: one answer, not ten.
        return None
    parsed = report_files.parse_caption(caption)
    replied = message.reply_to_message
    if replied is not None:
        replied_task = await report_files.task_of_reply(
            turn.session, who, turn.chat_id, replied.message_id
        )
        if replied_task is not None:
            received = await report_files.submit(
                turn.session,
                turn.now,
                who,
                incoming,
                replied_task,
                parsed,
                turn.deps.timing.today(turn.now),
            )
            return receipt(received, turn.deps.settings.tz, caption)
    held = await report_files.hold_for_choice(turn.session, turn.now, who, incoming, parsed)
    if isinstance(held, Received):
        return receipt(held, turn.deps.settings.tz, caption)
    return _choice(held)


def _choice(choice: Choice) -> Reply:
    keyboard = file_choice_keyboard(choice.file.id, [(t.id, t.title) for t in choice.tasks])
    text = escape(
        _(
            "Which task is this report for? Choose it below. (Next time you can reply to "
            "the task's reminder with the file, or send it with the caption /submit TASK_ID.)"
        )
    )
    return Reply(text, markup=to_markup(keyboard))


def file_label(row: ReportFile) -> str:
    return row.file_name or _("photo")


def _document_of(row: ReportFile) -> str | None:
    if row.doc_number is None:
        return None
    return format_cited(Document(row.doc_number, row.doc_date))


def receipt(received: Received, tz: ZoneInfo, caption: str | None = None) -> Reply:
    """What was recorded, with ✅ to mark the agency's part done."""
    row, task = received.file, received.task
    locale = current_locale()
    if received.duplicate:
        return Reply(
            html_format(
                _(
                    "This file was already received for task #{id} on {day}; nothing new "
                    "was recorded."
                ),
                id=task.id,
                day=format_day(row.received_at, tz, locale, weekday=False),
            )
        )
    lines: list[str] = [
        html_format(
            _("📎 Report received for task #{id} · {title}"), id=task.id, title=bold(task.title)
        ),
        html_format(_("Agency: {agency}"), agency=row.agency.addressee(locale)),
    ]
    document = _document_of(row)
    if document is not None:
        lines.append(html_format(_("Document: {document}"), document=document))
    if row.note:
        lines.append(html_format(_("Note: {note}"), note=row.note))
    if row.doc_number is None and report_files.says_a_number(caption):
        lines.append(
            escape(_("⚠️ The number and date could not be read; the caption is kept as the note."))
        )
    lines.append(html_format(_("File: {name}"), name=file_label(row)))
    if received.part_done:
        return Reply(join_lines(lines))
    lines.append("")
    lines.append(escape(_("If this report completes your agency's part, press ✅.")))
    return Reply(join_lines(lines), markup=to_markup(done_keyboard(task.id)))


@handler
async def files(turn: Turn) -> list[Reply]:
    require_admin(turn.who)
    task_id = report_files.parse_files_args(turn.args)
    task, parts = await report_files.files_of_task(turn.session, turn.who, task_id)
    locale, tz = current_locale(), turn.deps.settings.tz
    answers: list[Reply] = []
    missing: list[str] = []
    for part, rows in parts:
        if not rows:
            missing.append(part.agency.addressee(locale))
            continue
        # The number and date ride on an album's captioned page.
        row = next((r for r in rows if r.doc_number is not None), rows[-1])
        lines = [
            html_format("#{id} · {agency}", id=task.id, agency=bold(part.agency.addressee(locale)))
        ]
        document = _document_of(row)
        if document is not None:
            lines.append(html_format(_("Document: {document}"), document=document))
        if row.note:
            lines.append(html_format(_("Note: {note}"), note=row.note))
        lines.append(
            html_format(
                _("Sent by {name}, {day}"),
                name=row.member.full_name,
                day=format_day(row.received_at, tz, locale, weekday=False),
            )
        )
        caption = join_lines(lines)
        for index, page in enumerate(rows):
            # An album's pages in order, the caption on the first.
            text = caption if index == 0 else Html("")
            answers.append(_file_reply(text, page))
    heading = html_format(_("Task #{id} · {title}"), id=task.id, title=bold(task.title))
    if missing:
        summary: Html = join_lines(
            [
                heading,
                escape(_("No report file received from:")),
                *(html_format("• {agency}", agency=name) for name in missing),
            ]
        )
    else:
        summary = join_lines([heading, escape(_("Every assigned agency has sent a report file."))])
    answers.append(Reply(summary))
    return answers


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    sent_file = filters.Document.ALL | filters.PHOTO
    return [
        # A roster (/import) is handled before this (handlers/roster_import.py).
        MessageHandler(private & sent_file & ~IMPORT_CAPTION, receive),
        CommandHandler("files", files),
    ]


def _file_reply(text: Html, row: ReportFile) -> Reply:
    if row.telegram_file_id or row.stored_path is None:
        return Reply(text, file_id=(row.kind, row.telegram_file_id))
    # Uploaded through the desk: Telegram has no copy; sent from FILES_DIR.
    name = row.file_name or PurePosixPath(row.stored_path).name
    return Reply(text, kept=(name, row.stored_path))
