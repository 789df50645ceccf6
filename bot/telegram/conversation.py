"""Glue between a Telegram update and the core dialog: load state, run, record, send."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.chat_action import ChatActionSender

from bot.core.dialog import DialogState, Turn
from bot.core.reply import Reply
from bot.storage.outcomes import OutcomeLog
from bot.telegram.render import render

log = logging.getLogger(__name__)

STATE_KEY = "dialog"
TYPING_AFTER = 0.4
"""Seconds of work before "typing…" is shown; most answers take about a millisecond."""
EDITED_IN_PLACE = frozenset({"step", "feedback", "info", "answer", "human", "welcome", "fallback", "clarify"})
"""Replies to a tapped button replace that message (flows run as edited messages); scripts and
expired-menu notices arrive as new messages so they stay visible."""


def chat_of(callback: CallbackQuery) -> int:
    """The chat a tapped button lives in (the user's own chat if the message is no longer known)."""
    return callback.message.chat.id if callback.message else callback.from_user.id


async def load_state(state: FSMContext) -> DialogState:
    return DialogState.from_dict((await state.get_data()).get(STATE_KEY))


async def save_turn(state: FSMContext, turn: Turn, outcomes: OutcomeLog, user_id: int) -> None:
    await state.update_data({STATE_KEY: turn.state.to_dict()})
    for event in turn.events:
        await outcomes.record(str(user_id), event)


async def think(bot: Bot, chat_id: int, work, *args):
    """Run core work off the event loop, with "typing…" if it takes a while."""
    async with ChatActionSender.typing(bot=bot, chat_id=chat_id, initial_sleep=TYPING_AFTER):
        return await asyncio.to_thread(work, *args)


async def send(bot: Bot, chat_id: int, reply: Reply, *, thread_id: int | None = None) -> None:
    rendered = render(reply)
    last = len(rendered.chunks) - 1
    for index, chunk in enumerate(rendered.chunks):
        await bot.send_message(chat_id, chunk, message_thread_id=thread_id,
                               reply_markup=rendered.keyboard if index == last else None)


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
