"""The database schema (SQLAlchemy 2, typed). Times are stored in UTC.

People and places (councils, agencies, members, groups), the work (meetings, tasks and
each agency's part of a task), and the outbox every scheduled send goes through.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Dialect,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.periods import Recurrence

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zones, so values are stored there as naive UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class AgencyKind(enum.StrEnum):
    MINISTRY = "ministry"
    PROVINCE = "province"
    OTHER = "other"


class Role(enum.StrEnum):
    CHAIR = "chair"
    STANDING_VICE_CHAIR = "standing_vice_chair"  # Phó Chủ tịch Thường trực
    VICE_CHAIR = "vice_chair"
    MEMBER = "member"
    CONTACT = "contact"


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as text with a CHECK constraint: portable, and readable in SQL.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        name=cls.__name__.lower(),
    )


class Council(Base):
    __tablename__ = "councils"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    # When its weekly digest is posted, e.g. "mon 08:30"; None = DIGEST_SCHEDULE.
    digest_schedule: Mapped[str | None] = mapped_column(String(20))

    memberships: Mapped[list[CouncilMembership]] = relationship(back_populates="council")
    groups: Mapped[list[GroupChat]] = relationship(back_populates="council")

    def name(self, locale: str) -> str:
        return self.name_vi if locale == "vi" else self.name_en


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AgencyKind] = mapped_column(_enum(AgencyKind), default=AgencyKind.OTHER)

    def name(self, locale: str) -> str:
        return self.name_vi if locale == "vi" else self.name_en

    def addressee(self, locale: str) -> str:
        return agency_addressee(self.name(locale), self.kind, locale)


def agency_addressee(name: str, kind: AgencyKind, locale: str) -> str:
    """The agency as a letter addressed to it names it: a province by its People's
    Committee ("UBND tỉnh Cao Bằng", "UBND thành phố Hà Nội"); others by their name
    (`name` is the agency's name in `locale`)."""
    if kind != AgencyKind.PROVINCE:
        return name
    if locale != "vi":
        return f"People's Committee of {name}"
    # "Tỉnh Cao Bằng" -> "tỉnh Cao Bằng": inside a name the unit is written lower-case.
    for unit in ("Tỉnh ", "Thành phố "):
        if name.startswith(unit):
            name = unit.lower() + name[len(unit) :]
            break
    return f"UBND {name}"


class TelegramUser(Base):
    """A Telegram account the bot has seen, whether or not it is a member."""

    __tablename__ = "telegram_users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64))
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    # Chosen with /lang; wins over everything else.
    language: Mapped[str | None] = mapped_column(String(8))
    # True once the user has written to the bot in private; False after a 403.
    private_chat_ok: Mapped[bool] = mapped_column(default=False)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class Member(Base):
    """A person on a council roster: one per (agency, full name)."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("agency_id", "name_key", name="uq_members_agency_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # Case- and spacing-insensitive form of full_name used to match roster rows.
    name_key: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200), default="")
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    language: Mapped[str | None] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    telegram_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("telegram_users.id", ondelete="SET NULL"), unique=True
    )
    registered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Set by `members remove`: no seat, no Telegram account, no invite; the row stays for
    # what the member reported. A later import that lists them again clears it.
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(64))

    agency: Mapped[Agency] = relationship(lazy="joined")
    telegram_user: Mapped[TelegramUser | None] = relationship()
    memberships: Mapped[list[CouncilMembership]] = relationship(
        back_populates="member", cascade="all, delete-orphan"
    )


class CouncilMembership(Base):
    __tablename__ = "council_memberships"
    __table_args__ = (UniqueConstraint("council_id", "member_id", name="uq_membership"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.MEMBER)

    council: Mapped[Council] = relationship(back_populates="memberships", lazy="joined")
    member: Mapped[Member] = relationship(back_populates="memberships")


class Admin(Base):
    """A secretariat admin, known by Telegram user id (not necessarily a member).

    Removing one keeps the row (`removed_at`, `removed_by`): an id taken away with
    `admin remove` is then not made an admin again by ADMIN_TELEGRAM_IDS at start-up.
    Whoever asks "who is an admin" must skip removed rows (bot/services/admins.py).
    """

    __tablename__ = "admins"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(String(200))
    added_at: Mapped[datetime]
    # "config" (ADMIN_TELEGRAM_IDS), "cli" or "tg:<user id>", like the audit log's actor.
    added_by: Mapped[str] = mapped_column(String(64))
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(64))


# A link's thread_id when it is not for a forum topic: a plain group as a whole, or the
# General topic of a forum group (which Telegram addresses with no message_thread_id).
WHOLE_CHAT = 0


class Absence(Base):
    """A member away (leave, mission) from `starts_on` to `ends_on`, local calendar days,
    both included; `ended_at` set by /back (or a new /away replacing it) ends it early.

    While it runs the member gets no task reminders or nudges; the stand-in, a member of
    the same agency, gets them when nobody else of the agency would (bot/services/absences.py).
    """

    __tablename__ = "absences"
    __table_args__ = (Index("ix_absences_member", "member_id", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    stand_in_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    # "tg:<user id>" or "cli", like the audit log's actor.
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="joined")
    stand_in: Mapped[Member | None] = relationship(foreign_keys=[stand_in_id], lazy="joined")


class GroupChat(Base):
    """A Telegram group, or a topic of a forum group, linked to a council: digests and
    group reminders go there.

    One place holds one council: (chat_id, thread_id) is unique, so a forum group can
    host several councils, a topic each. `thread_id` is the topic's message_thread_id,
    WHOLE_CHAT (0, not NULL, so that the uniqueness holds on both databases) for a plain
    group or a forum's General topic.
    """

    __tablename__ = "group_chats"
    __table_args__ = (
        UniqueConstraint("chat_id", "thread_id", name="uq_group_chats_chat_id_thread_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int] = mapped_column(BigInteger, default=WHOLE_CHAT, server_default="0")
    # When Telegram answered that the topic is gone ("message thread not found"): from
    # then on the council's posts go to the group's General topic, until an admin links
    # it again. The link keeps its thread id (see send_thread) so that two councils whose
    # topics were both deleted never collide over the General topic's place.
    topic_lost_at: Mapped[datetime | None]
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255), default="")
    linked_at: Mapped[datetime]
    linked_by: Mapped[int] = mapped_column(BigInteger)

    council: Mapped[Council] = relationship(back_populates="groups", lazy="joined")

    @property
    def send_thread(self) -> int | None:
        """The message_thread_id to send with: None for the whole chat or General."""
        if self.thread_id == WHOLE_CHAT or self.topic_lost_at is not None:
            return None
        return self.thread_id


class ChatLanguage(Base):
    """A group's language (`/lang` by an admin in the group): what the bot posts there,
    answers there and sends there on a schedule. Kept by chat, not by link, so that it
    outlives an unlink and holds for every council the group serves."""

    __tablename__ = "chat_languages"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8))
    set_at: Mapped[datetime]
    set_by: Mapped[int] = mapped_column(BigInteger)


class InviteToken(Base):
    """A single-use invite; only the SHA-256 of the token is stored."""

    __tablename__ = "invite_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship()


class AuditLog(Base):
    """Who changed what: every admin action (CLI or chat), and members' answers and notes."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    # "tg:<user id>" for chat actions, "cli" for the command line.
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str | None] = mapped_column(Text)


