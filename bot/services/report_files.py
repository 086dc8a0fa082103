"""Report files: a member sends the agency's report as a document (SPEC §6).

The file is recorded at once as the agency's report on a task; the bytes are fetched
later by the download queue (bot/services/file_downloads.py, jobs/downloads.py), so a
Telegram outage delays the copy, never the receipt. Every submission is checked here,
at the moment it is made: a registered member, a task of their agency in their council,
still open; a file type the secretariat can read, within Telegram's download limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import file_store, wake
from bot.documents import DocumentFormatError, parse_document
from bot.i18n import Msg, msg
from bot.models import Council, ReportFile, StatusReport, Task, TaskAgency
from bot.services import absences, audit, reports, tasks
from bot.services.errors import BadInputError, NotAllowedError, NotFoundError, UnavailableError
from bot.services.people import Requester

log = logging.getLogger(__name__)

# Telegram lets a bot download files of at most 20 MB (Bot API, getFile).
MAX_BYTES = 20 * 1024 * 1024
# A note (the caption's words after the number and date) is a status note's length.
MAX_NOTE = reports.MAX_NOTE
# Buttons offered for a file sent with no context: the most urgent open tasks.
MAX_CHOICES = 10

# What the secretariat reads: office documents, spreadsheets, and photos of signed pages.
ACCEPTED_EXTENSIONS = frozenset(
    {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".odt", ".ods", ".jpg", ".jpeg", ".png"}
)
ACCEPTED_MIME_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "image/jpeg",
        "image/png",
    }
)
# Programs and scripts: refused with their own reason, by name and by declared type
# (a renamed program keeps its type, a mislabelled type keeps its name).
REFUSED_EXTENSIONS = frozenset(
    {
        ".exe", ".bat", ".cmd", ".com", ".scr", ".pif", ".msi", ".msp", ".dll", ".cpl",
        ".js", ".jse", ".vbs", ".vbe", ".wsf", ".wsh", ".hta", ".ps1", ".psm1", ".lnk",
        ".reg", ".sh", ".bash", ".apk", ".jar", ".app", ".dmg", ".deb", ".rpm", ".run",
        ".bin", ".py", ".pl", ".php",
    }
)  # fmt: skip
REFUSED_MIME_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-msi",
        "application/x-ms-installer",
        "application/x-bat",
        "application/x-sh",
        "application/x-shellscript",
        "text/x-shellscript",
        "text/x-sh",
        "application/javascript",
        "application/x-javascript",
        "text/javascript",
        "application/vnd.android.package-archive",
        "application/java-archive",
        "text/x-python",
        "application/x-python-code",
    }
)


@dataclass(frozen=True)
class Incoming:
    """A file as Telegram describes it (no Telegram objects in services)."""

    kind: str  # "document" or "photo"
    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    file_size: int | None
    # Telegram's album id, when the file came with others (photos of signed pages).
    media_group_id: str | None = None


@dataclass(frozen=True)
class Upload:
    """A file sent through the desk's form: its bytes came with the request, so there is
    nothing to fetch from Telegram; it is kept under FILES_DIR at once."""

    file_name: str
    mime_type: str | None
    data: bytes


# A file uploaded through the desk has no Telegram file id (the chat's /files sends it from
# FILES_DIR); its identity for "the same file twice" is its checksum.
DESK_FILE_ID = ""


@dataclass(frozen=True)
class Caption:
    """What the caption says besides the command: the official number and date, a note."""

    number: str | None = None
    issued_on: date | None = None
    note: str | None = None


@dataclass(frozen=True)
class Received:
    file: ReportFile
    task: Task
    duplicate: bool  # the same file was received before: nothing new recorded
    part_done: bool  # the agency has already pressed ✅ on the task


@dataclass(frozen=True)
class Choice:
    """A file held until its sender picks the task it reports on."""

    file: ReportFile
    tasks: list[Task]


# "Số 123/BC-UBND ngày 10/12/2026, kèm phụ lục": the number, the date, then a note.
_NUMBERED = re.compile(
    r"(?:(?:số|so|no\.?)\s*:?\s*)?(?P<symbol>\d+[^\s,;]*)"
    r"(?:\s*,?\s*(?:ngày\s+)?(?P<date>\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{4}"
    r"|\d{1,2}\s+tháng\s+\d{1,2}\s+năm\s+\d{4}))?"
    r"(?P<rest>.*)",
    re.IGNORECASE | re.DOTALL,
)
_SAYS_NUMBER = re.compile(r"(?:số|so|no\.?)\s*:?\s*\d", re.IGNORECASE)


def parse_caption(text: str | None) -> Caption:
    """Read "Số 123/BC-UBND ngày 10/12/2026 [note]". Text that does not read as a number
    (and date) is kept whole as the note, as written, so the secretariat still sees it."""
    words = unicodedata.normalize("NFC", text or "").strip()
    if not words:
        return Caption()
    if len(words) > MAX_NOTE:
        raise BadInputError(
            msg(
                "The caption is {length} characters long; at most {limit} are allowed. "
                "Nothing was recorded.",
                length=len(words),
                limit=MAX_NOTE,
            )
        )
    match = _NUMBERED.fullmatch(words)
    if match is None:
        return Caption(note=words)
    day = match["date"] or ""
    if day and "tháng" not in day.casefold():
        day = re.sub(r"\s+", "", day)  # "10 / 12 / 2026" -> "10/12/2026"
    cited = f"{match['symbol']} {day}".strip()
    try:
        document = parse_document(cited)
    except DocumentFormatError:
        return Caption(note=words)
    if len(document.symbol) > 100:
        return Caption(note=words)
    rest = match["rest"].strip().lstrip(",;:-–—").strip()
    return Caption(document.symbol, document.issued_on, rest or None)


def says_a_number(text: str | None) -> bool:
    """Whether the caption starts like an official number ("Số 12…"), read or not."""
    return bool(text and _SAYS_NUMBER.match(text.strip()))


def _extension(name: str | None) -> str:
    return PurePosixPath(name or "").suffix.casefold()


def check_file(incoming: Incoming) -> None:
    """Refuse what the secretariat cannot or must not take, before anything is recorded."""
    extension = _extension(incoming.file_name)
    mime = (incoming.mime_type or "").casefold()
    if extension in REFUSED_EXTENSIONS or mime in REFUSED_MIME_TYPES:
        raise BadInputError(
            msg(
                "Programs and scripts are not accepted as reports; nothing was recorded. "
                "Please send the report as PDF, Word (DOC/DOCX), Excel (XLS/XLSX), "
                "ODT/ODS, or photos (JPEG/PNG) of the signed pages."
            )
        )
    if incoming.file_size is not None and incoming.file_size > MAX_BYTES:
        megabytes = f"{incoming.file_size / (1024 * 1024):.1f}"
        raise BadInputError(
            msg(
                "The file is {size} MB; Telegram lets the bot receive files of at most "
                "20 MB. Nothing was recorded. Please split the report into several files, "
                "or compress it (for example, save the PDF at a lower resolution), and "
                "send it again.",
                size=megabytes,
            )
        )
    if incoming.kind == "photo":
        return
    if extension not in ACCEPTED_EXTENSIONS and mime not in ACCEPTED_MIME_TYPES:
        raise BadInputError(
            msg(
                "This type of file is not accepted as a report; nothing was recorded. "
                "Please send PDF, Word (DOC/DOCX), Excel (XLS/XLSX), ODT/ODS, or photos "
                "(JPEG/PNG) of the signed pages."
            )
        )


def submit_usage() -> Msg:
    return msg(
        "Usage: send the report file with the caption /submit TASK_ID, optionally "
        "followed by the official number, date and a note.\n"
        "Example: /submit 12 Số 123/BC-UBND ngày 10/12/2026"
    )


def parse_submit(args_text: str) -> tuple[int, str]:
    """`/submit TASK_ID [rest]`: the task id and the rest of the caption."""
    first, _space, rest = args_text.strip().partition(" ")
    first = first.strip()
    if not (first.isascii() and first.isdigit() and len(first) <= 18):
        raise BadInputError(msg("Give the id of the task this report is for."), submit_usage())
    return int(first), rest.strip()


def _member_of(who: Requester) -> int:
    if who.member is None:
        raise NotAllowedError(
            msg(
                "Only registered members can submit reports. Please open the personal "
                "invitation link {secretariat} sent you. Your Telegram id is {id}.",
                id=who.telegram_user_id,
            )
        )
    return who.member.agency_id


async def _open_task_of(
    session: AsyncSession, who: Requester, task_id: int, today: date
) -> tuple[Task, bool]:
    """The task, if the sender's agency may report on it now (a stand-in too: `today` is
    the local day); and whether its part is done."""
    agency_id = _member_of(who)
    task = await session.get(Task, task_id)
    if task is None or task.cancelled_at is not None:
        raise NotFoundError(
            msg("There is no task #{id}, or it has been cancelled.", id=task_id), submit_usage()
        )
    council = await session.get(Council, task.council_id)
    part = next((p for p in task.assignments if p.agency_id == agency_id), None)
    if (
        part is None
        or council is None
        or not await absences.may_answer_in(session, who, council.code, today)
    ):
        raise NotAllowedError(
            msg("Task #{id} is not assigned to your agency; nothing was recorded.", id=task_id)
        )
    if task.done_at is not None:
        raise NotAllowedError(
            msg(
                "Task #{id} is closed: every agency has reported it done. Nothing was "
                "recorded; if the report must be replaced, please contact {secretariat}.",
                id=task_id,
            )
        )
    return task, part.done_at is not None


async def _already(session: AsyncSession, agency_id: int, unique_id: str) -> ReportFile | None:
    """The same file (Telegram's file_unique_id) already received from the agency."""
    return await session.scalar(
        select(ReportFile)
        .where(
            ReportFile.agency_id == agency_id,
            ReportFile.file_unique_id == unique_id,
            ReportFile.task_id.is_not(None),
        )
        .order_by(ReportFile.id)
        .limit(1)
    )


async def _duplicate(session: AsyncSession, who: Requester, incoming: Incoming) -> Received | None:
    earlier = await _already(session, _member_of(who), incoming.file_unique_id)
    if earlier is None or earlier.task_id is None:
        return None
    task = await session.get(Task, earlier.task_id)
    assert task is not None
    part = next(p for p in task.assignments if p.agency_id == earlier.agency_id)
    return Received(earlier, task, duplicate=True, part_done=part.done_at is not None)


def _new_row(who: Requester, incoming: Incoming, caption: Caption, now: datetime) -> ReportFile:
    assert who.member is not None
    return ReportFile(
        agency_id=who.member.agency_id,
        member_id=who.member.id,
        kind=incoming.kind,
        telegram_file_id=incoming.file_id,
        file_unique_id=incoming.file_unique_id,
        file_name=incoming.file_name,
        mime_type=incoming.mime_type,
        file_size=incoming.file_size,
        media_group_id=incoming.media_group_id,
        doc_number=caption.number,
        doc_date=caption.issued_on,
        note=caption.note,
        received_at=now,
        download_attempts=0,
    )


async def _file_on(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    row: ReportFile,
    task: Task,
    *,
    download: bool = True,
) -> None:
    """Record `row` as the agency's report on `task` and queue its download (unless its
    bytes are kept already: `download` False)."""
    row.task_id = task.id
    if download:
        row.download_due_at = now
    await session.flush()
    if download:
        await wake.after_commit(session, wake.FILES)
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "task.file",
        task_id=task.id,
        agency_id=row.agency_id,
        file_id=row.id,
        number=row.doc_number,
    )


