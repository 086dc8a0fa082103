"""Roster files (CSV or XLSX, SPEC §4): read, validate row by row, import the good rows."""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SUPPORTED_LOCALES
from bot.i18n import Msg, msg
from bot.models import Agency, AgencyKind, Council, CouncilMembership, Member
from bot.services import audit
from bot.services.errors import BadInputError
from bot.services.invites import DEFAULT_TTL, issue_invite
from bot.services.members import remove_seat
from bot.services.people import Requester, clean_name, name_key
from bot.services.permissions import require_admin
from bot.services.roster_columns import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    AcceptedRoles,
    column_names,
    column_of,
    role_of,
)

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
# Limits on what is read, checked while reading (see read_roster).
MAX_COLUMNS = 50  # in the header row; cells to the right of the header are not read
MAX_CELL_CHARS = 1_000  # the longest value a roster needs is a name of 200
# An XLSX file is a ZIP of XML parts.
MAX_ZIP_ENTRIES = 1_000  # Excel writes about ten
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024  # all parts together
MAX_ZIP_RATIO = 100  # XML deflates 5-20 times; a ZIP bomb by thousands of times
MAX_RATIO_FROM_BYTES = 1024 * 1024  # small parts may compress well: the ratio counts above
MAX_XML_ELEMENTS = 1_500_000  # counted as "<"; a full 10,000-row roster has ~600,000
SHEET_MAX_COLUMN = 16_384  # XFD, the widest sheet Excel makes

_CODE = re.compile(r"^[A-Z0-9_]{1,20}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 .()-]{5,30}$")


@dataclass(frozen=True)
class RosterRow:
    number: int  # as a spreadsheet shows it: the header is row 1
    council: str
    full_name: str
    position: str
    agency: str
    agency_name: str
    role: str  # as written: "Ủy viên", "vice_chair" (see roster_columns.role_of)
    language: str
    phone: str
    email: str


@dataclass(frozen=True)
class RowError:
    number: int
    reason: Msg


@dataclass(frozen=True)
class SeatRemoved:
    """A seat taken away because the file names the council but not the member."""

    member: Member
    council: str


@dataclass
class ImportReport:
    new_members: list[tuple[Member, str]] = field(default_factory=list)  # (member, invite token)
    # Removed members the file lists again: back on the roster, with a fresh invite
    # token (they were unbound when removed). Counted in `updated` too.
    returned: list[tuple[Member, str]] = field(default_factory=list)
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    seats_removed: list[SeatRemoved] = field(default_factory=list)
    # Each good row's outcome by its number: "new", "returned", "updated", "unchanged"
    # (the desk's preview lists them row by row).
    outcomes: dict[int, str] = field(default_factory=dict)

    @property
    def imported(self) -> int:
        return len(self.new_members) + self.updated + self.unchanged

    @property
    def invitations(self) -> list[tuple[Member, str]]:
        """Every invite token this import issued: new members, then returning ones."""
        return [*self.new_members, *self.returned]


def read_roster(filename: str, data: bytes) -> list[RosterRow]:
    """Parse a roster file. A file that cannot be read at all raises BadInputError.

    Blocking and CPU-bound (up to a few seconds for the largest file allowed): the bot
    calls it in a worker thread. Every limit is checked while reading, before anything
    large is built, so a hostile file costs little more than a good one of the same size.
    """
    if len(data) > MAX_FILE_BYTES:
        raise BadInputError(too_large())
    lower = filename.lower()
    looks_zip = data[:4] == b"PK\x03\x04"
    if lower.endswith((".xlsx", ".xlsm")) or (looks_zip and not lower.endswith(".csv")):
        table = _read_xlsx(data)
    elif lower.endswith((".csv", ".txt")) or not looks_zip:
        table = _read_csv(data)
    else:
        raise BadInputError(_unknown_format())
    return _rows_from_table(table)


