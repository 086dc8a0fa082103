"""The council digest (SPEC §7): what is overdue, what is due soon, who reported what,
who has not answered, who cannot be reached, and the upcoming meetings.

`collect` reads everything in a handful of queries (it must stay fast for a council
with thousands of tasks); `render` writes it in the current language; `chart_png`
draws each agency's reporting state. Each built digest is recorded once per period
(`open_period`), so "reports since the previous digest" has a starting point and one
period never gets two digests.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formats import format_cut_off, format_day, format_days_left, format_moment, format_period
from bot.i18n import _, msg, ngettext
from bot.models import (
    WHOLE_CHAT,
    Agency,
    AgencyKind,
    Council,
    CouncilMembership,
    Digest,
    GroupChat,
    Meeting,
    Member,
    ReportStatus,
    RsvpAnswer,
    StatusReport,
    Task,
    TaskAgency,
    TelegramUser,
    agency_addressee,
)
from bot.outbox.plan import PRIORITY_DIGEST, digest_subject
from bot.outbox.store import NewRow, add_rows, withdraw
from bot.schedule import Timing, Weekly
from bot.services import absences, audit, completion, digest_files, rsvp
from bot.services.completion import Completion
from bot.services.errors import BadInputError, NotFoundError
from bot.services.groups import council_by_code
from bot.services.people import Reach, Requester, reach_of
from bot.services.permissions import require_admin
from bot.services.reports import emoji, mark
from bot.services.rsvp import BUTTON_OF_ANSWER
from bot.services.visibility import group_council
from bot.text import Html, bold, escape, html_format, join_lines

DUE_SOON_DAYS = 14


# The digest reads plain rows into these small records rather than ORM objects: a large
# council has thousands of open task parts and reports, and building (and later
# garbage-collecting) an ORM instance for each costs several times the SQL itself
# (docs/benchmarks.md §3).


@dataclass(frozen=True, slots=True)
class AgencyName:
    code: str
    name_vi: str
    name_en: str
    kind: AgencyKind

    def name(self, locale: str) -> str:
        return self.name_vi if locale == "vi" else self.name_en

    def addressee(self, locale: str) -> str:
        """'UBND thành phố Hà Nội', as the rest of the bot addresses an agency."""
        return agency_addressee(self.name(locale), self.kind, locale)


@dataclass(frozen=True, slots=True)
class TaskLine:
    id: int
    title: str
    due_on: date
    period: str | None  # the deadline as a period ("Q4/2026"), shown before its last day
    report_period: str | None  # the period a report covers, shown with its data cut-off


@dataclass(frozen=True, slots=True)
class AgencyState:
    agency: AgencyName
    done: bool
    last: ReportStatus | None
    filed: bool = False  # a report file received from the agency on this task


@dataclass(frozen=True, slots=True)
class TaskState:
    task: TaskLine
    parts: list[AgencyState]


@dataclass(frozen=True, slots=True)
class ReportLine:
    agency_code: str
    status: ReportStatus
    task_id: int
    who: str
    note: str | None


@dataclass(frozen=True, slots=True)
class PersonLine:
    full_name: str
    agency_code: str


@dataclass(frozen=True, slots=True)
class AwayState:
    agency: AgencyName
    full_name: str
    ends_on: date
    stand_in: str | None


@dataclass
class DigestData:
    council: Council
    today_offset: dict[int, int] = field(default_factory=dict)  # task id -> days left
    overdue: list[TaskState] = field(default_factory=list)
    due_soon: list[TaskState] = field(default_factory=list)
    reports: list[ReportLine] = field(default_factory=list)
    silent: dict[AgencyName, list[int]] = field(default_factory=dict)  # -> task ids
    unreachable: list[PersonLine] = field(default_factory=list)
    unregistered: int = 0
    meetings: list[tuple[Meeting, Counter[RsvpAnswer]]] = field(default_factory=list)
    chart: dict[str, Counter[str]] = field(default_factory=dict)
    # Every agency's parts of the council's tasks (open, done, all periods) by class.
    completion: list[tuple[AgencyName, Counter[Completion]]] = field(default_factory=list)
    away: list[AwayState] = field(default_factory=list)
    # Report files received since the previous digest (bot/services/digest_files.py).
    files: list[digest_files.FileLine] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.due_soon or self.reports or self.meetings or self.files)


async def open_period(
    session: AsyncSession, council: Council, period: str, now: datetime
) -> tuple[bool, datetime | None]:
    """Record the digest of `period`; returns (new, when the previous one was built)."""
    previous = await session.scalar(
        select(func.max(Digest.created_at)).where(
            Digest.council_id == council.id, Digest.period != period
        )
    )
    existing = await session.scalar(
        select(Digest).where(Digest.council_id == council.id, Digest.period == period)
    )
    if existing is not None:
        earlier = await session.scalar(
            select(func.max(Digest.created_at)).where(
                Digest.council_id == council.id, Digest.created_at < existing.created_at
            )
        )
        return False, earlier
    try:
        async with session.begin_nested():
            session.add(Digest(council_id=council.id, period=period, created_at=now))
    except IntegrityError:
        return False, previous  # another instance recorded it a moment ago
    return True, previous


def _open_tasks(council: Council) -> Select[int]:
    return select(Task.id).where(
        Task.council_id == council.id, Task.cancelled_at.is_(None), Task.done_at.is_(None)
    )


async def collect(
    session: AsyncSession, council: Council, now: datetime, timing: Timing, since: datetime | None
) -> DigestData:
    data = DigestData(council)
    today = timing.today(now)
    agencies = await _agency_names(session)
    tasks = [
        TaskLine(*row)
        for row in await session.execute(
            select(Task.id, Task.title, Task.due_on, Task.period, Task.report_period)
            .where(Task.id.in_(_open_tasks(council)))
            .order_by(Task.due_on, Task.id)
        )
    ]
    latest = await _latest_statuses(session, council)
    # A report file is an answer too: its agency is not counted silent on that task.
    filed = await digest_files.parts_with_files(session, _open_tasks(council))
    parts: dict[int, list[AgencyState]] = {task.id: [] for task in tasks}
    for task_id, agency_id, done_at in await session.execute(
        select(TaskAgency.task_id, TaskAgency.agency_id, TaskAgency.done_at)
        .where(TaskAgency.task_id.in_(_open_tasks(council)))
        .order_by(TaskAgency.id)
    ):
        parts[task_id].append(
            AgencyState(
                agencies[agency_id],
                done_at is not None,
                latest.get((task_id, agency_id)),
                (task_id, agency_id) in filed,
            )
        )
    # Reminded once its first reminder day has come.
    first_reminder = max(timing.task_days, default=0)
    for task in tasks:
        # Counted to the deadline's last day: a deadline on a day off is not overdue
        # before the end of the next working day.
        days_left = timing.calendar.days_left(task.due_on, today)
        data.today_offset[task.id] = days_left
        state = TaskState(task, parts[task.id])
        if days_left < 0 and any(not a.done for a in state.parts):
            data.overdue.append(state)
        elif 0 <= days_left <= DUE_SOON_DAYS:
            data.due_soon.append(state)
        reminded = (task.due_on - today).days <= first_reminder
        for part in state.parts:
            status = "done" if part.done else part.last.value if part.last else "none"
            data.chart.setdefault(part.agency.code, Counter())[status] += 1
            if reminded and not part.done and part.last is None and not part.filed:
                data.silent.setdefault(part.agency, []).append(task.id)
    await _absences(session, council, today, agencies, data)
    # The first digest looks back one week.
    data.reports = await _reports_since(session, council, since or now - timedelta(days=7))
    data.files = await digest_files.files_since(session, council, since or now - timedelta(days=7))
    await _people(session, council, data)
    meetings = list(
        (
            await session.scalars(
                select(Meeting)
                .where(
                    Meeting.council_id == council.id,
                    Meeting.cancelled_at.is_(None),
                    Meeting.starts_at > now,
                    Meeting.starts_at <= now + timedelta(days=60),
                )
                .order_by(Meeting.starts_at)
            )
        ).all()
    )
    tallies = await rsvp.counts(session, [m.id for m in meetings])
    data.meetings = [(m, tallies[m.id]) for m in meetings]
    data.completion = await _completion(session, council, now, timing, agencies)
    return data


async def _absences(
    session: AsyncSession,
    council: Council,
    today: date,
    agencies: dict[int, AgencyName],
    data: DigestData,
) -> None:
    """Members away today, shown as such; an agency none of whose members in the council
    is there is not counted silent because of it (SPEC §6)."""
    lines, gone = await absences.council_absences(session, council.id, today)
    data.away = [
        AwayState(agencies[line.agency_id], line.full_name, line.ends_on, line.stand_in)
        for line in lines
    ]
    for agency_id in gone:
        data.silent.pop(agencies[agency_id], None)


def _away_lines(data: DigestData, timing: Timing, locale: str) -> list[str]:
    """'• BTC — Nguyễn Văn An: vắng đến ngày 11/12/2026, Trần Thị Bình thay'."""
    if not data.away:
        return []
    lines = ["", bold(_("🌴 Away"))]
    for away in data.away:
        last = format_day(away.ends_on, timing.tz, locale, weekday=False)
        if away.stand_in:
            state = _("away until {last}, {stand_in} stands in").format(
                last=last, stand_in=away.stand_in
            )
        else:
            state = _("away until {last}, nobody stands in").format(last=last)
        lines.append(
            html_format(
                "• {agency} — {name}: {state}",
                agency=away.agency.code,
                name=away.full_name,
                state=state,
            )
        )
    return lines


async def _completion(
    session: AsyncSession,
    council: Council,
    now: datetime,
    timing: Timing,
    agencies: dict[int, AgencyName],
) -> list[tuple[AgencyName, Counter[Completion]]]:
    parts = await session.execute(
        select(TaskAgency.agency_id, Task.due_on, TaskAgency.done_at)
        .join(Task, Task.id == TaskAgency.task_id)
        .where(Task.council_id == council.id, Task.cancelled_at.is_(None))
    )
    rows = [(agency_id, due_on, done_at) for agency_id, due_on, done_at in parts]
    counts = completion.count_by_agency(rows, now, timing.calendar)
    return sorted(
        ((agencies[agency_id], found) for agency_id, found in counts.items()),
        key=lambda item: item[0].code,
    )


async def _agency_names(session: AsyncSession) -> dict[int, AgencyName]:
    rows = await session.execute(
        select(Agency.id, Agency.code, Agency.name_vi, Agency.name_en, Agency.kind)
    )
    return {
        agency_id: AgencyName(code, name_vi, name_en, kind)
        for agency_id, code, name_vi, name_en, kind in rows
    }


async def _latest_statuses(
    session: AsyncSession, council: Council
) -> dict[tuple[int, int], ReportStatus]:
    """The newest report's status of each (open task, agency) of the council."""
    newest = (
        select(func.max(StatusReport.id))
        .where(StatusReport.task_id.in_(_open_tasks(council)))
        .group_by(StatusReport.task_id, StatusReport.agency_id)
    )
    rows = await session.execute(
        select(StatusReport.task_id, StatusReport.agency_id, StatusReport.status).where(
            StatusReport.id.in_(newest)
        )
    )
    return {(task_id, agency_id): status for task_id, agency_id, status in rows}


