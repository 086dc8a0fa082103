"""Builds the Application. Resources open in post_init; the work under way ends in
post_stop (while the bot can still talk to Telegram), the resources close in
post_shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot import i18n, instances
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db import Sessionmaker, make_engine, make_sessionmaker, sqlite_path, transaction
from bot.instances import Presence
from bot.menus import publish_default_menus, publish_desk_button, publish_user_menu
from bot.outbox.budget import SharedBudget
from bot.outbox.pacing import Pacer
from bot.schedule import Timing, Weekly
from bot.services import admins
from bot.services.people import TelegramIdentity, identify
from bot.telegram_http import AiohttpRequest
from bot.wake import Listener
from bot.worktime import WorkCalendar, load_adjustments

if TYPE_CHECKING:
    from bot.inbox.flow import Flow

log = logging.getLogger(__name__)


@dataclass
class Deps:
    """What handlers and jobs need, built once per application."""

    settings: Settings
    clock: Clock
    timing: Timing
    # False in tests that drive the planner and the sender themselves.
    run_jobs: bool = True
    # The desk served from a process of its own (`dieuphoi run`: web/process.py), or from
    # this one (tests and the sandbox, on this process's clock).
    desk_apart: bool = False
    # One pacer for everything this process sends: answers, questions, the outbox.
    pacer: Pacer = field(default_factory=Pacer)
    # This process among the instances sharing the database (bot/instances.py).
    presence: Presence = field(default_factory=Presence)
    engine: AsyncEngine | None = None
    sessionmaker: Sessionmaker | None = None

    def sessions(self) -> Sessionmaker:
        if self.sessionmaker is None:
            raise RuntimeError("the database is not open: post_init has not run")
        return self.sessionmaker


def deps_of(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    deps = context.bot_data["deps"]
    assert isinstance(deps, Deps)
    return deps


def timing_from(settings: Settings) -> Timing:
    """The timing rules as configured (working calendar, reminder offsets)."""
    adjustments = load_adjustments(settings.workdays_file)
    return Timing(
        calendar=WorkCalendar(settings.tz, adjustments),
        meeting_offsets=settings.meeting_reminders,
        task_days=settings.task_reminder_days,
        digest=Weekly.parse(settings.digest_schedule),
    )


def build_application(
    settings: Settings,
    clock: Clock | None = None,
    *,
    run_jobs: bool = True,
    desk_apart: bool = False,
) -> Application:
    """The bot, ready to run; nothing is opened until post_init. `desk_apart`: serve the
    desk (when WEB_URL is set) from a process of its own (web/process.py)."""
    import handlers  # here, not at import time: handlers import this module

    i18n.speak_for(settings.secretariat_name, settings.secretariat_name_en)
    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .request(AiohttpRequest())
        # Updates are fetched and stored by bot/inbox, not by python-telegram-bot's
        # Updater, and handled by its flow (each person's in order, many at once).
        .updater(None)
        .post_init(on_startup)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
        .build()
    )
    application.bot_data["deps"] = Deps(
        settings=settings,
        clock=clock or SystemClock(),
        timing=timing_from(settings),
        run_jobs=run_jobs,
        # An in-memory SQLite database is this process's alone.
        desk_apart=desk_apart and not _in_memory(settings.database_url),
    )
    handlers.register(application)
    return application


def _in_memory(url: str) -> bool:
    return url.startswith("sqlite") and sqlite_path(url) is None


async def on_startup(application: Application) -> None:
    """Open the database, make the configured admins, publish the command menus."""
    deps: Deps = application.bot_data["deps"]
    settings = deps.settings
    i18n.load_catalogs()
    deps.engine = make_engine(settings.database_url, checkpoint_in_background=deps.run_jobs)
    deps.sessionmaker = make_sessionmaker(deps.engine)
    async with transaction(deps.sessionmaker) as session:
        added = await admins.ensure_admins(session, deps.clock.now(), settings.admin_telegram_ids)
        locales: dict[int, tuple[str, bool, bool]] = {}
        removed = await admins.removed_admin_ids(session)
        for user_id in [*await admins.admin_ids(session), *removed]:
            who = await identify(session, TelegramIdentity(user_id), settings.default_locale)
            locales[user_id] = (who.locale, user_id not in removed, who.may_see_councils)
    if added:
        log.info("admins from ADMIN_TELEGRAM_IDS added: %s", added)
    await publish_default_menus(application.bot, settings.default_locale)
    # Admins get the admin commands in their menu; those whose right was taken away get
    # the members' menu back.
    for user_id, (locale, admin, desk) in locales.items():
        await publish_user_menu(application.bot, user_id, locale, admin=admin)
        await publish_desk_button(
            application.bot,
            user_id,
            locale,
            web_url=settings.web_url if settings.opens_mini_app(settings.web_url) else None,
            may_use=desk,
        )
    if deps.run_jobs:
        import jobs  # here: jobs import this module

        await _join(deps)
        application.bot_data["loops"] = jobs.start(application)
        listener = application.bot_data["listener"] = Listener(deps.engine)
        listener.start()  # PostgreSQL: woken by the other instances' work
    flow = application.bot_data["flow"] = _flow(application, deps)
    flow.start()
    # Updates stored and not finished before a stop or a crash are taken up now.
    await flow.sweep()
    if settings.web_url:
        await _serve_desk(application, deps)
    log.info("dieuphoi started as @%s", application.bot.username)


async def _serve_desk(application: Application, deps: Deps) -> None:
    """The desk (web/), when WEB_URL is set: its own server, started and stopped with
    the bot (why not the webhook's: web/app.py), in a process of its own or in this one."""
    if deps.desk_apart:
        from web.process import DeskProcess

        apart = application.bot_data["desk"] = DeskProcess(bot_username=application.bot.username)
        await apart.start()
        return
    from web.app import DeskServer  # here: only a bot with a desk loads Jinja2

    desk = application.bot_data["desk"] = DeskServer(
        deps,
        listen=deps.settings.web_listen,
        port=deps.settings.web_port,
        bot_username=application.bot.username,
    )
    await desk.start()


def _flow(application: Application, deps: Deps) -> Flow:
    from bot.inbox.flow import Flow
    from bot.replies import speaker_of
    from handlers.errors import apology, flood_notice  # here: handlers import this module

    return Flow(application, deps, speaker_of(application).say, apology, flood_notice)


async def _join(deps: Deps) -> None:
    """Register among the instances, and send within the budget they all share."""
    async with transaction(deps.sessions()) as session:
        peers = await instances.register(session, deps.presence.name, deps.clock.now())
    deps.presence.joined(peers)
    deps.pacer.budget = SharedBudget(deps.sessions())
    deps.pacer.share_budget = lambda: not deps.presence.alone()
    log.info("instance %s registered", deps.presence.name)


async def on_stop(application: Application) -> None:
    """Let the work under way finish: the sender's and the follower's passes, and the
    updates being handled, whose answers still go out (the bot is not shut down yet).
    The desk stops first: no new request starts on a database about to close."""
    desk = application.bot_data.pop("desk", None)
    if desk is not None:
        await desk.stop()
    for loop in application.bot_data.pop("loops", []):
        await loop.stop()
    listener: Listener | None = application.bot_data.pop("listener", None)
    if listener is not None:
        await listener.stop()
    flow: Flow | None = application.bot_data.pop("flow", None)
    if flow is not None:
        await flow.stop()


async def on_shutdown(application: Application) -> None:
    deps: Deps = application.bot_data["deps"]
    await on_stop(application)  # when post_stop did not run (start-up failed half-way)
    if deps.presence.registered and deps.sessionmaker is not None:
        async with transaction(deps.sessionmaker) as session:
            released = await instances.unregister(session, deps.presence.name)
        log.info("instance %s stopped (%s claimed rows given back)", deps.presence.name, released)
    if deps.engine is not None:
        await deps.engine.dispose()
        deps.engine = deps.sessionmaker = None


ALLOWED_UPDATES = Update.ALL_TYPES
