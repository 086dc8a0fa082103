"""The tests' name for the local Bot API server, which ships in the package as
bot/sandbox/telegram (the sandbox runs on it): everything the tests import from here."""

from bot.sandbox.telegram import (
    DEFAULT_API_JSON,
    ApiError,
    ApiSpec,
    FakeBotApi,
    FakeChat,
    FakeUser,
    HtmlParseError,
    RateLimiter,
    RateLimits,
    TokenBucket,
    parse_html,
    parse_html_entities,
    utf16_len,
)

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
