"""The `dieuphoi` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot import i18n, migrate
from bot.app import timing_from
from bot.clock import SystemClock
from bot.config import ConfigError, Settings, load_settings
from bot.db import make_engine, make_sessionmaker, open_sqlite_file, transaction
from bot.formats import format_day
from bot.i18n import _, ngettext, use_locale
from bot.logs import setup_logging
from bot.models import Member
from bot.redact import redact_output
from bot.services import (
    absences,
    admins,
    audit,
    exports,
    file_archive,
    invites,
    members,
    people,
    reference,
    roster,
)
from bot.services.attendance_export import attendance_list
from bot.services.demo import seed_demo
from bot.services.errors import ServiceError
from bot.services.exports import ExportFormat, ExportWhat
from bot.services.roster_template import roster_template

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


class CliError(Exception):
    """A failure to report as one line on stderr."""

    def __init__(self, line: str, code: int = EXIT_FAILED) -> None:
        super().__init__(line)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dieuphoi", description="Telegram assistant for the regional coordination councils."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="apply migrations, then run the bot until SIGINT/SIGTERM")

    sandbox = commands.add_parser(
        "sandbox",
        help="try the bot in a browser: the whole bot against a built-in local Telegram, "
        "with a world of councils and officials to act as (no token, no network)",
    )
    sandbox.add_argument(
        "--port", type=int, default=8080, help="the web chat's port on 127.0.0.1 (default 8080)"
    )
    sandbox.add_argument(
        "--data",
        type=Path,
        default=Path("sandbox-data"),
        metavar="DIR",
        help="where the sandbox keeps its database and chats (default sandbox-data/)",
    )
    sandbox.add_argument(
        "--reset", action="store_true", help="start afresh: delete the sandbox's data first"
    )

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply pending migrations and exit")

    seed_parser = commands.add_parser(
        "seed", help="load the councils and the usual agencies (idempotent)"
    )
    seed_parser.add_argument(
        "--demo",
        action="store_true",
        help="also add sample meetings and tasks from letter 6411/VPCP-KTTH (Q4 2023)",
    )

    admin = commands.add_parser("admin", help="secretariat admins")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    add = admin_commands.add_parser("add", help="make a Telegram user an admin")
    add.add_argument("telegram_user_id", type=int, metavar="TELEGRAM_USER_ID")
    add.add_argument("--name", help="the admin's name, for the audit log")
    remove_admin_parser = admin_commands.add_parser(
        "remove",
        help="take the admin right away now (also from an id in ADMIN_TELEGRAM_IDS, "
        "which then no longer makes it an admin)",
    )
    remove_admin_parser.add_argument("telegram_user_id", type=int, metavar="TELEGRAM_USER_ID")

    members = commands.add_parser("members", help="council members")
    member_commands = members.add_subparsers(
        dest="members_command", required=True, metavar="ACTION"
    )
    imp = member_commands.add_parser("import", help="import a roster (CSV or XLSX)")
    imp.add_argument("file", type=Path, metavar="FILE")
    lst = member_commands.add_parser("list", help="list members and whether they registered")
    lst.add_argument("--council", metavar="CODE")
    remove = member_commands.add_parser(
        "remove",
        help="remove a member (unbinds the Telegram account, revokes invites, keeps what "
        "they reported), or with --council only their seat in that council",
    )
    remove.add_argument("member_id", type=int, metavar="MEMBER_ID")
    remove.add_argument("--council", metavar="CODE", help="remove only the seat in this council")
    away = member_commands.add_parser(
        "away",
        help="record an absence (dates DD/MM/YYYY, both included) and an optional stand-in "
        "of the same agency",
    )
    away.add_argument("member_id", type=int, metavar="MEMBER_ID")
    away.add_argument("first_day", metavar="FROM")
    away.add_argument("last_day", metavar="TO")
    away.add_argument("--stand-in", type=int, metavar="MEMBER_ID", dest="stand_in")
    template = member_commands.add_parser(
        "template", help="write a roster template (Vietnamese headers, two example rows)"
    )
    template.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.xlsx")

    invite = commands.add_parser(
        "invite",
        help="print a fresh invite link (revokes the previous); with --council, one for "
        "every member of the council who has not registered",
    )
    invite.add_argument("member_id", type=int, nargs="?", metavar="MEMBER_ID")
    invite.add_argument("--council", metavar="CODE")

    # --- export (tasks and reports as XLSX/CSV, meetings as iCalendar) ---
    export = commands.add_parser(
        "export",
        help="tasks and status reports (xlsx, csv), meetings (ics), a meeting's "
        "attendance list (xlsx), or a council's report files with an index (zip) to a file",
    )
    export.add_argument("--council", metavar="CODE", help="one council (default: every council)")
    export.add_argument(
        "--format",
        choices=[f.value for f in ExportFormat],
        help="default: from the file name's extension",
    )
    export.add_argument(
        "--what",
        choices=[w.value for w in ExportWhat],
        default=ExportWhat.TASKS.value,
        help="tasks (default) or a meeting's attendance list (with --meeting ID, xlsx)",
    )
    export.add_argument("--meeting", type=int, metavar="ID", help="the meeting, for attendance")
    export.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    # --- end export ---
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sandbox":
        # No settings from the environment or a .env: the sandbox builds its own.
        from bot.sandbox.cli import run_sandbox

        return run_sandbox(args.data, args.port, reset=args.reset)
    try:
        settings = load_settings()
        # From here on, whatever the process prints (log lines, these error lines, a
        # traceback escaping asyncio.run) shows no secret.
        redact_output(settings.secrets())
        setup_logging(settings.log_level)
        i18n.load_catalogs()
        i18n.speak_for(settings.secretariat_name, settings.secretariat_name_en)
        with use_locale(settings.default_locale):
            return _dispatch(args, settings)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    except CliError as error:
        print(error, file=sys.stderr)
        return error.code
    except i18n.CatalogMissingError as error:
        # An install problem, not a setting: one line all the same, never silent English.
        print(
            f"error: {error}; the installation is incomplete, reinstall dieuphoi", file=sys.stderr
        )
        return EXIT_FAILED


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        return run_bot(settings)
    if args.command == "db":
        _upgrade(settings)
        print("database is up to date")
        return EXIT_OK
    if args.command == "members" and args.members_command == "template":
        return write_roster_template(args.output)  # a file of its own: no database needed
    _require_schema(settings)
    if args.command == "seed":
        return _run(settings, lambda s: seed(s, demo=args.demo))
    if args.command == "admin" and args.admin_command == "remove":
        return _run(settings, lambda s: remove_admin(s, args.telegram_user_id))
    if args.command == "admin":
        return _run(settings, lambda s: add_admin(s, args.telegram_user_id, args.name))
    if args.command == "members" and args.members_command == "import":
        data = _read_file(args.file)
        return _run(settings, lambda s: import_members(s, args.file, data))
    if args.command == "members" and args.members_command == "remove":
        return _run(settings, lambda s: remove_member(s, args.member_id, args.council))
    if args.command == "members" and args.members_command == "away":
        return _run(settings, lambda s: member_away(s, args), bad_input=EXIT_CONFIG)
    if args.command == "members":
        return _run(settings, lambda s: list_members(s, args.council))
    if args.command == "invite" and (args.member_id is None) == (args.council is None):
        raise CliError("error: give either MEMBER_ID or --council CODE")
    if args.command == "invite" and args.council:
        return _run(settings, lambda s: reissue_council_invites(s, args.council))
    if args.command == "invite":
        return _run(settings, lambda s: reissue_invite(s, args.member_id))
    if args.command == "export" and args.what == ExportWhat.ATTENDANCE:
        meeting = _attendance_arguments(args)
        return _run(settings, lambda s: export_attendance(s, args.council, meeting, args.output))
    if args.command == "export":
        if args.meeting is not None:
            raise CliError("error: --meeting goes with --what attendance")
        fmt = _export_format(args.format, args.output)
        if fmt == ExportFormat.ZIP:
            if not args.council:
                raise CliError("error: --format zip needs --council CODE")
            return _run(settings, lambda s: export_zip(s, args.council, args.output))
        return _run(settings, lambda s: export_file(s, args.council, fmt, args.output))
    raise AssertionError(f"unhandled command {args.command}")


def _run(
    settings: Settings,
    command: Callable[[Settings], Coroutine[Any, Any, int]],
    *,
    bad_input: int = EXIT_FAILED,
) -> int:
    try:
        return asyncio.run(command(settings))
    except ServiceError as error:
        raise CliError(f"error: {error.render()}", bad_input) from None
    except (OperationalError, DBAPIError, OSError) as error:
        raise _database_error(settings, error) from None


def _database_error(settings: Settings, error: Exception) -> ConfigError:
    url = make_url(settings.database_url).render_as_string(hide_password=True)
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return ConfigError("DATABASE_URL", f"cannot use the database {url}: {reason}")


def _upgrade(settings: Settings) -> None:
    try:
        open_sqlite_file(settings.database_url)
        migrate.upgrade(settings.database_url)
    except (OperationalError, DBAPIError, OSError, CommandError) as error:
        # CommandError: the database is at a revision this version does not know.
        raise _database_error(settings, error) from None


def _require_schema(settings: Settings) -> None:
    try:
        open_sqlite_file(settings.database_url)
        pending = asyncio.run(migrate.pending(settings.database_url))
    except (OperationalError, DBAPIError, OSError) as error:
        raise _database_error(settings, error) from None
    if pending:
        raise CliError("error: the database schema is not up to date; run `dieuphoi db upgrade`")


# --- commands ----------------------------------------------------------------------------


def run_bot(settings: Settings) -> int:
    from bot.app import ALLOWED_UPDATES, build_application
    from bot.heap import settle
    from bot.loop import use_fast_event_loop

    settings.token  # noqa: B018 - fail now, with exit code 2, when the token is missing
    _upgrade(settings)
    loop = use_fast_event_loop()
    application = build_application(settings, desk_apart=True)
    settle()
    log = logging.getLogger("dieuphoi")
    log.info("event loop: %s", loop)
    from bot import polling

    if settings.webhook_url:
        log.info(
            "starting in webhook mode on %s:%s", settings.webhook_listen, settings.webhook_port
        )
    else:
        # Polls only while it holds the polling lease: with several instances on one
        # database the others stand by (SPEC §1).
        log.info("starting in polling mode")
    polling.run(application, settings, ALLOWED_UPDATES)
    return EXIT_OK


async def seed(settings: Settings, *, demo: bool = False) -> int:
    now = SystemClock().now()
    async with _session(settings) as session:
        report = await reference.seed_reference_data(session, now, audit.CLI_ACTOR)
        sample = await seed_demo(session, now, timing_from(settings)) if demo else None
    print(
        f"councils: {report.councils_added} added, {report.councils_updated} updated; "
        f"agencies: {report.agencies_added} added, {report.agencies_updated} updated"
    )
    if sample is not None:
        print(
            f"demo (6411/VPCP-KTTH): {sample.meetings_added} meetings, "
            f"{sample.tasks_added} tasks added"
        )
    return EXIT_OK


async def add_admin(settings: Settings, telegram_user_id: int, name: str | None) -> int:
    async with _session(settings) as session:
        added = await admins.add_admin(
            session, SystemClock().now(), telegram_user_id, name, audit.CLI_ACTOR
        )
    print(
        (
            _("{id} is now a secretariat admin.") if added else _("{id} was already an admin.")
        ).format(id=telegram_user_id)
    )
    return EXIT_OK


async def remove_admin(settings: Settings, telegram_user_id: int) -> int:
    async with _session(settings) as session:
        await admins.remove_admin(session, SystemClock().now(), telegram_user_id, audit.CLI_ACTOR)
    print(
        _("{id} is no longer a secretariat admin (from their next action on).").format(
            id=telegram_user_id
        )
    )
    return EXIT_OK


def _read_file(path: Path) -> bytes:
    """The file, or as much of it as shows it is too large for a roster."""
    try:
        with path.open("rb") as handle:
            return handle.read(roster.MAX_FILE_BYTES + 1)
    except OSError as error:
        raise CliError(f"error: {path}: {error.strerror or error}") from None


async def import_members(settings: Settings, path: Path, data: bytes) -> int:
    # Learn the username before writing anything: the tokens are only shown once.
    username = await bot_username(settings)
    rows = await asyncio.to_thread(roster.read_roster, path.name, data)
    async with _session(settings) as session:
        report = await roster.import_roster(
            session, SystemClock().now(), rows, by=None, ttl_days=settings.invite_ttl_days
        )
    for member, token in report.invitations:
        print(_invite_line(member, username, token))
    for error in report.errors:
        print(
            _("row {row}: {reason}").format(row=error.number, reason=error.reason.render()),
            file=sys.stderr,
        )
    for member, _token in report.returned:
        print(
            _("back on the roster: {id} {name}").format(id=member.id, name=member.full_name),
            file=sys.stderr,
        )
    for removal in report.seats_removed:
        print(
            _("seat removed, not in the file: {id} {name} ({agency}) from {council}").format(
                id=removal.member.id,
                name=removal.member.full_name,
                agency=removal.member.agency.code,
                council=removal.council,
            ),
            file=sys.stderr,
        )
    print(
        _(
            "{new} new, {updated} updated, {unchanged} unchanged, {errors} rows refused, "
            "{removed} seats removed"
        ).format(
            new=len(report.new_members),
            updated=report.updated,
            unchanged=report.unchanged,
            errors=len(report.errors),
            removed=len(report.seats_removed),
        ),
        file=sys.stderr,
    )
    return EXIT_FAILED if report.errors else EXIT_OK


def write_roster_template(path: Path) -> int:
    try:
        path.write_bytes(roster_template())
    except OSError as error:
        raise CliError(f"error: {path}: {error.strerror or error}") from None
    print(_("Wrote {path}: the roster template with two example rows.").format(path=path))
    return EXIT_OK


def _invite_line(member: Member, username: str, token: str) -> str:
    return f"{member.id}\t{member.full_name}\t{invites.invite_link(username, token)}"


async def remove_member(settings: Settings, member_id: int, council: str | None) -> int:
    async with _session(settings) as session:
        removal = await members.remove_member(
            session, SystemClock().now(), member_id, audit.CLI_ACTOR, council
        )
    name, number = removal.member.full_name, removal.member.id
    if council is not None and removal.already:
        line = _("{id} {name} has no seat in {council}; nothing changed.")
    elif council is not None:
        line = _(
            "{id} {name} no longer has a seat in {council}; waiting reminders cancelled: "
            "{cancelled}."
        )
    elif removal.already:
        line = _("{id} {name} was already removed; nothing changed.")
    else:
        line = _(
            "{id} {name} removed: seats taken away ({councils}), Telegram account unbound, "
            "invitation links revoked, waiting messages cancelled: {cancelled}. What they "
            "reported is kept."
        )
    print(
        line.format(
            id=number,
            name=name,
            council=(council or "").upper(),
            councils=", ".join(removal.councils) or "—",
            cancelled=removal.cancelled,
        )
    )
    return EXIT_OK


async def member_away(settings: Settings, args: argparse.Namespace) -> int:
    """`members away`: every refusal (bad dates, unknown member, a stand-in of another
    agency) is bad input, exit code 2, like a malformed argument."""
    timing = timing_from(settings)
    now = SystemClock().now()
    async with _session(settings) as session:
        recorded = await absences.away_from_cli(
            session,
            now,
            timing.today(now),
            args.member_id,
            args.first_day,
            args.last_day,
            args.stand_in,
        )
    absence = recorded.absence
    first = format_day(absence.starts_on, timing.tz, weekday=False)
    last = format_day(absence.ends_on, timing.tz, weekday=False)
    stand_in = absence.stand_in
    if stand_in is None:
        line = _("{id} {name}: away from {first} to {last}; nobody stands in.")
    else:
        line = _("{id} {name}: away from {first} to {last}; {stand_in_id} {stand_in} stands in.")
    print(
        line.format(
            id=absence.member.id,
            name=absence.member.full_name,
            first=first,
            last=last,
            stand_in_id=stand_in.id if stand_in else "",
            stand_in=stand_in.full_name if stand_in else "",
        )
    )
    for old in recorded.replaced:
        print(
            _("It replaces the earlier absence from {first} to {last}.").format(
                first=format_day(old.starts_on, timing.tz, weekday=False),
                last=format_day(old.ends_on, timing.tz, weekday=False),
            )
        )
    return EXIT_OK


async def list_members(settings: Settings, council: str | None) -> int:
    async with _session(settings) as session:
        if council:
            from bot.services.groups import council_by_code

            await council_by_code(session, council)
        rows = await people.list_members(session, council)
    for row in rows:
        councils = ",".join(f"{code}:{role}" for code, role in row.councils)
        if row.removed:
            status = _("removed")
        else:
            status = _("registered") if row.registered else _("not registered")
        print(f"{row.id}\t{row.full_name}\t{row.agency_code}\t{councils}\t{status}")
    return EXIT_OK


async def reissue_invite(settings: Settings, member_id: int) -> int:
    username = await bot_username(settings)
    async with _session(settings) as session:
        member, token = await invites.reissue_invite(
            session,
            SystemClock().now(),
            member_id,
            audit.CLI_ACTOR,
            ttl=timedelta(days=settings.invite_ttl_days),
        )
    print(_invite_line(member, username, token))
    return EXIT_OK


async def reissue_council_invites(settings: Settings, council_code: str) -> int:
    username = await bot_username(settings)
    async with _session(settings) as session:
        council, issued = await invites.reissue_for_council(
            session,
            SystemClock().now(),
            council_code,
            audit.CLI_ACTOR,
            ttl=timedelta(days=settings.invite_ttl_days),
        )
    for member, token in issued:
        print(_invite_line(member, username, token))
    if issued:
        summary = ngettext(
            "{count} fresh invitation link for {council} (the earlier one stops working).",
            "{count} fresh invitation links for {council} (earlier links stop working).",
            len(issued),
        )
    else:
        summary = _("Every member of {council} has registered: no link to issue.")
    print(summary.format(count=len(issued), council=council.code), file=sys.stderr)
    return EXIT_OK


async def bot_username(settings: Settings) -> str:
    """The bot's @username for invite links: from the settings, else from Telegram's getMe."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@")
    if settings.telegram_bot_token is None:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN",
            "not set; it is needed to learn the bot's username for invite links "
            "(or set TELEGRAM_BOT_USERNAME)",
        )
    bot = Bot(
        settings.token,
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_file_base_url,
    )
    try:
        async with bot:
            return bot.username
    except InvalidToken:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN", "Telegram refused this token (getMe: Unauthorized)"
        ) from None
    except NetworkError as error:
        raise ConfigError(
            "TELEGRAM_API_BASE_URL", f"cannot reach the Bot API to ask getMe: {error.message}"
        ) from None
    except TelegramError as error:
        raise ConfigError("TELEGRAM_BOT_TOKEN", f"getMe failed: {error.message}") from None


