"""The fake Bot API as a process of its own, for checks that run the bot from outside
(`.ci/wheel-smoke`)::

    python -m bot.sandbox.telegram [--token TOKEN] [--timeout SECONDS]

It listens on 127.0.0.1 (a free port) and prints, one line each::

    base_url http://127.0.0.1:PORT/bot
    token 123456:…

then reads commands on stdin, one a line, and answers each with one line:

    say TEXT   a user (Telegram app in Vietnamese) writes TEXT to the bot in a private
               chat; answers `answer {"text": …}` with the bot's first reply, or
               `no-answer` after the timeout
    status     `status {"calls": {method: count}, "violations": […]}`
    quit       stops (so do end of input, SIGINT and SIGTERM)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import signal
import sys
from collections import Counter

from bot.sandbox.telegram import FakeBotApi


def _random_token() -> str:
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(27)}"


def _say(line: str) -> None:
    print(line, flush=True)


async def _serve(token: str, timeout: float) -> int:
    api = FakeBotApi(token=token)
    await api.start()
    _say(f"base_url {api.base_url}")
    _say(f"token {api.token}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    user = api.add_user(first_name="Smoke", language_code="vi")
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    try:
        while not stop.is_set():
            reading = asyncio.ensure_future(commands.readline())
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not reading.done():
                reading.cancel()
                break
            line = reading.result().decode()
            command, _, argument = line.strip().partition(" ")
            if not line or command == "quit":  # end of input, or asked to
                break
            if command == "say":
                since = len(api.sent)
                api.send_message(user, argument)
                try:
                    reply = await api.wait_for_message(user.id, timeout=timeout, since=since)
                except AssertionError:
                    _say("no-answer")
                else:
                    _say("answer " + json.dumps({"text": reply.get("text")}, ensure_ascii=False))
            elif command == "status":
                calls = Counter(name for name, _params, _status in api.calls)
                _say("status " + json.dumps({"calls": calls, "violations": api.violations}))
            elif command:
                _say(f"error unknown command {command!r}")
    finally:
        await api.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox.telegram", description=__doc__)
    parser.add_argument("--token", default=None, help="the bot token (default: a random one)")
    parser.add_argument(
        "--timeout", type=float, default=60, help="how long `say` waits for the bot's reply"
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(args.token or _random_token(), args.timeout))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