async def _reports_since(
    session: AsyncSession, council: Council, since: datetime
) -> list[ReportLine]:
    query = (
        select(
            Agency.code,
            StatusReport.status,
            StatusReport.task_id,
            Member.full_name,
            StatusReport.note,
        )
        .join(Task, Task.id == StatusReport.task_id)
        .join(Agency, Agency.id == StatusReport.agency_id)
        .join(Member, Member.id == StatusReport.member_id)
        .where(Task.council_id == council.id, StatusReport.created_at > since)
        .order_by(StatusReport.created_at, StatusReport.id)
    )
    return [ReportLine(*row) for row in await session.execute(query)]


async def _people(session: AsyncSession, council: Council, data: DigestData) -> None:
    rows = await session.execute(
        select(
            Member.full_name,
            Agency.code,
            Member.telegram_user_id,
            TelegramUser.private_chat_ok,
        )
        .join(CouncilMembership, CouncilMembership.member_id == Member.id)
        .join(Agency, Agency.id == Member.agency_id)
        .outerjoin(TelegramUser, TelegramUser.id == Member.telegram_user_id)
        .where(CouncilMembership.council_id == council.id)
        .order_by(Member.full_name)
    )
    for full_name, agency_code, telegram_user_id, private_chat_ok in rows:
        reach = reach_of(telegram_user_id, private_chat_ok)
        if reach == Reach.NEVER_STARTED:
            data.unregistered += 1
        elif reach == Reach.BLOCKED:
            data.unreachable.append(PersonLine(full_name, agency_code))


