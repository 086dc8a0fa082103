"""The guided path of a first visit, each step checked off from what really happened:
the audit log (a report, a note, a task, a digest, an announcement) and the outbox (the
announcement's summary delivered to the admin who sent it). Seeded work does not count:
it is not done by a person of the sandbox in a chat."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, _, use_locale
from bot.models import AuditLog, Outbox, OutboxState
from bot.sandbox.world import Step


@dataclass(frozen=True)
class StepText:
    id: str
    title: str
    hint: str


PATH: tuple[StepText, ...] = (
    StepText(
        "answer-reminder",
        N_("As an official: answer a reminder"),
        N_("Open the chat with the bot and press a button under a reminder."),
    ),
    StepText(
        "add-note",
        N_("As an official: add a note"),
        N_("Answer the bot's question after your answer: reply to it with a few words."),
    ),
    StepText(
        "create-task",
        N_("As the secretariat: create a task"),
        N_("Switch to the secretariat officer and send /newtask (it shows how)."),
    ),
    StepText(
        "post-digest",
        N_("As the secretariat: post the digest"),
        N_("In a council group, send /digest."),
    ),
    StepText(
        "announce",
        N_("As the secretariat: send an announcement"),
        N_("Send the bot /announce DBSH and, on the next lines, the text; then press 📣."),
    ),
    StepText(
        "summary",
        N_("As the secretariat: read the announcement's summary"),
        N_("Move the clock on: the summary arrives in your chat with the bot."),
    ),
)

# Which audit action checks off which step (actors "tg:<id>": done in a chat).
_BY_ACTION = {
    "task.report": "answer-reminder",
    "task.note": "add-note",
    "task.create": "create-task",
    "digest.post": "post-digest",
    "announcement.send": "announce",
}


async def done_steps(session: AsyncSession) -> set[str]:
    done: set[str] = set()
    actions = await session.scalars(
        select(AuditLog.action)
        .where(AuditLog.action.in_(_BY_ACTION), AuditLog.actor.like("tg:%"))
        .distinct()
    )
    done.update(_BY_ACTION[action] for action in actions)
    summary = await session.scalar(
        select(Outbox.id)
        .where(Outbox.kind == "announcement_summary", Outbox.state == OutboxState.SENT)
        .limit(1)
    )
    if summary is not None:
        done.add("summary")
    return done


def render_steps(done: set[str], language: str) -> list[Step]:
    with use_locale(language):
        return [Step(s.id, _(s.title), _(s.hint), s.id in done) for s in PATH]
