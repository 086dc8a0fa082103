"""A local Telegram Bot API server: the sandbox's Telegram (bot/sandbox/) and the fake
the end-to-end tests drive the bot through (tests/fakebotapi re-exports it).

Usage::

    async with FakeBotApi() as server:
        app = Application.builder().token(server.token).base_url(server.base_url)...
        user = server.add_user("An")
        server.send_message(user, "/start")
        reply = await server.wait_for_message(user.id)
"""

from .html_check import HtmlParseError, parse_html, parse_html_entities, utf16_len
from .limits import RateLimiter, RateLimits, TokenBucket
from .server import DEFAULT_API_JSON, ApiError, ApiSpec, FakeBotApi, FakeChat, FakeUser

__all__ = [
    "DEFAULT_API_JSON",
    "ApiError",
    "ApiSpec",
    "FakeBotApi",
    "FakeChat",
    "FakeUser",
    "HtmlParseError",
    "RateLimiter",
    "RateLimits",
    "TokenBucket",
    "parse_html",
    "parse_html_entities",
    "utf16_len",
]
