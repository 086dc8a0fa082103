"""/start, /help, /whoami, /lang: registration and the user's own settings."""

from __future__ import annotations

from telegram.ext import BaseHandler, CommandHandler

from bot.i18n import _, secretariat_name, set_locale
from bot.services import groups, invites, people
from bot.services.people import Requester
from bot.services.permissions import require_member
from bot.text import Html, escape, html_format, join_lines
from handlers.common import Reply, Turn, handler
from handlers.views import help_text, member_card, not_registered_text


@handler
async def start(turn: Turn) -> Reply:
    if not turn.in_private:
        return Reply(escape(_("Please write to me in a private chat to register.")))
    token = turn.args[0] if turn.args else None
    if token is None:
        await people.remember_user(turn.session, turn.now, turn.identity, private_chat=True)
        who = turn.who
        _refresh_menu(turn, who)
        if who.member is not None:
            return Reply(
                join_lines(
                    [
                        _welcome_back(who.member.full_name, who.member.position),
                        escape(_("Send /help to see what you can do.")),
                    ]
                )
            )
        if who.is_admin:
            return Reply(
                html_format(
                    _("Welcome. You act here for {secretariat}. Send /help to begin."),
                    secretariat=secretariat_name(),
                )
            )
        return Reply(not_registered_text(who.telegram_user_id))

    registration = await invites.redeem_invite(turn.session, turn.now, turn.identity, token)
    member = registration.member
    # The member's roster language applies from this very answer on.
    who = await people.identify(turn.session, turn.identity, turn.deps.settings.default_locale)
    set_locale(who.locale)
    _refresh_menu(turn, who)  # a member from now on
    if registration.already_registered:
        greeting = html_format(_("You are already registered as {name}."), name=member.full_name)
    else:
        greeting = _welcome(member.full_name, member.position)
    return Reply(
        join_lines(
            [
                greeting,
                "",
                member_card(member),
                "",
                escape(
                    _(
                        "I will remind you here of meetings and report deadlines. "
                        "Send /help to see what you can do."
                    )
                ),
            ]
        )
    )


def _welcome(name: str, position: str | None) -> Html:
    """Greet a new member by position and name, as a letter addresses an official (no
    gender is on the roster, so no ông/bà); without a position, by name."""
    if position:
        return html_format(
            _("Welcome, {position} {name}. You are now registered."), position=position, name=name
        )
    return html_format(_("Welcome, {name}. You are now registered."), name=name)


def _welcome_back(name: str, position: str | None) -> Html:
    """A registered member's /start: greeted by position and name, as at registration."""
    if position:
        return html_format(_("Welcome back, {position} {name}."), position=position, name=name)
    return html_format(_("Welcome back, {name}."), name=name)


def _refresh_menu(turn: Turn, who: Requester) -> None:
    """Admins get their admin menu (and anyone their language), and admins and members the
    desk's button when the desk is on, once the change is saved."""
    admin, desk = who.is_admin, who.may_see_councils
    chose_language = who.user is not None and who.user.language
    if admin or chose_language or (desk and turn.deps.settings.web_url):
        turn.refresh_menu(who.telegram_user_id, who.locale, admin=admin, desk=desk)


@handler
async def help_command(turn: Turn) -> Reply:
    if turn.in_private and turn.who.is_admin:
        _refresh_menu(turn, turn.who)
    return Reply(help_text(turn.who, in_group=not turn.in_private))


@handler
async def whoami(turn: Turn) -> Reply:
    require_member(turn.who)
    lines = []
    member = await people.member_of_user(turn.session, turn.who.telegram_user_id)
    if member is not None:
        lines.append(member_card(member))
    if turn.who.is_admin:
        lines.append(
            html_format(_("You act here for {secretariat}."), secretariat=secretariat_name())
        )
    lines.append(html_format(_("Telegram id: {id}"), id=turn.who.telegram_user_id))
    return Reply(join_lines(lines))


@handler
async def lang(turn: Turn) -> Reply:
    if len(turn.args) != 1:
        return Reply(escape(_("Usage: /lang vi|en — for example: /lang en")))
    if not turn.in_private:
        # Everyone in the group reads the bot in this language: an admin's decision.
        language = await groups.set_group_language(
            turn.session, turn.now, turn.who, turn.chat_id, turn.args[0]
        )
        set_locale(language)
        return Reply(escape(_("This group will now be addressed in English.")))
    language = await people.set_language(turn.session, turn.now, turn.identity, turn.args[0])
    set_locale(language)
    # Translated in the new language: "Language set to English." / "Đã chuyển sang tiếng Việt."
    turn.refresh_menu(
        turn.who.telegram_user_id,
        language,
        admin=turn.who.is_admin,
        desk=turn.who.may_see_councils,
    )
    return Reply(escape(_("Language set to English.")))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("start", start),
        CommandHandler("help", help_command),
        CommandHandler("whoami", whoami),
        CommandHandler("lang", lang),
    ]
