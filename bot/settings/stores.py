"""Where posbot keeps its records: the settings every command reads (the environment, or .env).

`posbot run` adds the Telegram settings on top (bot.settings.run); `stats`, `review`, `chat`,
`rollback` and `migrate-data` read only these, so they never need BOT_TOKEN and always look at the
same records as the bot.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.errors import PosbotError

SQLITE_FILE = "posbot.sqlite3"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class ConfigError(PosbotError):
    """A missing or malformed setting; the message is one line fit to print, and never holds a value."""


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="where posbot.sqlite3 and uploaded-content backups live")
    database_url: SecretStr | None = Field(
        default=None, description="postgresql://user:password@host/db: records on a PostgreSQL server instead of "
                                  "DATA_DIR/posbot.sqlite3")
    redis_url: SecretStr | None = Field(
        default=None, description="redis://host:6379/0: conversation state, locks, throttling and content version "
                                  "shared by several workers")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        return _checked_url(value, ("postgresql", "postgres"))

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        return _checked_url(value, ("redis", "rediss", "unix"))

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / SQLITE_FILE

    def database(self) -> str | None:
        """DATABASE_URL as the stores take it (None: the SQLite file under DATA_DIR)."""
        return self.database_url.get_secret_value() if self.database_url is not None else None

    def secrets(self) -> list[str]:
        """What logging must never show (bot.logs), URLs with their password fragments included."""
        from bot.logs import url_secrets

        return [piece for url in (self.database_url, self.redis_url) if url is not None
                for piece in url_secrets(url.get_secret_value())]


def _checked_url(value: SecretStr | None, schemes: tuple[str, ...]) -> SecretStr | None:
    """A URL a driver will parse as written. The messages never repeat the URL: a malformed one is
    exactly where a password would leak a fragment at a time."""
    if value is None or not value.get_secret_value():
        return None
    url = value.get_secret_value()
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in schemes:
        raise ValueError(f"must start with {schemes[0]}://")
    if re.search(r"\s", url):
        raise ValueError("holds a space: write it as %20 (percent-encode the password)")
    if _BAD_ESCAPE.search(url):
        raise ValueError("holds a % that is not an escape: write a % in the password as %25")
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    if rest.split("?", 1)[0].count("@") > 1 or "@" in rest[len(authority):].split("?", 1)[0]:
        raise ValueError("holds more than one @ before the host: write an @ in the password as %40, a / as %2F")
    try:
        if "," not in authority:  # libpq's host1:port1,host2:port2 is no single port
            _ = urlsplit(url).port  # parsed here, so a malformed one never reaches a driver's error message
    except ValueError:
        raise ValueError("the part after the host is not a port number: percent-encode : and / in the password "
                         "(%3A, %2F)") from None
    return value


S = TypeVar("S", bound=BaseSettings)


def load(settings: type[S], **overrides: Any) -> S:
    """Settings of the given kind, or a ConfigError naming the first bad variable in one line."""
    try:
        return settings(**overrides)
    except ValidationError as error:
        issue = error.errors()[0]
        name = str(issue["loc"][0]).upper() if issue["loc"] else "settings"
        if issue["type"] == "missing":
            raise ConfigError(f"{name} is not set: put it in the environment or in .env (see .env.example)") from None
        message = str(issue["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name} is invalid: {message}") from None


def load_store_settings(**overrides: Any) -> StoreSettings:
    return load(StoreSettings, **overrides)