def _mark(part: AgencyState) -> str:
    return mark(part.done, part.last)


def _task_heading(task: TaskLine, locale: str) -> Html:
    """'#12 Báo cáo quý IV/2026', and for a report on a period that period with its
    data cut-off: the reader sees what the report covers, not only when it is due."""
    heading = html_format("#{id} {title}", id=task.id, title=task.title)
    if task.report_period is None:
        return heading
    return html_format(
        _("{task} (reporting period {period}, {cut_off})"),
        task=heading,
        period=format_period(task.report_period, locale),
        cut_off=format_cut_off(task.report_period, locale),
    )


def _due(task: TaskLine, timing: Timing, locale: str) -> str:
    """'hạn gửi ngày 18/12/2026' for a report, 'quý IV/2026 · ngày 31/12/2026' for a
    deadline written as a period, else the day."""
    day = format_day(task.due_on, timing.tz, locale)
    if task.report_period is not None:
        return _("send by {day}").format(day=day)
    if task.period is not None:
        return f"{format_period(task.period, locale)} · {day}"
    return day


def render(data: DigestData, timing: Timing, now: datetime, locale: str) -> Html:
    council = data.council
    lines: list[str] = [
        html_format(_("📊 <b>Digest — {council}</b>"), council=council.name(locale)),
        escape(format_day(now, timing.tz, locale, weekday=False)),
    ]
    if data.empty:
        lines += ["", escape(_("Nothing to report for this period."))]
        return join_lines(lines)
    if data.overdue:
        lines += ["", bold(_("⏰ Overdue tasks"))]
        for state in data.overdue:
            days = -data.today_offset[state.task.id]
            lines.append(_task_heading(state.task, locale))
            for part in state.parts:
                if not part.done:
                    lines.append(
                        html_format(
                            "  • {agency}: {overdue}, {mark}",
                            agency=part.agency.addressee(locale),
                            overdue=format_days_left(-days),
                            mark=_mark(part),
                        )
                    )
    if data.due_soon:
        lines += ["", bold(_("📅 Due in the next 14 days"))]
        for state in data.due_soon:
            marks = " · ".join(f"{p.agency.code} {_mark(p)}" for p in state.parts)
            lines.append(
                html_format(
                    "{task} — {due} ({left}): {marks}",
                    task=_task_heading(state.task, locale),
                    due=_due(state.task, timing, locale),
                    left=format_days_left(data.today_offset[state.task.id]),
                    marks=marks,
                )
            )
    if data.reports:
        lines += ["", bold(_("📝 Reports since the previous digest"))]
        for report in data.reports:
            line = html_format(
                "• {agency} {mark} #{id} — {who}",
                agency=report.agency_code,
                mark=emoji(report.status),
                id=report.task_id,
                who=report.who,
            )
            if report.note:
                line = html_format("{line}: “{note}”", line=line, note=report.note)
            lines.append(line)
    lines += digest_files.lines(data.files, locale)
    if data.silent:
        lines += ["", bold(_("🔕 Agencies that have not answered a reminder"))]
        for agency, task_ids in sorted(data.silent.items(), key=lambda item: item[0].code):
            ids = ", ".join(f"#{i}" for i in task_ids)
            lines.append(
                html_format("• {agency}: {ids}", agency=agency.addressee(locale), ids=ids)
            )
    lines += _away_lines(data, timing, locale)
    if data.unreachable or data.unregistered:
        lines += ["", bold(_("📵 Members who cannot be reached in private"))]
        for member in data.unreachable:
            lines.append(
                html_format("• {name} ({agency})", name=member.full_name, agency=member.agency_code)
            )
        if data.unregistered:
            lines.append(
                escape(
                    ngettext(
                        "{n} member has not registered yet.",
                        "{n} members have not registered yet.",
                        data.unregistered,
                    ).format(n=data.unregistered)
                )
            )
    if data.completion:
        lines += [
            "",
            html_format(
                _("📈 <b>Completion by agency</b> ({as_of})"),
                as_of=completion.as_of(now, timing.tz, locale),
            ),
        ]
        for named, tally_of in data.completion:
            classes = "; ".join(f"{c.label()} {tally_of[c]}" for c in Completion)
            lines.append(
                html_format(
                    "• {agency}: {classes}", agency=named.addressee(locale), classes=classes
                )
            )
    if data.meetings:
        lines += ["", bold(_("🗓 Upcoming meetings"))]
        for meeting, tally in data.meetings:
            counts = " · ".join(
                f"{BUTTON_OF_ANSWER[a].emoji} {tally.get(a, 0)}" for a in RsvpAnswer
            )
            lines.append(
                html_format(
                    "#{id} {title} — {moment}: {counts}",
                    id=meeting.id,
                    title=meeting.title,
                    moment=format_moment(meeting.starts_at, timing.tz, locale),
                    counts=counts,
                )
            )
    return join_lines(lines)