async def submit(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    incoming: Incoming,
    task_id: int,
    caption: Caption,
    today: date,
) -> Received:
    """Record the file as the agency's report on task `task_id` (`today`: the local day)."""
    _member_of(who)
    check_file(incoming)
    task, part_done = await _open_task_of(session, who, task_id, today)
    duplicate = await _duplicate(session, who, incoming)
    if duplicate is not None:
        return duplicate
    row = _new_row(who, incoming, caption, now)
    session.add(row)
    await _file_on(session, now, who, row, task)
    return Received(row, task, duplicate=False, part_done=part_done)


def upload_too_large() -> BadInputError:
    """A file sent through the desk over MAX_BYTES (refused as it arrives: web/security.py)."""
    return BadInputError(
        msg(
            "The file is larger than 20 MB, the most that can be received. Nothing was "
            "recorded. Please split the report into several files, or compress it (for "
            "example, save the PDF at a lower resolution), and send it again."
        )
    )


async def submit_upload(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    upload: Upload,
    task_id: int,
    caption: Caption,
    today: date,
    files_dir: Path,
) -> Received:
    """Record a file uploaded through the desk as the agency's report on task `task_id`:
    the same checks as a file sent in the chat, then the bytes are kept under FILES_DIR
    (written last, once every check has passed, off the event loop)."""
    _member_of(who)
    if len(upload.data) > MAX_BYTES:
        raise upload_too_large()
    if not upload.data:
        raise BadInputError(msg("The file is empty; nothing was recorded."))
    digest = await asyncio.to_thread(lambda: hashlib.sha256(upload.data).hexdigest())
    incoming = Incoming(
        kind="document",
        file_id=DESK_FILE_ID,
        file_unique_id=f"sha256:{digest}",
        file_name=upload.file_name,
        mime_type=upload.mime_type,
        file_size=len(upload.data),
    )
    check_file(incoming)
    task, part_done = await _open_task_of(session, who, task_id, today)
    duplicate = await _duplicate(session, who, incoming)
    if duplicate is not None:
        return duplicate
    extension = file_store.extension_for(upload.file_name, "document")
    try:
        sha256, stored = await asyncio.to_thread(
            file_store.store, files_dir, upload.data, extension
        )
    except file_store.StorageError as error:
        log.error("report files cannot be kept in FILES_DIR: %s", error)
        raise UnavailableError(
            msg(
                "The file could not be kept on the server; nothing was recorded. Please "
                "try again later, or send the file in the chat with the bot."
            )
        ) from None
    row = _new_row(who, incoming, caption, now)
    row.sha256, row.stored_path, row.downloaded_at = sha256, stored, now
    session.add(row)
    await _file_on(session, now, who, row, task, download=False)
    return Received(row, task, duplicate=False, part_done=part_done)


