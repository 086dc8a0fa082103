"""Settings: every variable of SPEC §1, and one clear line for a bad one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import ConfigError, load_settings


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
        "SECRETARIAT_NAME",
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
    assert settings.secretariat_name == "Cơ quan thường trực Hội đồng"
    assert settings.secretariat_name_en is None


def test_values_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ADMIN_TELEGRAM_IDS", "123, 456")
    monkeypatch.setenv("DEFAULT_LOCALE", "EN")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("SECRETARIAT_NAME", " Văn phòng  Hội đồng điều phối vùng\n")
    settings = load_settings(env_file=None)
    assert settings.secretariat_name == "Văn phòng Hội đồng điều phối vùng"
    monkeypatch.setenv("SECRETARIAT_NAME_EN", " ")  # an empty line in .env: not given
    assert load_settings(env_file=None).secretariat_name_en is None
    monkeypatch.setenv("SECRETARIAT_NAME_EN", "the  Regional Council Office ")
    assert load_settings(env_file=None).secretariat_name_en == "the Regional Council Office"
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
        ("OUTBOX_RETENTION_DAYS", "30"),
        ("SECRETARIAT_NAME", "   "),
        ("WEB_URL", "http://desk.example.gov.vn"),
        ("WEB_URL", "desk.example.gov.vn"),
        ("WEB_URL", "ftp://desk.example.gov.vn"),
        ("WEB_URL", "https://desk.example.gov.vn/desk"),
        ("WEB_URL", "https://desk.example.gov.vn/?x=1"),
        ("WEB_URL", "https://user:pw@desk.example.gov.vn"),
        ("WEB_URL", "https://desk.example.gov.vn:port"),
        ("WEB_PORT", "0"),
        ("WEB_PORT", "eighty"),
        ("WEB_AUTH_MAX_AGE", "0"),
        ("WEB_AUTH_MAX_AGE", "an hour"),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    assert str(caught.value).startswith(f"error: {variable}: ")
    assert "\n" not in str(caught.value)


def test_the_desk_is_off_by_default_and_listens_on_this_machine(monkeypatch):
    for name in ("WEB_URL", "WEB_LISTEN", "WEB_PORT", "WEB_AUTH_MAX_AGE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(env_file=None)
    assert settings.web_url is None and settings.web_host is None
    assert (settings.web_listen, settings.web_port, settings.web_auth_max_age) == (
        "127.0.0.1",
        8080,
        3600,
    )
    monkeypatch.setenv("WEB_URL", " ")  # an empty line in .env: off
    assert load_settings(env_file=None).web_url is None


@pytest.mark.parametrize(
    ("given", "url", "host"),
    [
        ("https://Desk.Example.gov.vn/", "https://Desk.Example.gov.vn", "desk.example.gov.vn"),
        ("https://desk.example.gov.vn:8443", "https://desk.example.gov.vn:8443", None),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080", "127.0.0.1:8080"),
        ("http://localhost:8080/", "http://localhost:8080", "localhost:8080"),
        ("http://[::1]:8080", "http://[::1]:8080", "[::1]:8080"),
    ],
)
def test_the_desk_url_is_https_or_http_on_this_machine(monkeypatch, given, url, host):
    monkeypatch.setenv("WEB_URL", given)
    settings = load_settings(env_file=None)
    assert settings.web_url == url
    assert settings.web_host == (host or url.removeprefix("https://"))


def test_http_for_a_desk_reached_from_elsewhere_says_why(monkeypatch):
    monkeypatch.setenv("WEB_URL", "http://10.0.0.5:8080")
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    assert str(caught.value).startswith("error: WEB_URL: must be https:// (Telegram opens Mini")


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


def test_every_secret_among_the_settings_has_its_marker(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:AAE-secret_part")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.gov.vn/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", "hook-secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://dieuphoi:p%40ss%2Fword@db/dieuphoi")
    assert load_settings(env_file=None).secrets() == {
        "123456:AAE-secret_part": "<token>",
        "AAE-secret_part": "<token>",
        "hook-secret": "<secret>",
        "p@ss/word": "<password>",
        "p%40ss%2Fword": "<password>",
    }


def test_a_secret_of_a_few_letters_is_not_replaced_inside_every_word(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://dieuphoi:pw@db/dieuphoi")
    assert load_settings(env_file=None).secrets() == {"1:abc": "<token>"}
