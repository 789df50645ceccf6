"""Merchants with a case open with human support: photos, files and the like go to the support
topic (typed text goes through the turn service, which decides whether posbot answers too); /human;
the group's "ask privately" note; and the rating after a case closes."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import BaseFilter, Command, CommandStart, or_f
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.core.holder import DialogHolder
from bot.telegram.handoff import RATE, Handoff
from bot.turn.inputs import Human
from bot.turn.service import TurnService

log = logging.getLogger(__name__)


class InCase(BaseFilter):
    """Private chats of merchants whose ticket is not closed; passes it as `ticket`."""

    async def __call__(self, message: Message, handoff: Handoff | None = None) -> bool | dict[str, Any]:
        if handoff is None or message.chat.type != ChatType.PRIVATE or message.from_user is None:
            return False
        ticket = await handoff.store.open_for(message.from_user.id)
        return {"ticket": ticket} if ticket is not None else False


async def on_case_message(message: Message, bot: Bot, handoff: Handoff, ticket, dialogs: DialogHolder) -> None:
    """Relays the merchant's photo, file, voice note … (or /help) to their ticket's topic; the bot
    itself says nothing. Typed text in a case goes through the turn service (bot.turn)."""
    await handoff.relay_to_support(bot, ticket, message, dialogs.dialog.content)


async def on_case_edit(message: Message, bot: Bot, handoff: Handoff) -> None:
    """An edited message: edit its copy in the topic too (text only, with its label)."""
    await handoff.edit_relayed(bot, message)


async def on_human_command(message: Message, bot: Bot, state: FSMContext, turns: TurnService,
                           dialogs: DialogHolder, handoff: Handoff | None = None) -> None:
    """/human, or /start human (the link a group's "请私聊我转人工" points to): offer the handoff
    (or say how to reach support when no support group is set); in a group, point to the private
    chat, where the case is opened."""
    from bot.telegram.handlers.merchant import take_turn  # merchant imports this module

    await take_turn(Human(), message, bot, state, turns, dialogs, handoff)


async def ask_privately(bot: Bot, chat_id: int, *, thread_id: int | None = None) -> None:
    """In a group: a case is opened only in the merchant's private chat with the bot (staff's
    replies must reach the merchant alone, never a group), so say so, with a link that opens it."""
    me = await bot.me()
    link = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="私聊转人工", url=f"https://t.me/{me.username}?start={HUMAN_LINK}")]])
    await bot.send_message(chat_id, ASK_PRIVATELY, message_thread_id=thread_id, reply_markup=link)


async def on_rating(callback: CallbackQuery, bot: Bot, handoff: Handoff | None) -> None:
    """👍/👎 after a closed case: recorded, and shown to staff. Anything but rate:TICKET:0|1 (a forged
    or truncated payload) is an expired button, not an error."""
    parts = (callback.data or "").split(":")
    ticket_id, value = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
    if handoff is None or not ticket_id.isdigit() or value not in ("0", "1"):
        await callback.answer("这个按钮已过期")
        return
    ticket = await handoff.store.get(int(ticket_id))
    if ticket is None or ticket.merchant.user_id != callback.from_user.id:
        await callback.answer("这个按钮已过期")
        return
    ticket = await handoff.store.rate(ticket.id, int(value))
    await callback.answer("谢谢你的评价！")
    if callback.message is not None:
        try:
            await bot.edit_message_text(text="谢谢你的评价！有新问题随时发给我。", chat_id=callback.message.chat.id,
                                        message_id=callback.message.message_id)
        except TelegramAPIError:
            pass
    await handoff.notice(bot, ticket, f"商户评价：{'👍 满意' if value == '1' else '👎 不满意'}")


HUMAN_LINK = "human"
"""The /start payload of the link to the private chat (t.me/<bot>?start=human)."""
ASK_PRIVATELY = "请私聊我转人工：点下面的按钮打开和我的私聊，客服会在私聊里回复你。"



def create_router() -> Router:
    """Comes before the merchant router: a merchant in a case talks to people, not to the bot."""
    router = Router(name="case")
    # plain text is left to the turn service, which knows about the case from the chat's state
    # (the filter order spares it the ticket lookup)
    router.message.register(on_case_message, or_f(~F.text, Command("help")), InCase())
    router.edited_message.register(on_case_edit, InCase())
    router.message.register(on_human_command, Command("human"))
    router.message.register(on_human_command, CommandStart(deep_link=True, magic=F.args == HUMAN_LINK),
                            F.chat.type == ChatType.PRIVATE)
    router.callback_query.register(on_rating, F.data.startswith(RATE + ":"))
    return router
