"""Rendering shared by several handlers: labels and member summaries, in the current locale."""

from __future__ import annotations

from bot.commands import ADMIN_COMMANDS, GROUP_COMMANDS, MEMBER_COMMANDS
from bot.i18n import N_, _, current_locale, secretariat_name
from bot.models import Member, Role
from bot.services.people import Requester
from bot.text import Html, bold, code, escape, html_format, join_lines

ROLE_LABELS = {
    Role.CHAIR: N_("chair"),
    Role.STANDING_VICE_CHAIR: N_("standing vice chair"),
    Role.VICE_CHAIR: N_("vice chair"),
    Role.MEMBER: N_("member"),
    Role.CONTACT: N_("contact person"),
}


def role_label(role: Role) -> str:
    return _(ROLE_LABELS[role])


def member_card(member: Member) -> Html:
    """Name, position, agency and each council with the member's role there."""
    locale = current_locale()
    lines = [bold(member.full_name)]
    position = member.position or "—"
    lines.append(
        html_format("{position} · {agency}", position=position, agency=member.agency.name(locale))
    )
    if member.memberships:
        lines.append(escape(_("Councils:")))
        for membership in sorted(member.memberships, key=lambda m: m.council.code):
            lines.append(
                html_format(
                    "• {council} ({code}) — {role}",
                    council=membership.council.name(locale),
                    code=membership.council.code,
                    role=role_label(membership.role),
                )
            )
    return join_lines(lines)


def not_registered_text(telegram_user_id: int) -> Html:
    return html_format(
        _(
            "You are not registered yet. To register, open the personal invitation link "
            "{secretariat} sent you (it starts with t.me/…?start=).\n"
            "If you have none, send {secretariat} your Telegram id: {id}"
        ),
        id=code(telegram_user_id),
        secretariat=secretariat_name(),
    )


def staff_heading() -> Html:
    return bold(_("For the staff of {secretariat}:").format(secretariat=secretariat_name()))


def help_text(who: Requester, in_group: bool) -> Html:
    if in_group:
        lines: list[str] = [escape(_("In a council group the bot posts digests and reminders."))]
        lines += [escape(_(c.usage)) for c in GROUP_COMMANDS]
        if who.is_admin:
            lines.append("")
            lines.append(staff_heading())
            lines += [escape(_(c.usage)) for c in ADMIN_COMMANDS if c.name in ("link", "unlink")]
        return join_lines(lines)
    if not who.may_see_councils:
        return join_lines(
            [
                not_registered_text(who.telegram_user_id),
                "",
                escape(_("/lang vi|en — change the language, e.g. /lang en")),
            ]
        )
    lines = [str(bold(_("What you can do:")))]
    lines += [escape(_(c.usage)) for c in MEMBER_COMMANDS]
    if who.is_admin:
        lines.append("")
        lines.append(staff_heading())
        lines += [escape(_(c.usage)) for c in ADMIN_COMMANDS]
    return join_lines(lines)
