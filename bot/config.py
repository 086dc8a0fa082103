"""Settings, read once from the environment or `.env`, validated, then passed down.

No other module reads `os.environ`: whatever needs a setting receives `Settings`.
"""

from __future__ import annotations

import importlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, ClassVar, Literal
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.resources import shipped
from bot.schedule import Weekly

SUPPORTED_LOCALES = ("vi", "en")

# Environment variable names, by field, so error lines name what the user set.
_ENV_NAMES = {
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "telegram_api_base_url": "TELEGRAM_API_BASE_URL",
    "telegram_bot_username": "TELEGRAM_BOT_USERNAME",
    "database_url": "DATABASE_URL",
    "timezone": "TIMEZONE",
    "default_locale": "DEFAULT_LOCALE",
    "admin_telegram_ids": "ADMIN_TELEGRAM_IDS",
    "webhook_url": "WEBHOOK_URL",
    "webhook_secret": "WEBHOOK_SECRET",
    "webhook_listen": "WEBHOOK_LISTEN",
    "webhook_port": "WEBHOOK_PORT",
    "log_level": "LOG_LEVEL",
    "invite_ttl_days": "INVITE_TTL_DAYS",
    "meeting_reminders": "MEETING_REMINDERS",
    "task_reminder_days": "TASK_REMINDER_DAYS",
    "workdays_file": "WORKDAYS_FILE",
    "outbox_poll_seconds": "OUTBOX_POLL_SECONDS",
    "outbox_lease_seconds": "OUTBOX_LEASE_SECONDS",
    "digest_schedule": "DIGEST_SCHEDULE",
    "outbox_retention_days": "OUTBOX_RETENTION_DAYS",
    "secretariat_name": "SECRETARIAT_NAME",
    "secretariat_name_en": "SECRETARIAT_NAME_EN",
    "files_dir": "FILES_DIR",
    "web_url": "WEB_URL",
    "web_listen": "WEB_LISTEN",
    "web_port": "WEB_PORT",
    "web_auth_max_age": "WEB_AUTH_MAX_AGE",
}

