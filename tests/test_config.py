"""Settings: every variable of SPEC §1, and one clear line for a bad one."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.config import ConfigError, load_settings
from bot.logs import RedactSecrets


def test_defaults_match_the_spec(monkeypatch):
    for name in (
        "DATABASE_URL",
        "TIMEZONE",
        "DEFAULT_LOCALE",
        "TELEGRAM_API_BASE_URL",
        "LOG_LEVEL",
        "ADMIN_TELEGRAM_IDS",
        "TELEGRAM_BOT_TOKEN",
        "WEBHOOK_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(env_file=None)
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.database_url == "sqlite+aiosqlite:///data/dieuphoi.db"
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.default_locale == "vi"
    assert settings.admin_telegram_ids == []
    assert settings.log_level == "INFO"
    assert settings.telegram_file_base_url == "https://api.telegram.org/file/bot"


def test_values_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ADMIN_TELEGRAM_IDS", "123, 456")
    monkeypatch.setenv("DEFAULT_LOCALE", "EN")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings(env_file=None)
    assert settings.admin_telegram_ids == [123, 456]
    assert settings.default_locale == "en"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEFAULT_LOCALE", "fr"),
        ("TIMEZONE", "Asia/Nowhere"),
        ("ADMIN_TELEGRAM_IDS", "12,abc"),
        ("DATABASE_URL", "sqlite:///plain.db"),
        ("DATABASE_URL", "mysql://dieuphoi@localhost/dieuphoi"),
        ("DATABASE_URL", "nonsense"),
        ("DATABASE_URL", "postgresql://dieuphoi@localhost/dieuphoi"),
        ("DATABASE_URL", "postgresql+psycopg://dieuphoi@localhost/dieuphoi"),
        ("DATABASE_URL", "postgresql+asyncpg://dieuphoi@localhost:port/dieuphoi"),
        ("DATABASE_URL", "sqlite+aiosqlite:///:memory:"),
        ("DATABASE_URL", "sqlite+aiosqlite://"),
        ("WEBHOOK_PORT", "eighty"),
        ("WEBHOOK_URL", "http://insecure.example/hook"),
        ("TELEGRAM_API_BASE_URL", "ftp://x"),
        ("LOG_LEVEL", "chatty"),
        ("MEETING_REMINDERS", "7d,soon"),
        ("MEETING_REMINDERS", "0h"),
        ("TASK_REMINDER_DAYS", "14,-1"),
        ("WORKDAYS_FILE", "/nonexistent/workdays.csv"),
        ("OUTBOX_POLL_SECONDS", "0"),
        ("OUTBOX_LEASE_SECONDS", "0"),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    assert str(caught.value).startswith(f"error: {variable}: ")
    assert "\n" not in str(caught.value)


def test_a_malformed_token_is_refused_without_echoing_it(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "secret-but-wrong")
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    assert "TELEGRAM_BOT_TOKEN" in str(caught.value)
    assert "secret-but-wrong" not in str(caught.value)


def test_a_missing_token_is_reported_when_needed(monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    settings = load_settings(env_file=None)
    with pytest.raises(ConfigError, match=r"^error: TELEGRAM_BOT_TOKEN: not set"):
        _ = settings.token


def test_the_token_is_redacted_from_log_lines_and_tracebacks():
    token = "123456:SECRET-token-value"
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        'HTTP Request: POST %s "%s"',
        (f"https://api.telegram.org/bot{token}/getUpdates", "HTTP/1.1 200 OK"),
        None,
    )
    try:
        raise RuntimeError(f"failed at /bot{token}/getMe")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecrets([token]).filter(record)
    formatted = logging.Formatter().format(record)
    assert token not in formatted
    assert "<token>" in formatted


def test_reminder_timings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("MEETING_REMINDERS", "2h, 3d,30m")
    monkeypatch.setenv("TASK_REMINDER_DAYS", "0,5,10")
    settings = load_settings(env_file=None)
    assert settings.meeting_reminders == (
        timedelta(days=3),
        timedelta(hours=2),
        timedelta(minutes=30),
    )
    assert settings.task_reminder_days == (10, 5, 0)


def test_a_webhook_needs_a_secret_telegram_accepts(monkeypatch):
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.gov.vn/hook")
    for secret in (None, "", "   "):
        if secret is None:
            monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
        else:
            monkeypatch.setenv("WEBHOOK_SECRET", secret)
        with pytest.raises(ConfigError, match=r"^error: WEBHOOK_SECRET: required when WEBHOOK_URL"):
            load_settings(env_file=None)
    for refused in ("mật-khẩu", "has space", "a" * 257, "semi;colon"):
        monkeypatch.setenv("WEBHOOK_SECRET", refused)
        with pytest.raises(ConfigError) as caught:
            load_settings(env_file=None)
        assert str(caught.value) == (
            "error: WEBHOOK_SECRET: Telegram accepts 1 to 256 characters, each a letter A-Z "
            "or a-z, a digit, _ or -"
        )
    monkeypatch.setenv("WEBHOOK_SECRET", "a" * 256)
    assert load_settings(env_file=None).webhook_secret is not None
    monkeypatch.setenv("WEBHOOK_SECRET", "Ok_secret-2026")
    assert load_settings(env_file=None).webhook_secret is not None


def test_a_blank_webhook_secret_without_a_webhook_is_no_secret(monkeypatch):
    monkeypatch.delenv("WEBHOOK_URL", raising=False)
    monkeypatch.setenv("WEBHOOK_SECRET", "")
    assert load_settings(env_file=None).webhook_secret is None
