"""The one place that decides what a merchant sees when something goes wrong."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import CallbackQuery, ErrorEvent

from bot.core.dialog import StaleChoice
from bot.core.reply import Reply
from bot.coordination import Shared, is_unavailable
from bot.telegram.conversation import chat_of, send
from bot.core.holder import DialogHolder

log = logging.getLogger(__name__)
SORRY = Reply(kind="info", title="", text="抱歉，我这边出了点问题，请稍后再试一次。着急的话可以联系你的收单机构客服。")
BUSY = Reply(kind="info", title="", text="系统有点忙，刚才这条没处理上，请过半分钟再发一次。")
BUSY_RETRYING = Reply(kind="info", title="", text="系统有点忙，你刚才发的这条我记下了，恢复后马上处理，不用重发。")


async def on_stale_button(event: ErrorEvent, callback: CallbackQuery, bot: Bot, dialogs: DialogHolder) -> None:
    """A double-tapped or outdated button: say so politely and offer a fresh menu."""
    log.info("stale button %r from %s", callback.data, callback.from_user.id)
    await callback.answer("这个菜单已过期")
    chat_id = chat_of(callback)
    await send(bot, chat_id, dialogs.dialog.expired())


async def on_blocked(event: ErrorEvent) -> None:
    """The merchant blocked the bot: already recorded by the request middleware; nothing to say."""
    log.info("update %s: chat blocked the bot", event.update.update_id)


async def on_unexpected(event: ErrorEvent, bot: Bot, redeliver: "Redelivery | None" = None) -> None:
    """Anything else: log it with the update id, and tell the merchant instead of going silent.

    PostgreSQL or Redis away for a moment is an outage, not a bug: "busy" and a one-line log. Behind
    a webhook the update is then refused (re-raised, answered 503), so Telegram sends it again and
    it is handled once the store is back: a staff reply or a merchant's message is not lost.
    """
    busy = is_unavailable(event.exception)
    if busy:
        log.warning("update %s not handled, a store is unavailable: %s", event.update.update_id, event.exception)
    else:
        log.error("update %s failed", event.update.update_id, exc_info=event.exception)
    if event.update.callback_query is not None:
        try:  # stop the button's spinner whatever happened
            await event.update.callback_query.answer()
        except TelegramAPIError:
            pass
    chat, thread = None, None
    if event.update.message is not None:
        chat, thread = event.update.message.chat.id, event.update.message.message_thread_id
    elif event.update.callback_query is not None and event.update.callback_query.message is not None:
        chat = event.update.callback_query.message.chat.id
    told = redeliver is not None and busy and not await redeliver.first_time(event.update.update_id)
    if chat is not None and not told and not isinstance(event.exception, TelegramAPIError):
        try:
            await send(bot, chat, (BUSY_RETRYING if redeliver is not None else BUSY) if busy else SORRY,
                       thread_id=thread)
        except TelegramAPIError:
            log.warning("could not tell chat %s about the failure", chat)
    if busy and redeliver is not None:
        raise event.exception


class Redelivery:
    """Webhook mode: updates refused during an outage come back; each chat hears "busy" once per
    update, whichever worker it comes back to (while Redis is up; otherwise once per worker)."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    async def first_time(self, update_id: int) -> bool:
        return await self.shared.first_time(f"busy:{update_id}")


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_stale_button, ExceptionTypeFilter(StaleChoice), F.update.callback_query.as_("callback"))
    router.errors.register(on_blocked, ExceptionTypeFilter(TelegramForbiddenError))
    router.errors.register(on_unexpected)
    return router