class Meeting(Base):
    """A council meeting. Moving or cancelling it bumps `revision`, which is part of the
    outbox keys of its reminders, so the old ones are withdrawn and new ones planned."""

    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_starts_at", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    place: Mapped[str | None] = mapped_column(String(300))
    starts_at: Mapped[datetime]
    revision: Mapped[int] = mapped_column(default=1)
    # When the current revision was set (created or moved): reminders whose moment
    # had already passed then are skipped.
    planned_at: Mapped[datetime]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    cancelled_at: Mapped[datetime | None]
    # The desk form's key: the same form sent twice makes one meeting (None: from the chat).
    form_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    council: Mapped[Council] = relationship(lazy="joined")


class Task(Base):
    """A piece of work with a deadline, assigned to one or more agencies of a council."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_due_on", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    # The deadline is a local calendar day; `period` keeps how it was written ("Q4/2023").
    due_on: Mapped[date] = mapped_column(Date)
    period: Mapped[str | None] = mapped_column(String(20))
    # The period a report covers ("Q4/2026", shown with its data cut-off); due_on is then
    # the send deadline, set apart from the period (Decree 09/2019/NĐ-CP, art. 12).
    report_period: Mapped[str | None] = mapped_column(String(20))
    recurrence: Mapped[Recurrence | None] = mapped_column(_enum(Recurrence))
    ref: Mapped[str | None] = mapped_column(String(100))
    # The task this one follows in a recurring series; unique so a series never forks.
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    cancelled_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    # Bumped when the deadline or agencies are edited: part of the outbox keys of its
    # reminders (from 1 on), so the re-planned ones do not collide with those sent before.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the current revision was planned (None: at creation); reminders whose moment
    # had already passed then are skipped.
    planned_at: Mapped[datetime | None]
    # The desk's form sends a key of its own: the same form sent twice makes one task.
    form_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    council: Mapped[Council] = relationship(lazy="joined")
    # Always wanted with the task (a handful of rows), and async sessions cannot lazy-load.
    assignments: Mapped[list[TaskAgency]] = relationship(
        back_populates="task",
        cascade="all, delete-orphan",
        order_by="TaskAgency.id",
        lazy="selectin",
    )

    @property
    def is_open(self) -> bool:
        return self.cancelled_at is None and self.done_at is None


class TaskAgency(Base):
    """One agency's part of a task; `done_at` is set by the first `✅` from its members."""

    __tablename__ = "task_agencies"
    __table_args__ = (UniqueConstraint("task_id", "agency_id", name="uq_task_agency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    done_at: Mapped[datetime | None]

    task: Mapped[Task] = relationship(back_populates="assignments")
    agency: Mapped[Agency] = relationship(lazy="joined")


class ReportStatus(enum.StrEnum):
    DONE = "done"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BLOCKED = "blocked"


class StatusReport(Base):
    """One member's answer on a task for their agency: a status and an optional note."""

    __tablename__ = "status_reports"
    __table_args__ = (
        Index("ix_status_reports_task", "task_id", "agency_id", "created_at"),
        # A reply to the note question finds its report by the question's message.
        Index("ix_status_reports_prompt", "prompt_chat_id", "prompt_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    # The bot's question asking for a note: a reply to it adds the note to this report.
    prompt_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    prompt_message_id: Mapped[int | None] = mapped_column(BigInteger)

    agency: Mapped[Agency] = relationship(lazy="joined")
    member: Mapped[Member] = relationship(lazy="joined")


class RsvpAnswer(enum.StrEnum):
    ATTEND = "attend"
    ABSENT = "absent"
    DELEGATE = "delegate"


class MeetingResponse(Base):
    """A member's answer to a meeting invitation; changeable until the meeting starts."""

    __tablename__ = "meeting_responses"
    __table_args__ = (
        UniqueConstraint("meeting_id", "member_id", name="uq_meeting_response"),
        # A reply to the delegate question finds its answer by the question's message.
        Index("ix_meeting_responses_prompt", "prompt_chat_id", "prompt_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    answer: Mapped[RsvpAnswer] = mapped_column(_enum(RsvpAnswer))
    # With DELEGATE: who goes instead (name and position), as the member wrote it.
    delegate: Mapped[str | None] = mapped_column(String(300))
    answered_at: Mapped[datetime]
    # The bot's question asking for the delegate: a reply to it fills `delegate`.
    prompt_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    prompt_message_id: Mapped[int | None] = mapped_column(BigInteger)

    member: Mapped[Member] = relationship(lazy="joined")


class Digest(Base):
    """A council digest that was built, once per period ("2026-11-30" for the scheduled
    one of that day, "now:2026-11-23T09:41" for one asked for with /digest)."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("council_id", "period", name="uq_digest_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]


class AnnouncementState(enum.StrEnum):
    DRAFT = "draft"  # previewed, waiting for 📣 or ✖️
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Announcement(Base):
    """A broadcast of the secretariat to one council or to all; each copy is an outbox row."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A council code, or "all".
    target: Mapped[str] = mapped_column(String(20))
    # Telegram HTML, already safe: escaped text, or the formatting of the admin's message.
    html: Mapped[str] = mapped_column(Text)
    state: Mapped[AnnouncementState] = mapped_column(
        _enum(AnnouncementState), default=AnnouncementState.DRAFT
    )
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    confirmed_by: Mapped[int | None] = mapped_column(BigInteger)
    confirmed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Where the admin follows the progress (one message, edited).
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_text: Mapped[str | None] = mapped_column(Text)
    progress_at: Mapped[datetime | None]
    # Its copies are queued in chunks, so the first go out while the last are written:
    # how many there are to be (at 📣), and when the last one was queued.
    recipients: Mapped[int | None]
    queued_at: Mapped[datetime | None]
    # The desk's form: the same form sent twice makes one draft.
    form_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class AnnouncementAck(Base):
    """A 👍 on a copy of an announcement: counted once per person."""

    __tablename__ = "announcement_acks"
    __table_args__ = (
        UniqueConstraint("announcement_id", "telegram_user_id", name="uq_announcement_ack"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"))
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]


class OutboxState(enum.StrEnum):
    PENDING = "pending"  # waiting for its moment
    SENDING = "sending"  # claimed by a sender; back to pending if its lease runs out
    SENT = "sent"
    FAILED = "failed"  # gave up after retries, or Telegram refused it for good
    DROPPED = "dropped"  # its moment is entirely past (e.g. the meeting is over)
    SKIPPED = "skipped"  # nothing to say any more (task done, member unreachable…)
    CANCELLED = "cancelled"  # withdrawn (meeting moved or cancelled, task cancelled)


class Outbox(Base):
    """Every message the bot sends on its own initiative is first a row here.

    `dedupe_key` is unique: planning the same reminder twice, from two instances or
    after a restart, inserts it once. The text is rendered when it is sent, in the
    recipient's language at that moment, from the ids in `payload`.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # The dispatcher's query: due pending rows, most urgent first.
        Index("ix_outbox_due", "state", "due_at"),
        Index("ix_outbox_subject", "subject"),
        # A reply to a reminder finds the reminder by its message.
        Index("ix_outbox_message", "chat_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    # What the row is about ("meeting:5", "task:42"), to withdraw its rows together.
    subject: Mapped[str] = mapped_column(String(60))
    # Exactly one recipient: a member (private chat, else a mention in a group), a
    # linked group, or a Telegram user (admins).
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("group_chats.id", ondelete="CASCADE"))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Lower is more urgent: meeting reminders go before broadcasts.
    priority: Mapped[int] = mapped_column(default=50)
    due_at: Mapped[datetime]
    # After this moment the message means nothing any more and is dropped, not sent.
    expires_at: Mapped[datetime | None]
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


# --- several instances (bot/instances.py, bot/outbox/budget.py) ---------------------------
# Their times are seconds since 1970 by the database server's clock, not the processes':
# hosts whose clocks disagree still agree on who is late and whose turn it is.


class Instance(Base):
    """A running `dieuphoi run` process; gone when it stops, or when it stops beating."""

    __tablename__ = "instances"

    # Also the `claimed_by` of the outbox rows it claims.
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[float] = mapped_column(Double)


class Lease(Base):
    """A role one instance at a time may hold (`polling`: asking Telegram for updates)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Double)


class SendBudget(Base):
    """One of the sends a second Telegram allows the bot, shared by every instance: when
    it may be used again (bot/outbox/budget.py)."""

    __tablename__ = "send_budget"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_at: Mapped[float] = mapped_column(Double)


# --- updates from Telegram (bot/inbox) ---------------------------------------------------


class InboxState(enum.StrEnum):
    PENDING = "pending"  # stored, not handled yet (or to be tried again)
    HANDLED = "handled"  # its changes are committed; its replies may not all be sent yet
    DONE = "done"  # handled and answered
    FAILED = "failed"  # could not be parsed, or its handling kept failing
    DROPPED = "dropped"  # one of a flood: not handled (the person was asked to slow down)


class InboxUpdate(Base):
    """Every update from Telegram, stored before Telegram is told it arrived (the next
    getUpdates offset, or the webhook's 200), and handled once by its update id.

    `replies` holds what the handling still has to say to Telegram (bot/replies.py),
    written in the same transaction as the handling's changes: after a crash the changes
    are not made twice, and the answers are still given.
    """

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_due", "state", "due_at"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column()
    # Whose updates keep their order: the person's Telegram id (else the chat's).
    person: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[InboxState] = mapped_column(_enum(InboxState), default=InboxState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime]
    # When to (re)try it; a failed try waits a little before the next.
    due_at: Mapped[datetime]
    # The instance handling it; None when any instance may take it.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    replies: Mapped[list[Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]


# --- report files (SPEC §6 "Report files") -----------------------------------------------


class ReportFile(Base):
    """A document (or a photo of signed pages) a member sent as their agency's report on
    a task. Several per agency and task are kept, in the order received; the latest is the
    one shown. Recorded as soon as it arrives; the bot then downloads it into FILES_DIR
    (a durable queue: `download_due_at` is when to try next, None once it is kept or
    given up for good).

    `task_id` is None while the sender still has to say which task it is for (a file sent
    with no context gets buttons listing the agency's open tasks).
    """

    __tablename__ = "report_files"
    __table_args__ = (
        # The same file twice (Telegram's file_unique_id) is recorded once per task.
        UniqueConstraint("task_id", "agency_id", "file_unique_id", name="uq_report_files_file"),
        Index("ix_report_files_task", "task_id", "agency_id", "received_at"),
        # The download queue: rows due for a try, soonest first.
        Index("ix_report_files_download", "download_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # "document" or "photo": how Telegram sends it back (/files).
    kind: Mapped[str] = mapped_column(String(10))
    telegram_file_id: Mapped[str] = mapped_column(String(255))
    file_unique_id: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str | None] = mapped_column(String(255))
    mime_type: Mapped[str | None] = mapped_column(String(100))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    # Telegram's album id: the photos of signed pages sent together go to the task the
    # first of them (the one with the caption) was sent for.
    media_group_id: Mapped[str | None] = mapped_column(String(64))
    # The official number and date, when the caption gives them ("123/BC-UBND", 10/12/2026).
    doc_number: Mapped[str | None] = mapped_column(String(100))
    doc_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    # The download: checksum and place under FILES_DIR ("ab/abcdef….pdf") once kept.
    sha256: Mapped[str | None] = mapped_column(String(64))
    stored_path: Mapped[str | None] = mapped_column(String(300))
    download_attempts: Mapped[int] = mapped_column(default=0)
    download_error: Mapped[str | None] = mapped_column(Text)
    download_due_at: Mapped[datetime | None]
    downloaded_at: Mapped[datetime | None]

    agency: Mapped[Agency] = relationship(lazy="joined")
    member: Mapped[Member] = relationship(lazy="joined")


# --- the desk (web/, SPEC §9) --------------------------------------------------------------


class DeskLink(Base):
    """A one-time sign-in link to the desk, given by /desk: single use, 10 minutes. Only
    the SHA-256 of its token is stored, like an invite's."""

    __tablename__ = "desk_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class DeskSession(Base):
    """A signed-in desk session. The browser holds the session id in a cookie; only its
    SHA-256 is stored, so a leaked copy of the database signs nobody in. Who may do what
    is read again at every request: the row says only who signed in."""

    __tablename__ = "desk_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    # "telegram" (Mini App initData) or "link" (/desk's one-time link).
    via: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class DeskHandoff(Base):
    """What a desk form leaves for the page after it, kept in the database so that any
    instance serves the next request: an uploaded roster (its rows) between its preview
    and its confirmation, then what the import did; or the invitation links just issued (shown
    once, to the admin who asked, until `expires_at`). Deleted once expired."""

    __tablename__ = "desk_handoffs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random, in the URL
    kind: Mapped[str] = mapped_column(String(20))  # "import" or "invites"
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)  # the admin it is for
    filename: Mapped[str] = mapped_column(String(200), default="")
    # The roster's rows as read from the uploaded file (confirming imports exactly
    # these; the file is not read twice); emptied once imported.
    rows: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    preview: Mapped[dict[str, Any] | None]  # what the import would do
    result: Mapped[dict[str, Any] | None]  # what it did; links issued
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    applied_at: Mapped[datetime | None]
