"""Run the `dieuphoi` command line as a real subprocess while the test's event loop serves
the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Variables of the developer's shell that must not leak into a test's subprocess.
_SETTINGS = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL",
    "TELEGRAM_BOT_USERNAME",
    "DATABASE_URL",
    "TIMEZONE",
    "DEFAULT_LOCALE",
    "ADMIN_TELEGRAM_IDS",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "WEBHOOK_LISTEN",
    "WEBHOOK_PORT",
    "LOG_LEVEL",
    "INVITE_TTL_DAYS",
)


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli_env(cwd: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    env.update(settings)
    env["PYTHONPATH"] = str(ROOT)
    return env


async def start_cli(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def run_cli(*args: str, env: dict[str, str], cwd: Path, timeout: float = 60) -> Result:
    process = await start_cli(*args, env=env, cwd=cwd)
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())
