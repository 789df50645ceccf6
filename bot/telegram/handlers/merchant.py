"""Merchants: private chats, and group chats where the bot is mentioned, replied to or commanded."""

from __future__ import annotations

import re
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import BaseFilter, Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.core.dialog import DialogState
from bot.core.reply import Reply
from bot.storage.outcomes import OutcomeLog
from bot.storage.recipients import BlockedChats
from bot.telegram.conversation import load_state, save_turn, send, show, think
from bot.telegram.deps import DialogHolder

HELP = Reply(kind="info", title="怎么问我", text=(
    "· 直接发屏幕上的两位应答码：51、A0、“显示03”都行\n"
    "· 或者说说看到了什么：“签到失败”“扣钱了没出小票”“打印出来是白纸”\n"
    "· 回答后可以点“一步步排查”，跟着按钮一步一步做；点“对顾客怎么说”看给顾客的话术\n"
    "· 在群里要 @我 或回复我的消息，我才会回答\n"
    "· /start 常见问题  /cancel 退出当前排查"))
UNSUPPORTED = Reply(kind="info", title="", text=(
    "我现在只能看懂文字。请把屏幕上的两位应答码或提示文字打出来发给我，比如“显示51”“签到失败”。"))


class Addressed(BaseFilter):
    """Private chats: everything. Groups: only commands, mentions of the bot and replies to it.
    Passes the text without the @mention to the handler as `question`."""

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, Any]:
        text = message.text or message.caption or ""
        if message.chat.type == ChatType.PRIVATE:
            return {"question": text}
        me = await bot.me()
        mention = f"@{me.username}" if me.username else None
        replied_to_me = (message.reply_to_message is not None and message.reply_to_message.from_user is not None
                         and message.reply_to_message.from_user.id == me.id)
        if text.startswith("/") or replied_to_me or (mention and mention.lower() in text.lower()):
            question = re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE) if mention else text
            return {"question": question.strip()}
        return False


async def on_start(message: Message, bot: Bot, state: FSMContext, dialogs: DialogHolder,
                   blocked: BlockedChats) -> None:
    """Greets the merchant and offers the most common problems; leaves any flow."""
    blocked.clear(message.chat.id)
    await state.update_data(dialog=DialogState().to_dict())
    await send(bot, message.chat.id, dialogs.dialog.welcome(), thread_id=message.message_thread_id)


async def on_help(message: Message, bot: Bot) -> None:
    """Explains how to ask."""
    await send(bot, message.chat.id, HELP, thread_id=message.message_thread_id)


async def on_cancel(message: Message, bot: Bot, state: FSMContext, dialogs: DialogHolder) -> None:
    """Leaves the current flow and shows the menu."""
    current = await load_state(state)
    await state.update_data(dialog=DialogState(version=current.version).to_dict())
    reply = dialogs.dialog.welcome()
    await send(bot, message.chat.id, Reply(kind="info", title="已退出当前排查", text="有新问题直接发给我。",
                                           options=reply.options), thread_id=message.message_thread_id)


async def on_question(message: Message, bot: Bot, state: FSMContext, question: str, dialogs: DialogHolder,
                      outcomes: OutcomeLog, blocked: BlockedChats) -> None:
    """A typed question (or an edited one): answer, ask which one, or admit not knowing."""
    blocked.clear(message.chat.id)
    dialog = dialogs.dialog
    turn = await think(bot, message.chat.id, dialog.on_text, question, await load_state(state))
    await save_turn(state, turn, outcomes, message.from_user.id if message.from_user else message.chat.id)
    await send(bot, message.chat.id, turn.reply, thread_id=message.message_thread_id)


async def on_choice(callback: CallbackQuery, bot: Bot, state: FSMContext, dialogs: DialogHolder,
                    outcomes: OutcomeLog) -> None:
    """A tapped button: the next step, an answer or a script. Stale buttons raise StaleChoice,
    which the errors handler turns into a fresh menu."""
    turn = dialogs.dialog.on_action(callback.data or "", await load_state(state))
    await callback.answer()
    await save_turn(state, turn, outcomes, callback.from_user.id)
    chat_id = callback.message.chat.id if callback.message else callback.from_user.id
    message = callback.message if isinstance(callback.message, Message) else None
    await show(bot, message, chat_id, turn.reply)


async def on_unsupported(message: Message, bot: Bot) -> None:
    """Photos, voice, stickers, documents, locations …: say what works instead of staying silent."""
    await send(bot, message.chat.id, UNSUPPORTED, thread_id=message.message_thread_id)


def create_router() -> Router:
    """A fresh router (aiogram attaches a router to one dispatcher only; tests build several)."""
    router = Router(name="merchant")
    router.message.filter(Addressed())
    router.edited_message.filter(Addressed())
    router.message.register(on_start, CommandStart())
    router.message.register(on_help, Command("help"))
    router.message.register(on_cancel, Command("cancel"))
    router.message.register(on_question, F.text)
    router.edited_message.register(on_question, F.text)
    router.callback_query.register(on_choice, F.data)
    router.message.register(on_unsupported)
    return router
