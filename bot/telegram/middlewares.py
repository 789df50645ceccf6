"""Cross-cutting behaviour: per-merchant throttling (updates) and retries (requests to Telegram)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (TelegramBadRequest, TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter,
                                TelegramServerError)
from aiogram.methods import AnswerCallbackQuery, GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.storage.actions import ActionLog
from bot.storage.bans import Bans
from bot.storage.db import StoreUnavailable
from bot.storage.recipients import BlockedChats
from bot.coordination import Shared

log = logging.getLogger(__name__)

THROTTLED_TEXT = "消息有点多，我一条一条来。请稍等几秒再发。"


class Throttling(BaseMiddleware):
    """A token bucket per merchant: `burst` messages at once, then `rate` per second, counted in the
    shared state (bot.coordination) so several workers throttle as one.

    Throttled updates are dropped (the merchant is told once per episode), so one merchant pasting
    fifty messages cannot starve everyone else.
    """

    def __init__(self, *, shared: Shared, rate: float, burst: int, exempt_chats: frozenset[int] = frozenset()) -> None:
        self.shared = shared
        self.rate = rate
        self.burst = burst
        self.exempt_chats = exempt_chats
        """Chats never throttled: the support group, where staff paste whatever a case needs."""

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        user = getattr(event, "from_user", None)
        chat = getattr(event, "chat", None) or getattr(getattr(event, "message", None), "chat", None)
        if user is None or (chat is not None and chat.id in self.exempt_chats):
            return await handler(event, data)
        allowed, first_refusal = await self.shared.allow(f"user:{user.id}", rate=self.rate, burst=self.burst)
        if allowed:
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            await event.answer(THROTTLED_TEXT)
        elif isinstance(event, Message) and first_refusal:
            await event.answer(THROTTLED_TEXT)
        return None


class MerchantGate(BaseMiddleware):
    """Before any merchant handler: a merchant staff banned (/ban) is told once and then not heard
    at all (nothing relayed, nothing answered); and every button a merchant taps is logged, so a
    case's context card can list them. Private chats only: the support group and groups the bot
    answers in are not gated, and admins are never banned from their own bot."""

    def __init__(self, *, bans: Bans, actions: ActionLog, notice: str, exempt_users: frozenset[int] = frozenset()
                 ) -> None:
        self.bans = bans
        self.actions = actions
        self.notice = notice
        self.exempt_users = exempt_users

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        user = getattr(event, "from_user", None)
        message = event.message if isinstance(event, CallbackQuery) else event
        chat = getattr(message, "chat", None)
        private = chat is None or chat.type == "private"
        if user is None or not private or user.id in self.exempt_users:
            return await handler(event, data)
        if await self.bans.is_banned(user.id):
            if isinstance(event, CallbackQuery):
                await event.answer()
            if await self.bans.first_notice(user.id):
                await data["bot"].send_message(user.id, self.notice, parse_mode=None)
            return None
        if isinstance(event, CallbackQuery) and event.data:
            await self.actions.record(user.id, event.data)
        return await handler(event, data)


class QuietCallbackAnswers(BaseRequestMiddleware):
    """answerCallbackQuery only stops a button's spinner or shows a toast. Telegram refuses it for a
    query older than about 15 s (a tap handled after an outage, sent again, or after a restart): the
    refusal is logged, and the tap itself is still handled instead of failing with it."""

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as error:
            if not isinstance(method, AnswerCallbackQuery):
                raise
            log.info("could not answer callback query %s: %s", method.callback_query_id, error.message)
            return True


class RetryRequests(BaseRequestMiddleware):
    """Honour 429 retry_after, retry 5xx and network errors/timeouts with backoff, and record
    merchants who blocked the bot (403) instead of retrying them."""

    def __init__(self, *, blocked: BlockedChats | None = None, attempts: int = 5, max_retry_after: float = 60.0,
                 backoff: float = 0.5, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.blocked = blocked
        self.attempts = attempts
        self.max_retry_after = max_retry_after
        self.backoff = backoff
        self.sleep = sleep

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        polling = isinstance(method, GetUpdates)  # not narrowed: `method` keeps its generic type
        if polling:  # the polling loop has its own backoff
            return await make_request(bot, method)
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self.attempts or error.retry_after > self.max_retry_after:
                    raise
                log.warning("429 on %s: waiting %ss as Telegram asks", type(method).__name__, error.retry_after)
                await self.sleep(error.retry_after)
            except (TelegramServerError, TelegramNetworkError) as error:
                if attempt == self.attempts:
                    raise
                log.warning("%s on %s, retry %d in %.1fs", type(error).__name__, type(method).__name__,
                            attempt, delay)
                await self.sleep(delay)
                delay = min(delay * 2, 8.0)
            except TelegramForbiddenError:
                chat_id = getattr(method, "chat_id", None)
                if self.blocked is not None and isinstance(chat_id, int):
                    try:
                        await self.blocked.mark(chat_id, "forbidden")
                        log.info("chat %s blocked the bot; recorded, not retried", chat_id)
                    except StoreUnavailable as error:  # best effort: the 403 itself is what matters
                        log.warning("chat %s blocked the bot; not recorded: %s", chat_id, error)
                raise
        raise AssertionError("unreachable")
