"""Settings from the environment or a .env file. The token is a SecretStr: never printed or logged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.errors import PosbotError


class ConfigError(PosbotError):
    """A missing or malformed setting; the message is one line fit to print at start-up."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr = Field(description="the token @BotFather gave you")
    telegram_api_base: str | None = Field(default=None, description="a self-hosted Bot API server, e.g. http://127.0.0.1:8081")
    admin_ids: Annotated[tuple[int, ...], NoDecode] = Field(default=(), description="comma-separated Telegram user ids")
    support_chat_id: int | None = Field(default=None, description="the support supergroup; unset: no handoff, merchants are told how to reach support")
    support_staff_ids: Annotated[tuple[int, ...], NoDecode] = Field(default=(), description="comma-separated user ids of support staff: only they are relayed to merchants and may /close; unset: the support group's administrators")
    support_hours: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$",
                                      description="e.g. 09:00-21:00 China time; outside them merchants are told when to expect a reply")
    data_dir: Path = Path("data")
    database_url: SecretStr | None = Field(default=None, description="postgresql://user:password@host/db: records on a PostgreSQL server instead of DATA_DIR/posbot.sqlite3")
    redis_url: SecretStr | None = Field(default=None, description="redis://host:6379/0: conversation state, locks, throttling and content version shared by several workers")
    webhook_secret: SecretStr | None = Field(default=None, description="the secret Telegram sends with every update; required with several workers, random per start if unset")
    webhook_max_connections: int = Field(default=40, ge=1, le=100, description="updates Telegram sends at once (from different chats; one chat's updates always come one after another)")
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8080
    request_timeout: float = Field(default=30.0, gt=0, description="seconds before a request to Telegram times out (then retried)")
    max_concurrent_updates: int = Field(default=64, ge=1, description="updates handled at once; a backlog waits instead of piling up in memory")
    throttle_rate: float = Field(default=1.0, gt=0, description="messages per second one merchant may send, sustained")
    throttle_burst: int = Field(default=8, ge=1, description="messages one merchant may send at once before throttling")

    @field_validator("admin_ids", "support_staff_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(";", ",").split(",") if part.strip())
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        number, _, secret = token.partition(":")
        if not number.isdigit() or len(secret) < 10:
            raise ValueError("does not look like a bot token (123456:ABC...) — get one from @BotFather")
        return value

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "posbot.sqlite3"


def load_settings(**overrides: object) -> Settings:
    """Settings, or a ConfigError naming the first bad variable in one line (never its value)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        issue = error.errors()[0]
        name = str(issue["loc"][0]).upper() if issue["loc"] else "settings"
        if issue["type"] == "missing":
            raise ConfigError(f"{name} is not set: put it in the environment or in .env (see .env.example)") from None
        message = issue["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name} is invalid: {message}") from None
