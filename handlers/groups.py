"""Council group chats: joining, /link, /unlink (of a group, or of a forum topic when
sent inside one), and supergroup migration; and the bot blocked or unblocked in a private
chat."""

from __future__ import annotations

from telegram import ChatMember, ChatMemberUpdated
from telegram.constants import ChatType
from telegram.ext import BaseHandler, ChatMemberHandler, CommandHandler, MessageHandler, filters

from bot.i18n import _, current_locale, secretariat_name
from bot.models import WHOLE_CHAT
from bot.services import groups, people
from bot.text import escape, html_format, join_lines
from handlers.common import Reply, Turn, handler

_PRESENT = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER, ChatMember.RESTRICTED}


@handler
async def link(turn: Turn) -> Reply:
    if turn.in_private:
        return Reply(escape(_("Use /link inside the council's group chat, e.g. /link DBSH")))
    if len(turn.args) != 1:
        codes = ", ".join(await groups.council_codes(turn.session))
        return Reply(
            html_format(
                _("Usage: /link COUNCIL — for example: /link DBSH\nCouncils: {codes}"),
                codes=codes,
            )
        )
    chat = turn.update.effective_chat
    title = chat.title if chat and chat.title else ""
    in_topic = turn.thread_id != WHOLE_CHAT
    result = await groups.link_group(
        turn.session, turn.now, turn.who, turn.chat_id, title, turn.args[0], turn.thread_id
    )
    name = result.council.name(current_locale())
    if result.already:
        already = (
            _("This topic is already linked to {council}.")
            if in_topic
            else _("This group is already linked to {council}.")
        )
        return Reply(html_format(already, council=name))
    now_linked = (
        _("This topic is now linked to {council}.")
        if in_topic
        else _("This group is now linked to {council}.")
    )
    posted_here = (
        _("Digests and group reminders of the council will be posted in this topic.")
        if in_topic
        else _("Digests and group reminders of the council will be posted here.")
    )
    lines = [html_format(now_linked, council=name), escape(posted_here)]
    if result.moved:
        lines.append(
            escape(
                _(
                    "The council was linked to another place in this group: its posts "
                    "come here instead now."
                )
            )
        )
    if result.previous is not None:
        no_longer = (
            _("This topic is no longer linked to {council}.")
            if in_topic
            else _("It is no longer linked to {council}.")
        )
        lines.append(html_format(no_longer, council=result.previous.name(current_locale())))
    return Reply(join_lines(lines))


@handler
async def unlink(turn: Turn) -> Reply:
    if turn.in_private:
        return Reply(escape(_("Use /unlink inside the group chat you want to unlink.")))
    councils = await groups.unlink_group(
        turn.session, turn.now, turn.who, turn.chat_id, turn.thread_id
    )
    unlinked = (
        _("This topic is no longer linked to {council}.")
        if turn.thread_id != WHOLE_CHAT
        else _("This group is no longer linked to {council}.")
    )
    return Reply(
        join_lines([html_format(unlinked, council=c.name(current_locale())) for c in councils])
    )


@handler
async def bot_membership_changed(turn: Turn) -> Reply | None:
    """The bot was added to or removed from a group; or, in a private chat, the person
    unblocked (restarted) or blocked it. Nothing is said in a private chat."""
    change = turn.update.my_chat_member
    if change is None:
        return None
    if change.chat.type == ChatType.PRIVATE:
        status = change.new_chat_member.status
        if status in (ChatMember.MEMBER, ChatMember.BANNED):
            await people.private_chat_changed(
                turn.session, turn.now, turn.identity, open_now=status == ChatMember.MEMBER
            )
        return None
    was_in, is_in = _presence(change)
    if was_in and not is_in:
        await groups.bot_removed(turn.session, turn.now, change.chat.id, change.from_user.id)
        return None
    if was_in or not is_in:
        return None
    if turn.who.is_admin:
        codes = ", ".join(await groups.council_codes(turn.session))
        return Reply(
            join_lines(
                [
                    escape(_("Hello! I am the assistant of the regional coordination councils.")),
                    html_format(
                        _(
                            "The staff of {secretariat} can link this group to its council "
                            "with /link COUNCIL, e.g. /link DBSH. Councils: {codes}"
                        ),
                        codes=codes,
                        secretariat=secretariat_name(),
                    ),
                ]
            )
        )
    return Reply(
        join_lines(
            [
                escape(_("Hello! I am the assistant of the regional coordination councils.")),
                html_format(
                    _(
                        "Only the staff of {secretariat} can link this group to a council. "
                        "Please ask them to send /link here."
                    ),
                    secretariat=secretariat_name(),
                ),
            ]
        )
    )


def _presence(change: ChatMemberUpdated) -> tuple[bool, bool]:
    return (
        change.old_chat_member.status in _PRESENT,
        change.new_chat_member.status in _PRESENT,
    )


@handler
async def group_migrated(turn: Turn) -> None:
    message = turn.message
    if message.migrate_to_chat_id:
        await groups.group_migrated(
            turn.session, turn.now, message.chat.id, message.migrate_to_chat_id
        )


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("link", link),
        CommandHandler("unlink", unlink),
        ChatMemberHandler(bot_membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, group_migrated),
    ]