DEFAULT_WORKDAYS_FILE = shipped("data", "workdays.csv")
_DATABASES = "sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST:5432/NAME"
# What Telegram accepts as a webhook's secret_token (Bot API, setWebhook).
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# A reason of a check across variables, "VARIABLE: reason".
_NAMED_REASON = re.compile(r"([A-Z][A-Z0-9_]*): (.+)", re.DOTALL)
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
# Where plain http is acceptable for the desk: the operator's own machine.
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class ConfigError(Exception):
    """A setting is missing or wrong; `str()` is the one line printed on stderr."""

    def __init__(self, variable: str, reason: str) -> None:
        reason = " ".join(reason.split())  # one line, whatever a library put in it
        super().__init__(f"error: {variable}: {reason}")
        self.variable = variable
        self.reason = reason


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )
    # Telegram opens a Mini App only over https, except in a test environment such as the
    # sandbox's local Telegram (bot/sandbox/run.py): not a setting anyone can turn on.
    MINI_APPS_OVER_HTTP: ClassVar[bool] = False

    def opens_mini_app(self, url: str | None) -> bool:
        """Whether Telegram would open `url` as a Mini App (a web_app button)."""
        return bool(url) and (
            str(url).startswith("https://")
            or (self.MINI_APPS_OVER_HTTP and str(url).startswith("http://"))
        )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    # Optional: lets the CLI print invite links without asking Telegram (getMe).
    telegram_bot_username: str | None = None
    database_url: str = "sqlite+aiosqlite:///data/dieuphoi.db"
    timezone: str = "Asia/Ho_Chi_Minh"
    default_locale: Literal["vi", "en"] = "vi"
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"  # noqa: S104 - a webhook must listen beyond localhost
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    log_level: Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"] = "INFO"
    invite_ttl_days: int = Field(default=14, ge=1, le=365)
    # How long before a meeting its reminders go out: "7d,1d,2h".
    meeting_reminders: Annotated[tuple[timedelta, ...], NoDecode] = (
        timedelta(days=7),
        timedelta(days=1),
        timedelta(hours=2),
    )
    # Days before the due day on which task reminders go out (0 = the due day itself).
    task_reminder_days: Annotated[tuple[int, ...], NoDecode] = (14, 7, 3, 1, 0)
    # Extra days off and make-up working days announced by the government each year.
    workdays_file: Path = DEFAULT_WORKDAYS_FILE
    # The longest an idle sender sleeps before it looks for due outbox rows again. Work
    # added by this process (or, on PostgreSQL, by any instance) wakes it at once; this
    # bounds the wait for rows added by another process on SQLite, or the command line.
    outbox_poll_seconds: float = Field(default=30.0, gt=0, le=300)
    # A row claimed by a sender that died is claimable again after this long.
    outbox_lease_seconds: float = Field(default=60, ge=1, le=3600)
    # When each council's weekly digest goes to its groups (local time); per council
    # it can be changed with /digestat.
    digest_schedule: str = "mon 08:30"
    # Sent, skipped and dropped outbox rows older than this are pruned. At least 45: the
    # planner looks back up to 40 days (nudges after Tết), and a pruned row must never be
    # planned again.
    outbox_retention_days: int = Field(default=90, ge=45, le=3650)
    # The standing agency the bot speaks for, named as its letters name it. In English
    # texts: SECRETARIAT_NAME_EN when given; else the default name's translation, or a
    # changed name as given (a proper name: "Bộ Tài chính").
    secretariat_name: str = Field(
        default="Cơ quan thường trực Hội đồng", min_length=1, max_length=200
    )
    secretariat_name_en: str | None = Field(default=None, min_length=1, max_length=200)
    # Where received report files are kept, each named by its SHA-256 (SPEC §6). Not
    # checked at start-up: an unwritable folder is told to the admins and retried
    # (jobs/downloads.py), the bot meanwhile still takes the reports.
    files_dir: Path = Path("data/files")
    # The desk (SPEC §9): its public base URL (off when unset), where it listens (behind
    # the operator's reverse proxy), and the oldest Telegram initData it accepts.
    web_url: str | None = None
    web_listen: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    web_auth_max_age: int = Field(default=3600, ge=10, le=86400)

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            ids = []
            for part in parts:
                if not part:
                    continue
                if not part.lstrip("-").isdigit():
                    raise ValueError(f"{part!r} is not a Telegram user id (digits only)")
                ids.append(int(part))
            return ids
        return value

    @field_validator("meeting_reminders", mode="before")
    @classmethod
    def _offsets(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        offsets = []
        for part in (p.strip().lower() for p in value.split(",")):
            number, unit = part[:-1], part[-1:]
            if unit not in _UNITS or not number.isdigit() or int(number) == 0:
                raise ValueError(f"{part!r} is not a duration like 7d, 1d or 2h")
            offsets.append(timedelta(**{_UNITS[unit]: int(number)}))
        return tuple(sorted(set(offsets), reverse=True))

    @field_validator("task_reminder_days", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts or not all(p.isdigit() and int(p) <= 366 for p in parts):
            raise ValueError("must be whole numbers of days, e.g. 14,7,3,1,0")
        return tuple(sorted({int(p) for p in parts}, reverse=True))

    @field_validator("digest_schedule")
    @classmethod
    def _weekly(cls, value: str) -> str:
        return str(Weekly.parse(value))

    @field_validator("workdays_file")
    @classmethod
    def _readable(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("secretariat_name", mode="before")
    @classmethod
    def _one_line(cls, value: object) -> object:
        return " ".join(value.split()) if isinstance(value, str) else value

    @field_validator("secretariat_name_en", mode="before")
    @classmethod
    def _one_line_or_unset(cls, value: object) -> object:
        # An empty SECRETARIAT_NAME_EN= line in .env means "not given".
        return (" ".join(value.split()) or None) if isinstance(value, str) else value

    @field_validator("web_url", mode="before")
    @classmethod
    def _desk_url(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None  # an empty WEB_URL= line in .env: the desk is off
        try:
            url = urlsplit(value)
            host = url.hostname
            _ = url.port  # a port that is not a number raises here
        except ValueError:
            raise ValueError(
                "not a URL; give the desk's public address, e.g. https://desk.example.gov.vn"
            ) from None
        if url.scheme not in ("http", "https") or not host:
            raise ValueError("give the desk's public address, e.g. https://desk.example.gov.vn")
        if url.query or url.fragment or url.username or url.password:
            raise ValueError("a base address only: no user, query or #fragment")
        if url.path.strip("/"):
            # Its pages link to /tasks, /my…: the desk is the whole site of its host name.
            raise ValueError(
                "the desk is served at the root of its own host name, not under a "
                "path; e.g. https://desk.example.gov.vn"
            )
        if url.scheme == "http" and host not in _LOOPBACK_HOSTS:
            raise ValueError(
                "must be https:// (Telegram opens Mini Apps over https only, and the session "
                "cookie must not travel in clear); http:// only on this machine: "
                "http://127.0.0.1:8080"
            )
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("default_locale", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        # Reasons name the scheme at most: the URL may hold a password.
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"not a database URL; use {_DATABASES}") from None
        except ValueError:  # SQLAlchemy's only one: int(port)
            raise ValueError("not a database URL: the port is not a number") from None
        scheme, backend = url.drivername, url.get_backend_name()
        if backend == "sqlite":
            if scheme != "sqlite+aiosqlite":
                raise ValueError(
                    f"{scheme}:// is not supported; use sqlite+aiosqlite:///PATH "
                    "(SQLite through its async driver)"
                )
            if not url.database or ":memory:" in url.database:
                raise ValueError(
                    "an SQLite database in memory is lost when the process ends; "
                    "give a file: sqlite+aiosqlite:///data/dieuphoi.db"
                )
        elif backend in ("postgresql", "postgres"):
            if scheme != "postgresql+asyncpg":
                raise ValueError(
                    f"{scheme}:// is not supported; use postgresql+asyncpg://"
                    "USER:PASSWORD@HOST:5432/NAME (PostgreSQL through its async driver)"
                )
            try:
                importlib.import_module("asyncpg")
            except ImportError:
                raise ValueError(
                    "the PostgreSQL driver is not installed; "
                    "install it with: pip install 'dieuphoi[postgres]'"
                ) from None
        else:
            raise ValueError(f"{scheme}:// is not supported; use {_DATABASES}")
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        secret = value.get_secret_value().strip()
        bot_id, _, rest = secret.partition(":")
        if not bot_id.isdigit() or not rest:
            # Never echo the value: it is a secret even when malformed.
            raise ValueError("does not look like a bot token (digits, a colon, then letters)")
        return SecretStr(secret)

    @field_validator("webhook_secret")
    @classmethod
    def _secret_telegram_accepts(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        # Never echo the value, even when Telegram would refuse it.
        if not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError(
                "Telegram accepts 1 to 256 characters, each a letter A-Z or a-z, a digit, _ or -"
            )
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        # Model-level reasons start with the variable they are about (load_settings).
        if self.webhook_url and not self.webhook_url.startswith("https://"):
            raise ValueError("WEBHOOK_URL: Telegram only calls https:// webhooks")
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError(
                "WEBHOOK_SECRET: required when WEBHOOK_URL is set (without it anyone who "
                "finds the URL could send the bot forged updates); make one with: "
                "openssl rand -hex 32"
            )
        return self

    # --- derived values -------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def telegram_file_base_url(self) -> str:
        """Where files are downloaded: Telegram serves them under /file/bot<token>/."""
        base = self.telegram_api_base_url
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base.rstrip("/") + "/file/bot"

    @property
    def web_host(self) -> str | None:
        """The `Host` header the desk answers to (WEB_URL's host and port, as a browser
        sends it); None when the desk is off."""
        if self.web_url is None:
            return None
        return urlsplit(self.web_url).netloc.lower()

    @property
    def token(self) -> str:
        """The bot token; raises ConfigError when `run` or getMe needs it and it is unset."""
        if self.telegram_bot_token is None:
            raise ConfigError("TELEGRAM_BOT_TOKEN", "not set (get one from @BotFather)")
        return self.telegram_bot_token.get_secret_value()

    def secrets(self) -> dict[str, str]:
        """Every secret value among the settings, with the marker that stands for it on
        output (bot/redact.py)."""
        found: dict[str, str] = {}
        if self.telegram_bot_token is not None:
            # The part after the colon is the secret one; it may show up on its own.
            found[self.telegram_bot_token.get_secret_value().partition(":")[2]] = "<token>"
        if self.webhook_secret is not None:
            found[self.webhook_secret.get_secret_value()] = "<secret>"
        password = make_url(self.database_url).password
        if password:
            found[str(password)] = "<password>"
            found[quote(str(password), safe="")] = "<password>"
        # Replacing a value of a few letters would garble every word that holds it ("a"
        # in "database"); a real token's secret part has 35 characters.
        found = {value: marker for value, marker in found.items() if len(value) >= 6}
        if self.telegram_bot_token is not None:
            found[self.telegram_bot_token.get_secret_value()] = "<token>"  # whole: always
        return found

    def sqlite_path(self) -> Path | None:
        """The database file for SQLite URLs, so its folder can be created."""
        if not self.database_url.startswith("sqlite"):
            return None
        _, _, path = self.database_url.partition(":///")
        if not path or path.startswith(":memory:"):
            return None
        return Path(path)


def load_settings(env_file: str | None = ".env", **overrides: object) -> Settings:
    """Read and validate settings; a bad value raises ConfigError naming the variable.

    `overrides` (by field name) win over the environment; tests pass `env_file=None`.
    """
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        variable = _ENV_NAMES.get(field, field.upper() or "settings")
        message = str(first["msg"]).removeprefix("Value error, ")
        if not field and (named := _NAMED_REASON.fullmatch(message)):
            variable, message = named.group(1), named.group(2)
        raise ConfigError(variable, message) from None
