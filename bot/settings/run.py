"""Settings of `posbot run`: the store settings every command reads (bot.settings.stores) plus the
Telegram ones. The token is a SecretStr: never printed or logged."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from bot.handoff.desk import REMIND_AFTER_MINUTES
from bot.settings.stores import ConfigError, StoreSettings, load

__all__ = ["ConfigError", "Settings", "load_settings"]


class Settings(StoreSettings):
    bot_token: SecretStr = Field(description="the token @BotFather gave you")
    telegram_api_base: str | None = Field(default=None,
                                          description="a self-hosted Bot API server, e.g. http://127.0.0.1:8081")
    admin_ids: Annotated[tuple[int, ...], NoDecode] = Field(default=(), description="comma-separated Telegram user ids")
    support_chat_id: int | None = Field(
        default=None, description="the support supergroup; unset: no handoff, merchants are told how to reach support")
    support_staff_ids: Annotated[tuple[int, ...], NoDecode] = Field(
        default=(), description="comma-separated user ids of support staff: only they are relayed to merchants and "
                                "may /close; unset: the support group's administrators")
    support_hours: str | None = Field(
        default=None, pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$",
        description="e.g. 09:00-21:00 China time; outside them merchants are told when to expect a reply")
    support_remind_after: float = Field(
        default=REMIND_AFTER_MINUTES, ge=0,
        description="minutes a case may wait for staff before the support group is reminded of it (once per case); "
                    "0: never remind")
    support_staff_aliases: Annotated[dict[int, str], NoDecode] = Field(
        default_factory=dict, description="how merchants see each staff member, e.g. 8101:小王,8102:小李 "
                                          "(unset: their Telegram first name)")
    webhook_secret: SecretStr | None = Field(
        default=None, description="the secret Telegram sends with every update; required with several workers, "
                                  "random per start if unset")
    webhook_max_connections: int = Field(
        default=40, ge=1, le=100, description="updates Telegram sends at once (from different chats; one chat's "
                                              "updates always come one after another)")
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8080
    request_timeout: float = Field(default=30.0, gt=0,
                                   description="seconds before a request to Telegram times out (then retried)")
    max_concurrent_updates: int = Field(
        default=64, ge=1, description="updates handled at once; a backlog waits instead of piling up in memory")
    throttle_rate: float = Field(default=1.0, gt=0, description="messages per second one merchant may send, sustained")
    throttle_burst: int = Field(default=8, ge=1,
                                description="messages one merchant may send at once before throttling")

    @field_validator("admin_ids", "support_staff_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(";", ",").split(",") if part.strip())
        return value

    @field_validator("support_staff_aliases", mode="before")
    @classmethod
    def _split_aliases(cls, value: object) -> object:
        if isinstance(value, str):
            aliases = {}
            for part in value.replace("；", ",").replace(";", ",").replace("，", ",").split(","):
                user, colon, alias = part.replace("：", ":").partition(":")
                if not part.strip():
                    continue
                if not colon or not user.strip().isdigit() or not alias.strip():
                    raise ValueError("write user id:name pairs, e.g. 8101:小王,8102:小李")
                aliases[int(user)] = alias.strip()
            return aliases
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        number, _, secret = token.partition(":")
        if not number.isdigit() or len(secret) < 10:
            raise ValueError("does not look like a bot token (123456:ABC...) — get one from @BotFather")
        return value

    def secrets(self) -> list[str]:
        """The token and the webhook secret, besides the stores' URLs."""
        return super().secrets() + [secret.get_secret_value() for secret in (self.bot_token, self.webhook_secret)
                                    if secret is not None]


def load_settings(**overrides: object) -> Settings:
    """Settings, or a ConfigError naming the first bad variable in one line (never its value)."""
    return load(Settings, **overrides)