# --- export ---------------------------------------------------------------------------------


def _export_format(given: str | None, path: Path) -> ExportFormat:
    if given:
        return ExportFormat(given)
    try:
        return ExportFormat(path.suffix.lstrip(".").lower())
    except ValueError:
        raise CliError(
            f"error: give --format xlsx, csv, ics or zip (the file name {path.name} does not say)"
        ) from None


async def export_file(
    settings: Settings, council: str | None, fmt: ExportFormat, path: Path
) -> int:
    """Build the file first and write it only then: a bad council leaves nothing behind.
    Written before the transaction ends, so the audit log records only a file written."""
    async with _session(settings) as session:
        found = await exports.export(
            session,
            None,
            [council] if council else [],
            fmt,
            timing_from(settings).calendar,
            SystemClock().now(),
        )
        try:
            await asyncio.to_thread(path.write_bytes, found.content)
        except OSError as error:
            raise CliError(f"error: {path}: {error.strerror or error}") from None
    if fmt == ExportFormat.ICS:
        line = _("Wrote {path}: {meetings} meetings of {councils}.")
    elif fmt == ExportFormat.XLSX:
        line = _("Wrote {path}: {rows} task rows and {reports} status reports of {councils}.")
    else:
        line = _("Wrote {path}: {rows} task rows of {councils}.")
    print(
        line.format(
            path=path,
            meetings=found.count,
            rows=found.count,
            reports=found.reports,
            councils=found.scope,
        )
    )
    return EXIT_OK


