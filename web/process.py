"""The desk in a process of its own beside the bot's, started and stopped by `dieuphoi run`.

Why apart: a desk page costs tens of milliseconds of Python; built in the bot's process
they queue behind, and in front of, the button presses and the sending, which share one
core's worth of Python (docs/benchmarks.md §9: fifty people on the desk raised the
presses' p99 several times over). In a process of its own the desk has the other core,
and the bot keeps its pace. Tests and the sandbox keep the desk in the bot's process
(`web.app.DeskServer`), on the bot's clock.

The two processes share the database and nothing else. The desk process:
- reads its settings as the bot did (the environment and `.env`, same working folder);
- tells the bot on its stdout, one line each: `ready` once it listens, `error <VARIABLE>
  <reason>` when it cannot (the bot stops with that one line), and `wake <channel>` after
  a commit that added work, so the bot's loops start on it at once (bot/wake.py; on
  PostgreSQL NOTIFY does so too, on SQLite nothing else would within OUTBOX_POLL_SECONDS);
- stops when its stdin closes (the bot stops it, or died without a word) or on SIGTERM
  or SIGINT, finishing the requests under way.

A desk process that dies while the bot runs is started again, after a pause that grows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.config import ConfigError

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

READY = "ready"
ERROR = "error"
WAKE = "wake"
# How long the desk may take to listen, and to finish its requests when told to stop.
START_SECONDS = 60.0
STOP_SECONDS = 20.0
# Pauses before starting a desk process that died again: 1 s, 2 s, … at most 60 s.
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 60.0
# A desk process that ran this long before dying starts again after the first pause.
STEADY_SECONDS = 300.0


class DeskProcess:
    """The parent's side: starts the desk process, passes on its wake-ups, starts it again
    if it dies, stops it."""

    def __init__(self, *, bot_username: str) -> None:
        self.bot_username = bot_username
        self._process: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Start the desk process and wait until it listens; ConfigError if it cannot."""
        self._process = await self._spawn()
        self._watch = asyncio.create_task(self._supervise(), name="desk-process")

    async def _spawn(self) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            # -P: the working directory is not put on the path (as it is for `python -m`,
            # not for the `dieuphoi` command), so a folder there named `web` or `bot` is
            # never imported in place of the package's.
            sys.executable, "-P", "-m", "web.process", "--bot-username", self.bot_username,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            # Its log lines go where the bot's go. Its own session: a Ctrl-C in a terminal
            # reaches the bot alone, which then stops the desk in order.
            start_new_session=True,
        )  # fmt: skip
        assert process.stdout is not None
        try:
            async with asyncio.timeout(START_SECONDS):
                while line := (await process.stdout.readline()).decode():
                    word, _, rest = line.rstrip("\n").partition(" ")
                    if word == READY:
                        log.info("desk process %s started", process.pid)
                        return process
                    if word == ERROR:
                        variable, _, reason = rest.partition(" ")
                        raise ConfigError(variable, reason)
        except BaseException:
            await _end(process)
            raise
        await _end(process)
        raise ConfigError(
            "WEB_URL",
            f"the desk's process ended as it started (exit {process.returncode}; its log "
            "lines above say why); unset WEB_URL to run the bot without the desk",
        )

    async def _supervise(self) -> None:
        pause = FIRST_PAUSE
        loop = asyncio.get_running_loop()
        while not self._stopping:
            process = self._process
            assert process is not None and process.stdout is not None
            started = loop.time()
            while line := (await process.stdout.readline()).decode():
                word, _, rest = line.rstrip("\n").partition(" ")
                if word == WAKE:
                    _wake(rest.split())
            code = await process.wait()
            if self._stopping:
                return
            if loop.time() - started >= STEADY_SECONDS:
                pause = FIRST_PAUSE
            log.error("the desk process ended (exit %s); starting it again in %g s", code, pause)
            self._process = None
            while self._process is None:
                await asyncio.sleep(pause)
                pause = min(LONGEST_PAUSE, pause * 2)
                if self._stopping:  # the bot is stopping too (a service manager's stop)
                    return
                try:
                    self._process = await self._spawn()
                except (ConfigError, OSError) as error:
                    log.error("the desk process could not start: %s", error)

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        if self._process is not None:
            await _end(self._process)
            self._process = None


async def _end(process: asyncio.subprocess.Process) -> None:
    """Close its stdin (it finishes its requests and exits), then insist."""
    if process.returncode is None and process.stdin is not None:
        process.stdin.close()
    for insist in (None, process.terminate, process.kill):
        if insist is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                insist()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
            return


def _wake(channels: Iterable[str]) -> None:
    from bot.wake import CHANNELS, wake

    wake(channel for channel in channels if channel in CHANNELS)


# --- the desk process's side -------------------------------------------------------------


def _say(*words: str) -> None:
    # The file descriptor itself: sys.stdout is wrapped (secrets redacted) and buffered.
    # Nobody reading: the bot is gone, and this process is about to stop (its stdin closed).
    with contextlib.suppress(BrokenPipeError):
        os.write(1, (" ".join(words) + "\n").encode())


async def _serve(settings: Settings, bot_username: str) -> int:
    from bot.app import Deps, timing_from
    from bot.clock import SystemClock
    from bot.db import make_engine, make_sessionmaker
    from bot.heap import settle
    from bot.wake import forward_wakes
    from web.app import DeskServer

    deps = Deps(settings=settings, clock=SystemClock(), timing=timing_from(settings),
                run_jobs=False)  # fmt: skip
    deps.engine = make_engine(settings.database_url)
    deps.sessionmaker = make_sessionmaker(deps.engine)
    server = DeskServer(
        deps, listen=settings.web_listen, port=settings.web_port, bot_username=bot_username
    )
    try:
        try:
            await server.start()
        except ConfigError as error:
            _say(ERROR, error.variable, error.reason)
            return 2
        forward_wakes(lambda channels: _say(WAKE, *channels))
        settle()
        _say(READY)
        await _until_told_to_stop()
        log.info("desk process stopping")
        return 0
    finally:
        await server.stop()
        await deps.engine.dispose()


async def _until_told_to_stop() -> None:
    """Until stdin closes (the bot stops it, or is gone) or a signal says stop (a service
    manager stopping every process of the service, say)."""
    loop = asyncio.get_running_loop()
    told = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, told.set)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def read_to_end() -> None:
        while await reader.read(1024):
            pass
        told.set()

    reading = asyncio.create_task(read_to_end())
    await told.wait()
    reading.cancel()


def main(argv: list[str] | None = None) -> int:
    from bot import i18n
    from bot.config import load_settings
    from bot.logs import setup_logging
    from bot.loop import use_fast_event_loop
    from bot.redact import redact_output

    parser = argparse.ArgumentParser(description="the desk, started by `dieuphoi run`")
    parser.add_argument("--bot-username", default="")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        _say(ERROR, error.variable, error.reason)
        return 2
    redact_output(settings.secrets())
    setup_logging(settings.log_level)
    i18n.load_catalogs()
    i18n.speak_for(settings.secretariat_name, settings.secretariat_name_en)
    use_fast_event_loop()
    return asyncio.run(_serve(settings, args.bot_username))


if __name__ == "__main__":
    raise SystemExit(main())