def too_large() -> Msg:
    return msg("The file is larger than 5 MB. Please split the roster.")


def _unknown_format() -> Msg:
    return msg("The roster must be a CSV (UTF-8) or an XLSX file.")


def _not_xlsx() -> Msg:
    return msg("The file is not a valid XLSX spreadsheet. Please save it again as .xlsx.")


def _too_much_data() -> Msg:
    return msg(
        "The spreadsheet holds far more data than a roster (at most 10,000 rows of 50 "
        "columns). Please delete the unused rows, columns and sheets, or split the roster."
    )


def _too_wide() -> Msg:
    return msg(
        "The header row has more than 50 columns. A roster needs only: {required}; "
        "optional: {optional}.",
        required=column_names(REQUIRED_COLUMNS),
        optional=column_names(OPTIONAL_COLUMNS),
    )


def _cell_too_long(row: int, column: str) -> Msg:
    return msg(
        "Row {row}: the cell in column {column} is longer than 1,000 characters. "
        "Please check the file.",
        row=row,
        column=column,
    )


class _Table:
    """The rows as read, held to the limits as each one arrives."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.width = 0  # the header's: cells to the right of it are not read

    @property
    def full(self) -> bool:
        # The header, MAX_ROWS rows and one more: enough to tell "too many" (after the
        # blank rows at the end are dropped) without reading on.
        return len(self.rows) >= MAX_ROWS + 2

    def add(self, cells: list[str]) -> None:
        if not self.rows:
            filled = [i for i, cell in enumerate(cells) if cell.strip()]
            self.width = filled[-1] + 1 if filled else 0
            if self.width > MAX_COLUMNS:
                raise BadInputError(_too_wide())
        cells = cells[: self.width]
        for index, cell in enumerate(cells):
            if len(cell) > MAX_CELL_CHARS:
                header = self.rows[0] if self.rows else cells
                name = header[index].strip() or _column_letter(index)
                raise BadInputError(_cell_too_long(len(self.rows) + 1, name))
        self.rows.append(cells)


def _column_letter(index: int) -> str:
    """A, B, … Z, AA, … for a 0-based column index."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(
            msg(
                "The CSV file is not UTF-8 (problem at byte {offset}). In Excel choose "
                "'CSV UTF-8 (Comma delimited)' when saving, then send it again.",
                offset=exc.start,
            )
        ) from None
    if "\x00" in text:
        raise BadInputError(_unknown_format())
    first_line = text[: text.find("\n")] if "\n" in text else text
    # Excel in some locales saves with semicolons; the header line tells which.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    table = _Table()
    # The csv module refuses a field over csv.field_size_limit() (128 KB) by itself, a
    # process-wide setting left alone here; _Table refuses anything over MAX_CELL_CHARS.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            table.add(record)
            if table.full:
                break
    except csv.Error:
        # With NUL refused above and newline="", what is left is a field over 128 KB:
        # in practice a quotation mark that is never closed.
        raise BadInputError(
            msg(
                "Row {row}: a cell is longer than 1,000 characters, or a quotation mark "
                "is not closed. Please check the file.",
                row=len(table.rows) + 1,
            )
        ) from None
    return table.rows