async def hold_for_choice(
    session: AsyncSession, now: datetime, who: Requester, incoming: Incoming, caption: Caption
) -> Choice | Received:
    """A file sent with no context: keep it, unfiled, and list the tasks to choose from."""
    _member_of(who)
    check_file(incoming)
    duplicate = await _duplicate(session, who, incoming)
    if duplicate is not None:
        return duplicate
    open_tasks = (await tasks.tasks_of_member(session, who))[:MAX_CHOICES]
    if not open_tasks:
        raise NotFoundError(
            msg(
                "Your agency has no open task to report on; nothing was recorded. To send "
                "a report for a particular task, use the caption /submit TASK_ID."
            )
        )
    row = _new_row(who, incoming, caption, now)
    session.add(row)
    await session.flush()
    return Choice(row, open_tasks)


async def choose_task(
    session: AsyncSession, now: datetime, who: Requester, file_id: int, task_id: int, today: date
) -> Received:
    """The sender picked the task a held file reports on (a button: checked again here)."""
    _member_of(who)
    assert who.member is not None
    row = await session.get(ReportFile, file_id, with_for_update={"of": ReportFile})
    if row is None or row.member_id != who.member.id:
        raise NotAllowedError(msg("This button is not for you."))
    if row.task_id is not None:
        task = await session.get(Task, row.task_id)
        assert task is not None
        return Received(row, task, duplicate=True, part_done=False)
    task, part_done = await _open_task_of(session, who, task_id, today)
    duplicate = await _duplicate(
        session,
        who,
        Incoming(row.kind, row.telegram_file_id, row.file_unique_id, None, None, None),
    )
    if duplicate is not None:
        await session.delete(row)
        return duplicate
    await _file_on(session, now, who, row, task)
    await _file_held_pages(session, now, who, row, task)
    return Received(row, task, duplicate=False, part_done=part_done)