def on_demand_period(now: datetime, timing: Timing) -> str:
    """The period of a digest asked for with /digest: its minute, so the same command
    sent twice in a row posts once."""
    return "now:" + now.astimezone(timing.tz).strftime("%Y-%m-%dT%H:%M")


async def councils_for_digest(
    session: AsyncSession,
    who: Requester,
    code: str | None,
    *,
    group_chat_id: int | None = None,
    thread_id: int = WHOLE_CHAT,
) -> list[Council]:
    """/digest: the named council, or every council that has a linked group; asked in a
    group chat (`group_chat_id`, `thread_id` inside a forum topic), the council that
    place is linked to."""
    require_admin(who)
    if group_chat_id is not None:
        return [await group_council(session, group_chat_id, code, thread_id)]
    if code:
        return [await council_by_code(session, code)]
    councils = list(
        (
            await session.scalars(
                select(Council)
                .where(Council.id.in_(select(GroupChat.council_id)))
                .order_by(Council.id)
            )
        ).all()
    )
    if not councils:
        raise NotFoundError(
            msg("No council has a linked group yet. Name one, e.g. /digest DBSH, to see it.")
        )
    return councils


async def queue_posts(
    session: AsyncSession, council: Council, period: str, now: datetime, actor: str
) -> int:
    """Post the digest of `period` (asked for by `actor` with /digest) to each of the
    council's groups, through the outbox; returns the number of groups."""
    groups = (
        await session.scalars(
            select(GroupChat).where(GroupChat.council_id == council.id).order_by(GroupChat.id)
        )
    ).all()
    rows = [
        NewRow(
            dedupe_key=f"digest:{council.code}:{period}:group:{group.id}",
            kind="digest",
            subject=digest_subject(council.code),
            due_at=now,
            expires_at=now + timedelta(days=1),
            group_id=group.id,
            payload={"council_id": council.id, "period": period},
            priority=PRIORITY_DIGEST,
        )
        for group in groups
    ]
    queued = await add_rows(session, rows, now)
    audit.record(
        session,
        now,
        actor,
        "digest.post",
        council=council.code,
        period=period,
        groups=[group.chat_id for group in groups],
        queued=queued,  # fewer when the same minute's digest was already posted
    )
    return len(rows)


async def set_schedule(
    session: AsyncSession, now: datetime, who: Requester, args: list[str]
) -> tuple[Council, Weekly]:
    """/digestat COUNCIL DAY HH:MM — when the council's weekly digest is posted."""
    require_admin(who)
    usage = msg(
        "Usage: /digestat COUNCIL DAY HH:MM — DAY is mon, tue, wed, thu, fri, sat or sun.\n"
        "Example: /digestat DBSH fri 16:00"
    )
    if len(args) != 3:
        raise BadInputError(msg("Give the council, the day and the time."), usage)
    council = await council_by_code(session, args[0], usage)
    given = f"{args[1]} {args[2]}"
    try:
        schedule = Weekly.parse(given)
    except ValueError:
        raise BadInputError(msg("“{text}” is not a day and time.", text=given), usage) from None
    council.digest_schedule = str(schedule)
    # Scheduled posts planned for the old moment are withdrawn; the planner plans anew.
    await withdraw(session, digest_subject(council.code))
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "digest.schedule",
        council=council.code,
        schedule=str(schedule),
    )
    return council, schedule