async def export_zip(settings: Settings, council_code: str, path: Path) -> int:
    """Every received report file of the council, with its index, into one ZIP read from
    FILES_DIR. Nothing there for the council: a message and exit code 1."""
    now = SystemClock().now()
    async with _session(settings) as session:
        council, entries = await file_archive.plan_archive(
            session, None, council_code, settings.files_dir, settings.tz
        )
        if not entries:
            raise file_archive.nothing_to_archive(council, settings.files_dir)
        try:
            archive = await asyncio.to_thread(
                file_archive.write_archive,
                council,
                entries,
                path,
                now.astimezone(settings.tz).date(),
                settings.files_dir,
                progress_bar(sys.stderr),
            )
        except OSError as error:
            raise CliError(f"error: {path}: {error.strerror or error}") from None
        audit.record(
            session,
            now,
            audit.CLI_ACTOR,
            "export",
            format="zip",
            councils=[council.code],
            files=archive.written,
            missing=archive.missing,
        )
    print(
        _("Wrote {path}: {files} report files of {council}, {missing} missing.").format(
            path=path, files=archive.written, council=council.code, missing=archive.missing
        )
    )
    return EXIT_OK


def progress_bar(stream: TextIO, width: int = 30) -> Callable[[int, int], None] | None:
    """A bar redrawn on one line of `stream` when it is a terminal; None otherwise (a log
    file or a pipe gets no control characters)."""
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        filled = width * done // max(total, 1)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def _attendance_arguments(args: argparse.Namespace) -> int:
    """The meeting whose attendance list is asked for; the list is an XLSX file only."""
    if args.meeting is None:
        raise CliError("error: --what attendance needs --meeting ID (the id /meetings shows)")
    fmt = args.format or args.output.suffix.lstrip(".").lower()
    if fmt != ExportFormat.XLSX:
        raise CliError("error: the attendance list is an XLSX file: use -o FILE.xlsx")
    return int(args.meeting)


async def export_attendance(
    settings: Settings, council: str | None, meeting_id: int, path: Path
) -> int:
    """As export_file: built first, written before the audit record is committed."""
    async with _session(settings) as session:
        listed = await attendance_list(
            session, None, meeting_id, settings.tz, SystemClock().now(), council_code=council
        )
        try:
            await asyncio.to_thread(path.write_bytes, listed.content)
        except OSError as error:
            raise CliError(f"error: {path}: {error.strerror or error}") from None
    print(
        _("Wrote {path}: the attendance list of meeting #{id} ({people} people).").format(
            path=path, id=meeting_id, people=listed.count
        )
    )
    return EXIT_OK


@asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """An engine and one transaction for one CLI command."""
    engine = make_engine(settings.database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            yield session
    finally:
        await engine.dispose()