@dataclass(frozen=True)
class AlbumPage:
    """A file of an album whose first file arrived before: filed (or held) with it."""

    file: ReportFile
    task_id: int | None  # None: held until the sender picks the task of the first


async def album_page(
    session: AsyncSession, now: datetime, who: Requester, incoming: Incoming, today: date
) -> AlbumPage | Received | None:
    """A page of an album some file of which the member already sent: it goes where that
    one went (its task, or held with it for the sender's choice). None when the file is
    not part of such an album."""
    if incoming.media_group_id is None or who.member is None:
        return None
    first = await session.scalar(
        select(ReportFile)
        .where(
            ReportFile.member_id == who.member.id,
            ReportFile.media_group_id == incoming.media_group_id,
        )
        .order_by(ReportFile.id)
        .limit(1)
    )
    if first is None:
        return None
    if first.task_id is None:
        check_file(incoming)
        duplicate = await _duplicate(session, who, incoming)
        if duplicate is not None:
            return duplicate
        row = _new_row(who, incoming, Caption(), now)
        session.add(row)
        await session.flush()
        return AlbumPage(row, None)
    received = await submit(session, now, who, incoming, first.task_id, Caption(), today)
    if received.duplicate:
        return received
    return AlbumPage(received.file, first.task_id)


async def _file_held_pages(
    session: AsyncSession, now: datetime, who: Requester, chosen: ReportFile, task: Task
) -> None:
    """The other pages of the chosen file's album, held with it, go to the same task."""
    if chosen.media_group_id is None:
        return
    pages = await session.scalars(
        select(ReportFile).where(
            ReportFile.member_id == chosen.member_id,
            ReportFile.media_group_id == chosen.media_group_id,
            ReportFile.task_id.is_(None),
            ReportFile.id != chosen.id,
        )
    )
    for page in pages:
        await _file_on(session, now, who, page, task)


