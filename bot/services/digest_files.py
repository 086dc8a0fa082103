"""The digest's section on report files (SPEC §7): the files received since the previous
digest, with their agency and official number. Kept apart from bot/services/digest.py,
which only calls `files_since` in `collect` and `lines` in `render`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.documents import Document
from bot.formats import format_cited
from bot.i18n import _, ngettext
from bot.models import Agency, Council, Member, ReportFile, Task
from bot.text import bold, html_format


@dataclass(frozen=True, slots=True)
class FileLine:
    agency_code: str
    task_id: int
    number: str | None
    issued_on: date | None
    file_name: str | None
    who: str
    pages: int  # an album of photos is one report of several pages


async def parts_with_files(
    session: AsyncSession, task_ids: Select[int]
) -> set[tuple[int, int]]:
    """(task id, agency id) of the parts of those tasks some report file was filed on."""
    rows = await session.execute(
        select(ReportFile.task_id, ReportFile.agency_id)
        .where(ReportFile.task_id.in_(task_ids))
        .distinct()
    )
    return {(task_id, agency_id) for task_id, agency_id in rows if task_id is not None}


async def files_since(session: AsyncSession, council: Council, since: datetime) -> list[FileLine]:
    """Files filed on the council's tasks after `since`, oldest first; an album once."""
    rows = await session.execute(
        select(
            Agency.code,
            ReportFile.task_id,
            ReportFile.doc_number,
            ReportFile.doc_date,
            ReportFile.file_name,
            Member.full_name,
            ReportFile.media_group_id,
        )
        .join(Task, Task.id == ReportFile.task_id)
        .join(Agency, Agency.id == ReportFile.agency_id)
        .join(Member, Member.id == ReportFile.member_id)
        .where(Task.council_id == council.id, ReportFile.received_at > since)
        .order_by(ReportFile.received_at, ReportFile.id)
    )
    found: list[FileLine] = []
    albums: dict[tuple[int, str], int] = {}  # (task, album) -> its index in `found`
    for code, task_id, number, issued_on, name, who, album in rows:
        assert task_id is not None  # joined to its task
        if album is not None and (task_id, album) in albums:
            index = albums[(task_id, album)]
            first = found[index]
            found[index] = FileLine(
                first.agency_code,
                first.task_id,
                first.number or number,
                first.issued_on or issued_on,
                first.file_name,
                first.who,
                first.pages + 1,
            )
            continue
        if album is not None:
            albums[(task_id, album)] = len(found)
        found.append(FileLine(code, task_id, number, issued_on, name, who, 1))
    return found


def lines(files: list[FileLine], locale: str) -> list[str]:
    """The section, or nothing when no file came."""
    if not files:
        return []
    out: list[str] = ["", bold(_("📎 Report files received since the previous digest"))]
    for line in files:
        if line.number is not None:
            what = format_cited(Document(line.number, line.issued_on), locale)
        elif line.pages > 1:
            what = ngettext("{n} photo", "{n} photos", line.pages).format(n=line.pages)
        else:
            what = line.file_name or _("photo")
        out.append(
            html_format(
                "• {agency} #{id} — {what} ({who})",
                agency=line.agency_code,
                id=line.task_id,
                what=what,
                who=line.who,
            )
        )
    return out
