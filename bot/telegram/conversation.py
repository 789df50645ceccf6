"""Sending posbot's replies and HTML through the one splitter (turns themselves: bot.turn, carried
out by bot.telegram.front)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.core.reply import Reply
from bot.telegram.render import render, split
from bot.turn.service import EDITED_IN_PLACE

log = logging.getLogger(__name__)

TYPING_AFTER = 0.4
"""Seconds of work before "typing…" is shown; most answers take about a millisecond."""
# the replies `show` may put in place of a tapped message: the same kinds as the turn service's
# (merchants' turns are placed by bot.turn; `show` serves admin screens such as /review)


def chat_of(callback: CallbackQuery) -> int:
    """The chat a tapped button lives in (the user's own chat if the message is no longer known)."""
    return callback.message.chat.id if callback.message else callback.from_user.id


async def send(bot: Bot, chat_id: int, reply: Reply, *, thread_id: int | None = None) -> None:
    rendered = render(reply)
    await send_chunks(bot, chat_id, rendered.chunks, keyboard=rendered.keyboard, message_thread_id=thread_id)


async def send_html(bot: Bot, chat_id: int, html: str, *, keyboard: InlineKeyboardMarkup | None = None,
                    **where: Any) -> Message:
    """Telegram HTML built outside a Reply (context cards, /tickets, staff notices), through the
    same splitter as every reply; `where` (message_thread_id, reply_parameters) as for sendMessage.
    Returns the first message sent."""
    return await send_chunks(bot, chat_id, split(html), keyboard=keyboard, **where)


async def send_chunks(bot: Bot, chat_id: int, chunks: Sequence[str], *, keyboard: InlineKeyboardMarkup | None = None,
                      **where: Any) -> Message:
    """The chunks in order: the keyboard on the last one (its buttons answer the whole text), a
    reply only from the first."""
    reply_parameters = where.pop("reply_parameters", None)
    first: Message | None = None
    for index, chunk in enumerate(chunks):
        message = await bot.send_message(chat_id, chunk, reply_markup=keyboard if index == len(chunks) - 1 else None,
                                         reply_parameters=reply_parameters if first is None else None, **where)
        first = first or message
    assert first is not None, "split() returns at least one chunk"
    return first


async def show(bot: Bot, message: Message | None, chat_id: int, reply: Reply) -> None:
    """Edit the message whose button was tapped, or send anew when editing is not possible."""
    rendered = render(reply)
    if message is not None and reply.kind in EDITED_IN_PLACE and len(rendered.chunks) == 1:
        try:
            await bot.edit_message_text(text=rendered.chunks[0], chat_id=chat_id, message_id=message.message_id,
                                        reply_markup=rendered.keyboard)
            return
        except TelegramBadRequest as error:  # too old, deleted, not modified, not text …
            log.info("could not edit message %s: %s; sending a new one", message.message_id, error.message)
    await send(bot, chat_id, reply, thread_id=getattr(message, "message_thread_id", None))
