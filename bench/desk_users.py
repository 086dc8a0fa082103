"""People using the desk while a benchmark runs: signed in (sessions written directly in
the database, as the sign-in would), each clicking through their pages one after another
with a pause between clicks, as people reading pages do.

Used by bench/broadcast.py and bench/presses.py (`--desk-users N`): the claim (issue 13)
is that 50 people on the desk do not push a broadcast below 95 % of Telegram's limit nor
the press p99 above its figure. The clients run in the benchmark's process, beside the
fake Bot API server; the desk is served by the bot's own process (`dieuphoi run` with
WEB_URL), which is what is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp

from bench.common import percentile
from bot.db import Sessionmaker, transaction
from bot.services import desk
from bot.services.people import TelegramIdentity, identify

ADMIN_PAGES = ["/", "/tasks", "/meetings", "/members", "/announcements", "/audit"]
MEMBER_PAGES = ["/my"]
# A person reads a page before the next click (bench/broadcast.py --desk-think).
THINK_SECONDS = 5.0
ADMIN_SHARE = 5  # one person in five is the secretariat


@dataclass
class Clicks:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def line(self) -> str:
        if not self.latencies:
            return "no page was loaded"
        lat = self.latencies
        return (
            f"{len(lat)} pages loaded (status {self.statuses}), {self.errors} failed; "
            f"latency p50 {percentile(lat, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(lat, 0.95) * 1000:.0f} ms, p99 {percentile(lat, 0.99) * 1000:.0f} ms"
        )


async def sign_in(
    sessions: Sessionmaker, admin_ids: list[int], member_ids: list[int], count: int, now: datetime
) -> list[tuple[str, list[str]]]:
    """`count` desk sessions: every ADMIN_SHARE-th an admin's, the others members'; each
    with the pages that person clicks through."""
    people: list[tuple[str, list[str]]] = []
    members = itertools.cycle(member_ids)
    admins = itertools.cycle(admin_ids)
    async with transaction(sessions) as session:
        for number in range(count):
            is_admin = number % ADMIN_SHARE == 0 and admin_ids
            user_id = next(admins) if is_admin else next(members)
            who = await identify(session, TelegramIdentity(user_id), "vi")
            opened = await desk.open_session(session, now, who, desk.VIA_LINK)
            people.append((opened.session_id, ADMIN_PAGES if is_admin else MEMBER_PAGES))
    return people


class DeskUsers:
    """The people clicking, from `start` to `stop`."""

    def __init__(
        self, base: str, people: list[tuple[str, list[str]]], think: float = THINK_SECONDS
    ) -> None:
        self.base = base
        self.people = people
        self.think = think
        self.clicks = Clicks()
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()

    def start(self) -> None:
        for number, (cookie, pages) in enumerate(self.people):
            self._tasks.append(asyncio.create_task(self._browse(number, cookie, pages)))

    async def stop(self) -> Clicks:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return self.clicks

    async def _browse(self, number: int, cookie: str, pages: list[str]) -> None:
        rng = random.Random(number)
        # Not all at once: people started reading at different moments.
        await asyncio.sleep(rng.uniform(0, self.think))
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(cookies={"desk_session": cookie}, timeout=timeout) as http:
            for path in itertools.cycle(pages):
                if self._stop.is_set():
                    return
                began = time.perf_counter()
                try:
                    async with http.get(self.base + path, allow_redirects=False) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError):
                    self.clicks.errors += 1
                else:
                    self.clicks.latencies.append(time.perf_counter() - began)
                    self.clicks.statuses[status] = self.clicks.statuses.get(status, 0) + 1
                with contextlib.suppress(TimeoutError):  # the pause, or the end
                    await asyncio.wait_for(self._stop.wait(), self.think)