async def task_of_reply(
    session: AsyncSession, who: Requester, chat_id: int, message_id: int
) -> int | None:
    """The task a reply is about: a task reminder or nudge, or the note question after a
    status button (whose report is the member's own)."""
    if who.member is None:
        return None
    asked = await session.scalar(
        select(StatusReport.task_id).where(
            StatusReport.prompt_chat_id == chat_id,
            StatusReport.prompt_message_id == message_id,
            StatusReport.member_id == who.member.id,
        )
    )
    if asked is not None:
        return int(asked)
    return await reports.task_of_reminder(session, chat_id, message_id)


async def latest_files(session: AsyncSession, task_id: int) -> dict[int, list[ReportFile]]:
    """Each agency's latest report on the task, by agency id: its latest file, or all the
    pages of the album the latest file came in."""
    rows = (
        await session.scalars(
            select(ReportFile)
            .where(ReportFile.task_id == task_id)
            .order_by(ReportFile.received_at, ReportFile.id)
        )
    ).all()
    latest = {row.agency_id: row for row in rows}
    return {
        agency_id: [
            row
            for row in rows
            if row.agency_id == agency_id
            and (
                row.id == last.id
                or (last.media_group_id is not None and row.media_group_id == last.media_group_id)
            )
        ]
        for agency_id, last in latest.items()
    }


async def files_of_task(
    session: AsyncSession, who: Requester, task_id: int
) -> tuple[Task, list[tuple[TaskAgency, list[ReportFile]]]]:
    """/files: every assigned agency with its latest report's files (none: empty)."""
    task = await session.get(Task, task_id)
    if task is None:
        raise NotFoundError(msg("There is no task #{id}.", id=task_id), files_usage())
    latest = await latest_files(session, task_id)
    return task, [(part, latest.get(part.agency_id, [])) for part in task.assignments]


def files_usage() -> Msg:
    return msg("Usage: /files TASK_ID\nExample: /files 12")


def parse_files_args(args: list[str]) -> int:
    if len(args) != 1 or not (args[0].isascii() and args[0].isdigit() and len(args[0]) <= 18):
        raise BadInputError(msg("Give the id of the task."), files_usage())
    return int(args[0])