def _read_xlsx(data: bytes) -> list[list[str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise BadInputError(_not_xlsx()) from None
    with archive:
        _check_archive(archive)
    return _read_first_sheet(data)


def _check_archive(archive: zipfile.ZipFile) -> None:
    """Refuse a ZIP bomb from its directory, before inflating anything; then count the
    XML elements while inflating, before openpyxl parses them.

    openpyxl spends about 2 µs on each XML element, even on cells to the right of
    `max_col`, and reads the shared strings whole: 4 MB of `<c/>` (which zip into 9 KB)
    keep it busy for 2 s. Inflating and counting `<` is a hundred times faster.
    """
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise BadInputError(_not_xlsx())
    total = 0
    for entry in entries:
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise BadInputError(_not_xlsx())  # Excel writes only these two
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        bomb = entry.file_size > MAX_RATIO_FROM_BYTES and ratio > MAX_ZIP_RATIO
        if bomb or total > MAX_UNZIPPED_BYTES:
            raise BadInputError(_too_much_data())
    elements = 0
    try:
        # Every part, whatever its name: the workbook may point at a sheet called
        # anything. In a picture, a "<" is just a byte; there cannot be many.
        for entry in entries:
            # The declared size is a ceiling: zipfile stops there (and a file that lied
            # about it fails its CRC check).
            with archive.open(entry) as stream:
                while chunk := stream.read(1 << 20):
                    elements += chunk.count(b"<")
                    if elements > MAX_XML_ELEMENTS:
                        raise BadInputError(_too_much_data())
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError):
        raise BadInputError(_not_xlsx()) from None


def _read_first_sheet(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # imported here: only imports need it

    table = _Table()
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            # Explicit bounds: without them read-only openpyxl pads every row to the width
            # the sheet declares, and makes a row of that width for every missing one up
            # to the last: `A1:XFD1048576` and one cell in the last row meant a million
            # rows of 16,384 cells. The header is read once in full width to learn how
            # wide the roster is; then no cell to the right of it, and no row past
            # MAX_ROWS + 2.
            rows = sheet.iter_rows(min_row=1, max_row=1, max_col=SHEET_MAX_COLUMN, values_only=True)
            table.add([_cell_text(value) for value in next(iter(rows), ())])
            if table.width:
                for values in sheet.iter_rows(
                    min_row=2, max_row=MAX_ROWS + 2, max_col=table.width, values_only=True
                ):
                    table.add([_cell_text(value) for value in values])
                    if table.full:
                        break
        finally:
            workbook.close()
    except BadInputError:
        raise
    except Exception as error:
        # Whatever a damaged or hand-made file makes openpyxl raise (malformed XML,
        # missing parts, bad values): the file cannot be read, and that is all to say.
        log.debug("roster: unreadable XLSX (%s: %s)", type(error).__name__, error)
        raise BadInputError(_not_xlsx()) from None
    return table.rows


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phone numbers typed as numbers
    return str(value)


def _rows_from_table(table: list[list[str]]) -> list[RosterRow]:
    while table and not any(cell.strip() for cell in table[-1]):
        table.pop()
    if not table:
        raise BadInputError(msg("The roster is empty: the first row must be the header."))
    index = _column_positions(table[0])
    missing = tuple(name for name in REQUIRED_COLUMNS if name not in index)
    if missing:
        raise BadInputError(
            msg(
                "The header row lacks the column(s) {missing}. Required: {required}; "
                "optional: {optional}.",
                missing=column_names(missing),
                required=column_names(REQUIRED_COLUMNS),
                optional=column_names(OPTIONAL_COLUMNS),
            )
        )
    if len(table) - 1 > MAX_ROWS:
        raise BadInputError(msg("The roster has more than 10,000 rows. Please split it."))

    def cell(row: list[str], name: str) -> str:
        position = index.get(name)
        if position is None or position >= len(row):
            return ""
        return row[position].strip()

    rows = []
    for number, raw in enumerate(table[1:], start=2):
        if not any(value.strip() for value in raw):
            continue  # blank lines between blocks are common in hand-made rosters
        rows.append(
            RosterRow(
                number=number,
                council=cell(raw, "council").upper(),
                full_name=clean_name(cell(raw, "full_name")),
                position=clean_name(cell(raw, "position")),
                agency=cell(raw, "agency").upper(),
                agency_name=clean_name(cell(raw, "agency_name")),
                role=cell(raw, "role"),
                language=cell(raw, "language").lower(),
                phone=cell(raw, "phone"),
                email=cell(raw, "email"),
            )
        )
    if not rows:
        raise BadInputError(msg("The roster has a header but no member rows."))
    return rows


def _column_positions(header: list[str]) -> dict[str, int]:
    """Where each known column is. English and Vietnamese names may be mixed (one
    column "Họ và tên", another "agency"); the same column named twice is refused, since
    either choice could silently import the wrong one. Other columns (STT, Ghi chú) are
    left unread."""
    positions: dict[str, int] = {}
    for position, text in enumerate(header):
        column = column_of(text)
        if column is None:
            continue
        if column in positions:
            raise BadInputError(
                msg(
                    "The columns “{first}” and “{second}” both name the column {column}. "
                    "Please keep one of them.",
                    first=header[positions[column]].strip(),
                    second=text.strip(),
                    column=column_names((column,)),
                )
            )
        positions[column] = position
    return positions


async def import_roster(
    session: AsyncSession,
    now: datetime,
    rows: list[RosterRow],
    *,
    by: Requester | None,
    ttl_days: int = DEFAULT_TTL.days,
    remove_unlisted: bool = True,
) -> ImportReport:
    """Import the good rows (new members get an invite token); report the bad ones.

    The file is the roster of every council it names: a member seated in one of those
    councils whom no row of the file names there (even a refused row) loses that seat,
    and the report lists each such removal. Councils the file does not name are left
    alone. A removed member (`members remove`) whom the file lists is back on the roster.
    `remove_unlisted=False` only adds and updates (tests enrol people one by one so).

    `by` is the admin in chat, or None for the command line. Runs inside the caller's
    transaction, so either every good row is written or none is.
    """
    require_admin(by)
    actor = audit.CLI_ACTOR if by is None else audit.telegram_actor(by.telegram_user_id)
    ttl = timedelta(days=ttl_days)
    report = ImportReport()
    councils = {c.code: c for c in (await session.scalars(select(Council))).all()}
    agencies = {a.code: a for a in (await session.scalars(select(Agency))).all()}
    seen: dict[tuple[str, str, str], int] = {}

    for row in rows:
        problem = _check_row(row, councils, agencies)
        key = (row.council, row.agency, name_key(row.full_name))
        if problem is None and key in seen:
            problem = msg("the same person as row {row}", row=seen[key])
        if problem is not None:
            report.errors.append(RowError(row.number, problem))
            continue
        seen[key] = row.number

        agency = agencies.get(row.agency)
        if agency is None:
            agency = Agency(
                code=row.agency,
                name_vi=row.agency_name,
                name_en=row.agency_name,
                kind=AgencyKind.OTHER,
            )
            session.add(agency)
            await session.flush()
            agencies[agency.code] = agency
            audit.record(session, now, actor, "agency.create", code=agency.code)

        outcome, member = await _upsert_member(session, now, row, agency, councils[row.council])
        report.outcomes[row.number] = outcome
        if outcome == "new":
            await session.flush()
            report.new_members.append((member, await issue_invite(session, now, member.id, ttl)))
        elif outcome == "returned":
            report.updated += 1
            audit.record(session, now, actor, "member.return", member_id=member.id)
            if member.telegram_user_id is None:
                report.returned.append((member, await issue_invite(session, now, member.id, ttl)))
        elif outcome == "updated":
            report.updated += 1
        else:
            report.unchanged += 1

    if remove_unlisted:
        await session.flush()
        report.seats_removed = await _remove_unlisted_seats(session, now, rows, councils, actor)
    audit.record(
        session,
        now,
        actor,
        "roster.import",
        new=len(report.new_members),
        updated=report.updated,
        errors=len(report.errors),
        seats_removed=len(report.seats_removed),
    )
    return report


async def _remove_unlisted_seats(
    session: AsyncSession,
    now: datetime,
    rows: list[RosterRow],
    councils: dict[str, Council],
    actor: str,
) -> list[SeatRemoved]:
    """Take away the seats, in the councils the file names, of whoever it does not list."""
    listed = {(row.council, row.agency, name_key(row.full_name)) for row in rows}
    named = sorted({row.council for row in rows if row.council in councils})
    removed = []
    for code in named:
        seats = (
            await session.execute(
                select(CouncilMembership, Member)
                .join(Member, Member.id == CouncilMembership.member_id)
                .where(CouncilMembership.council_id == councils[code].id)
                .order_by(Member.id)
            )
        ).all()
        for seat, member in seats:
            if (code, member.agency.code, member.name_key) in listed:
                continue
            await remove_seat(session, now, seat, actor, by_import=True)
            removed.append(SeatRemoved(member, code))
    return removed


def _check_row(
    row: RosterRow, councils: dict[str, Council], agencies: dict[str, Agency]
) -> Msg | None:
    if not row.council:
        return msg("the council code is empty")
    if row.council not in councils:
        return msg(
            "unknown council {code} (known: {known})",
            code=row.council,
            known=", ".join(sorted(councils)),
        )
    if not row.full_name:
        return msg("the full name is empty")
    if len(row.full_name) > 200:
        return msg("the full name is longer than 200 characters")
    if len(row.position) > 200:
        return msg("the position is longer than 200 characters")
    if len(row.agency_name) > 200:
        return msg("the agency name is longer than 200 characters")
    if not row.agency:
        return msg("the agency code is empty")
    if row.agency not in agencies:
        if not _CODE.match(row.agency):
            return msg(
                "the agency code {code} may only hold A–Z, 0–9 and _ (at most 20)",
                code=row.agency,
            )
        if not row.agency_name:
            return msg("unknown agency {code}: fill in agency_name to create it", code=row.agency)
    if role_of(row.role) is None:
        return msg("unknown role {role} (use one of {roles})", role=row.role, roles=AcceptedRoles())
    if row.language and row.language not in SUPPORTED_LOCALES:
        return msg("unknown language {language} (use vi or en)", language=row.language)
    if len(row.email) > 200 or (row.email and not _EMAIL.match(row.email)):
        return msg("the e-mail address {email} is not valid", email=row.email)
    if row.phone and not _PHONE.match(row.phone):
        return msg("the phone number {phone} is not valid", phone=row.phone)
    return None


async def _upsert_member(
    session: AsyncSession, now: datetime, row: RosterRow, agency: Agency, council: Council
) -> tuple[str, Member]:
    member = await session.scalar(
        select(Member).where(
            Member.agency_id == agency.id, Member.name_key == name_key(row.full_name)
        )
    )
    role = role_of(row.role)
    assert role is not None  # _check_row refused the row otherwise
    if member is None:
        member = Member(
            full_name=row.full_name,
            name_key=name_key(row.full_name),
            position=row.position,
            agency_id=agency.id,
            language=row.language or None,
            phone=row.phone or None,
            email=row.email or None,
            created_at=now,
            updated_at=now,
        )
        session.add(member)
        await session.flush()
        session.add(CouncilMembership(council_id=council.id, member_id=member.id, role=role))
        return "new", member

    returned = member.removed_at is not None
    if returned:
        member.removed_at = member.removed_by = None
    changed = False
    updates = {
        "full_name": row.full_name,
        "position": row.position,
        "language": row.language or member.language,
        "phone": row.phone or member.phone,
        "email": row.email or member.email,
    }
    for attribute, value in updates.items():
        if getattr(member, attribute) != value:
            setattr(member, attribute, value)
            changed = True
    membership = await session.scalar(
        select(CouncilMembership).where(
            CouncilMembership.council_id == council.id, CouncilMembership.member_id == member.id
        )
    )
    if membership is None:
        session.add(CouncilMembership(council_id=council.id, member_id=member.id, role=role))
        changed = True
    elif membership.role != role:
        membership.role = role
        changed = True
    if changed or returned:
        member.updated_at = now
    if returned:
        return "returned", member
    return ("updated" if changed else "unchanged"), member
