"""Dates, times, periods and cited documents, written the way officials write them.

The one place that turns a date, a moment, a span of time, a reporting period or a cited
document into text for a person (SPEC §8). Vietnamese follows administrative
correspondence, not Babel's CLDR defaults ("Thứ Năm, 3 tháng 12, 2026 lúc 08:30" is
written by no ministry):

    a day       ngày 03/12/2026                 3 December 2026
    with weekday thứ Năm, ngày 03/12/2026       Thursday 3 December 2026
    a moment    08:30, thứ Năm, ngày 03/12/2026  Thursday 3 December 2026, 08:30
    time left   còn 2 giờ, còn 3 ngày            2 hours left, 3 days left

Weekday names and the order of the parts are catalog texts (so "thứ" stays lower-case
inside a sentence and "Chủ nhật" is written as officials write it); English month names
come from Babel.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.documents import (
    Described,
    Document,
    DocumentFormatError,
    Names,
    describe,
    parse_document,
)
from bot.i18n import N_, _, current_locale, ngettext, use_locale
from bot.periods import DueFormatError, cut_off, parse_label

# Monday first, as date.weekday() counts.
_WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)

# How a bare day is written, as a Babel pattern: Vietnamese always day/month/year with two
# digits ("ngày 03/12/2026"); English a written month ("3 December 2026").
_DAY_PATTERNS = {"vi": "'ngày' dd/MM/yyyy", "en": "d MMMM yyyy"}


def _local_day(value: date | datetime, tz: ZoneInfo) -> date:
    return value.astimezone(tz).date() if isinstance(value, datetime) else value


def numeric_day(value: date) -> str:
    """'03/12/2026' in every language: for cut-offs, document dates and table cells."""
    return value.strftime("%d/%m/%Y")


def numeric_moment(value: datetime) -> str:
    """'03/12/2026 08:30' (a local moment): for table cells."""
    return value.strftime("%d/%m/%Y %H:%M")


def weekday_name(value: date, locale: str | None = None) -> str:
    """'thứ Năm', 'Chủ nhật' / 'Thursday' (lower-case 'thứ': it sits inside a sentence)."""
    with use_locale(locale or current_locale()):
        return _(_WEEKDAYS[value.weekday()])


def format_day(
    value: date | datetime, tz: ZoneInfo, locale: str | None = None, *, weekday: bool = True
) -> str:
    """'thứ Năm, ngày 03/12/2026' / 'Thursday 3 December 2026'; without the weekday
    'ngày 03/12/2026' / '3 December 2026'."""
    loc = locale or current_locale()
    day = _local_day(value, tz)
    text = format_date(day, _DAY_PATTERNS.get(loc, _DAY_PATTERNS["en"]), locale=loc)
    if not weekday:
        return text
    with use_locale(loc):
        return _("{weekday} {date}").format(weekday=weekday_name(day, loc), date=text)


def format_moment(value: datetime, tz: ZoneInfo, locale: str | None = None) -> str:
    """'08:30, thứ Năm, ngày 03/12/2026' / 'Thursday 3 December 2026, 08:30'."""
    loc = locale or current_locale()
    local = value.astimezone(tz)
    with use_locale(loc):
        return _("{date}, {time}").format(
            date=format_day(local.date(), tz, loc), time=local.strftime("%H:%M")
        )


def format_weekly(weekday: int, at: time, locale: str | None = None) -> str:
    """A moment every week: '16:00 thứ Sáu hằng tuần' / 'every Friday at 16:00'."""
    loc = locale or current_locale()
    with use_locale(loc):
        return _("every {weekday} at {time}").format(
            weekday=_(_WEEKDAYS[weekday]), time=at.strftime("%H:%M")
        )


def format_days_left(days: int) -> str:
    """How far a deadline is, in calendar days: 'còn 3 ngày', 'hôm nay', 'quá hạn 2 ngày'."""
    if days == 0:
        return _("today")
    if days > 0:
        return ngettext("{n} day left", "{n} days left", days).format(n=days)
    return ngettext("{n} day overdue", "{n} days overdue", -days).format(n=-days)


def format_time_left(delta: timedelta, locale: str | None = None) -> str:
    """How long until a moment: 'còn 2 giờ', 'còn 7 ngày' (never 'weeks': officials count days).

    The unit words are ours, not Babel's: CLDR's Vietnamese changed "giờ" to "tiếng"
    (Babel 2.19), which official correspondence does not write.
    """
    loc = locale or current_locale()
    seconds = delta.total_seconds()
    with use_locale(loc):
        if seconds <= 0:
            return _("now")
        if delta >= timedelta(days=1):
            n = max(1, round(seconds / 86400))
            return ngettext("{n} day left", "{n} days left", n).format(n=n)
        if delta >= timedelta(hours=1):
            n = max(1, round(seconds / 3600))
            return ngettext("{n} hour left", "{n} hours left", n).format(n=n)
        n = max(1, round(seconds / 60))
        return ngettext("{n} minute left", "{n} minutes left", n).format(n=n)


# --- reporting periods ------------------------------------------------------------------

_MONTH_PERIODS = (
    N_("January {year}"),
    N_("February {year}"),
    N_("March {year}"),
    N_("April {year}"),
    N_("May {year}"),
    N_("June {year}"),
    N_("July {year}"),
    N_("August {year}"),
    N_("September {year}"),
    N_("October {year}"),
    N_("November {year}"),
    N_("December {year}"),
)
_QUARTER_PERIODS = (N_("Q1 {year}"), N_("Q2 {year}"), N_("Q3 {year}"), N_("Q4 {year}"))
_HALF_PERIODS = (N_("H1 {year}"), N_("H2 {year}"))
_NINE_MONTHS = N_("first 9 months of {year}")
_YEAR_PERIOD = N_("{year}")


def format_period(label: str, locale: str | None = None) -> str:
    """A stored period label in the reader's words: 'quý IV/2026', '6 tháng đầu năm 2027',
    '9 tháng năm 2026', 'năm 2027', 'tháng 12/2026' / 'Q4 2026', 'H1 2027',
    'first 9 months of 2026', '2027', 'December 2026'.

    A label this version cannot read (written by hand into the database) is shown as is.
    """
    try:
        period = parse_label(label)
    except DueFormatError:
        return label
    if period.kind == "M":
        template = _MONTH_PERIODS[period.number - 1]
    elif period.kind == "Q":
        template = _QUARTER_PERIODS[period.number - 1]
    elif period.kind == "H":
        template = _HALF_PERIODS[period.number - 1]
    elif period.kind == "9M":
        template = _NINE_MONTHS
    else:
        template = _YEAR_PERIOD
    with use_locale(locale or current_locale()):
        return _(template).format(year=period.year)


def format_cut_off(label: str, locale: str | None = None) -> str:
    """The data a report on `label` covers: 'số liệu từ 15/09 đến 14/12/2026' / 'data from
    15/09 to 14/12/2026' (the first day's year is written only when it differs)."""
    cut = cut_off(label)
    first = cut.first.strftime("%d/%m") if cut.first.year == cut.last.year else None
    with use_locale(locale or current_locale()):
        return _("data from {first} to {last}").format(
            first=first or numeric_day(cut.first), last=numeric_day(cut.last)
        )


# --- cited documents --------------------------------------------------------------------


def format_document(ref: str, locale: str | None = None) -> str:
    """A cited document in full: 'Công văn số 6411/VPCP-KTTH ngày 19/08/2023 của Văn phòng
    Chính phủ' / 'Official letter No. 6411/VPCP-KTTH of 19/08/2023 from the Government
    Office' when the symbol names a known issuer; plainly ('số 123/ABC ngày 05/01/2024')
    otherwise. A reference this version cannot read is shown as stored.
    """
    try:
        document = parse_document(ref)
    except DocumentFormatError:
        return ref
    return format_cited(document, locale)


def format_cited(document: Document, locale: str | None = None) -> str:
    """A document already read (a report file's number and date, as its caption gave
    them) cited the way `format_document` cites a stored reference."""
    loc = locale or current_locale()
    described = describe(document)
    params = {
        "number": document.symbol,
        "date": "" if document.issued_on is None else numeric_day(document.issued_on),
        "kind": "" if described.kind is None else _names(described.kind, loc),
        "issuer": "" if described.issuer is None else _names(described.issuer, loc),
    }
    with use_locale(loc):
        return _(_document_template(described, document.issued_on is not None)).format(**params)


def _names(names: Names, locale: str) -> str:
    return names.vi if locale == "vi" else names.en


def _document_template(described: Described, dated: bool) -> str:
    # Whole sentences, not pieces, so that each language can order them its own way.
    if described.kind is None:
        return N_("No. {number} of {date}") if dated else N_("No. {number}")
    if described.issuer is None:
        return N_("{kind} No. {number} of {date}") if dated else N_("{kind} No. {number}")
    if dated:
        return N_("{kind} No. {number} of {date} from {issuer}")
    return N_("{kind} No. {number} from {issuer}")
