"""Merchants: private chats, and group chats where the bot is mentioned, replied to or commanded."""

from __future__ import annotations

import re
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import BaseFilter, Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.core.actions import OpenNow, encode
from bot.core.cards import mask_card_numbers
from bot.core.holder import DialogHolder
from bot.core.reply import Reply
from bot.storage.recipients import BlockedChats
from bot.telegram.conversation import send
from bot.telegram.front import FsmStore, TelegramFront
from bot.telegram.handlers import case
from bot.telegram.handoff import Handoff
from bot.turn.inputs import Cancel, Input, Start, Sticker, Tap, Text, Unreadable, Where
from bot.turn.service import HANDED_OVER_MEDIA, Outcome, TurnService

HELP = Reply(kind="info", title="怎么问我", text=(
    "· 直接发屏幕上的两位应答码：51、A0、“显示03”都行\n"
    "· 或者说说看到了什么：“签到失败”“扣钱了没出小票”“打印出来是白纸”\n"
    "· 回答后可以点“一步步排查”，跟着按钮一步一步做；点“对顾客怎么说”看给顾客的话术\n"
    "· 在群里要 @我 或回复我的消息，我才会回答\n"
    "· /start 常见问题  /cancel 退出当前排查"))
PHOTO_TIP = "· 懒得打字？直接拍终端屏幕或小票的照片发给我\n"


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


def turn_of(update: Message | CallbackQuery, bot: Bot, dialogs: DialogHolder, handoff: Handoff | None) -> TelegramFront:
    """The front end for one update: where to answer, and the merchant's message it is about."""
    message = update if isinstance(update, Message) else update.message if isinstance(update.message, Message) else None
    chat_id = message.chat.id if message is not None else update.from_user.id  # type: ignore[union-attr]
    return TelegramFront(bot, chat_id, dialogs=dialogs, message=message, user=update.from_user,
                         thread_id=message.message_thread_id if message is not None else None, handoff=handoff,
                         callback=update if isinstance(update, CallbackQuery) else None)


def where_of(message: Message | None, user_id: int, chat_id: int) -> Where:
    private = message is None or message.chat.type == ChatType.PRIVATE
    return Where(chat=chat_id, user=user_id, private=private, message=message.message_id if message else None)


async def take_turn(event: Input, update: Message | CallbackQuery, bot: Bot, state: FSMContext,
                    turns: TurnService, dialogs: DialogHolder, handoff: Handoff | None) -> Outcome:
    """Build the input, call the turn service, carry out its effects (the front end does, inside)."""
    front = turn_of(update, bot, dialogs, handoff)
    user_id = update.from_user.id if update.from_user is not None else front.chat_id
    return await turns.handle(event, where_of(front.message, user_id, front.chat_id), front, FsmStore(state))


async def on_start(message: Message, bot: Bot, state: FSMContext, turns: TurnService, dialogs: DialogHolder,
                   blocked: BlockedChats, handoff: Handoff | None = None) -> None:
    """Greets the merchant and offers the most common problems; leaves any flow."""
    await blocked.clear(message.chat.id)
    await take_turn(Start(), message, bot, state, turns, dialogs, handoff)


async def on_help(message: Message, bot: Bot, ocr: object | None = None) -> None:
    """Explains how to ask (photos too, when this deployment reads them)."""
    reply = HELP
    if ocr is not None:
        first, _, rest = HELP.text.partition("\n")
        reply = Reply(kind=HELP.kind, title=HELP.title, text=f"{first}\n{PHOTO_TIP}{rest}")
    await send(bot, message.chat.id, reply, thread_id=message.message_thread_id)


async def on_cancel(message: Message, bot: Bot, state: FSMContext, turns: TurnService, dialogs: DialogHolder,
                    handoff: Handoff | None = None) -> None:
    """Leaves the current flow and shows the menu."""
    await take_turn(Cancel(), message, bot, state, turns, dialogs, handoff)


async def on_question(message: Message, bot: Bot, state: FSMContext, question: str, turns: TurnService,
                      dialogs: DialogHolder, blocked: BlockedChats, handoff: Handoff | None = None) -> None:
    """A typed question (or an edited one): answered, clarified or admitted not known; the turn
    service decides when a human is offered and what a merchant in a case hears."""
    await blocked.clear(message.chat.id)
    event = Text(question, edited=message.edit_date is not None)
    await take_turn(event, message, bot, state, turns, dialogs, handoff)


async def on_choice(callback: CallbackQuery, bot: Bot, state: FSMContext, turns: TurnService,
                    dialogs: DialogHolder, handoff: Handoff | None = None) -> None:
    """A tapped button: the next step, an answer or a script; a stale one gets a fresh menu."""
    private = not isinstance(callback.message, Message) or callback.message.chat.type == ChatType.PRIVATE
    if callback.data == encode(OpenNow()) and not private:
        await callback.answer(case.ASK_PRIVATELY, show_alert=True)
        return
    await take_turn(Tap(callback.data or ""), callback, bot, state, turns, dialogs, handoff)


async def on_unsupported(message: Message, bot: Bot, state: FSMContext, turns: TurnService,
                         dialogs: DialogHolder, handoff: Handoff | None = None) -> None:
    """Voice, stickers, documents, locations …: say what works instead of staying silent; with a
    support group, a photo or voice note can go to a human along with the case."""
    if message.sticker is not None:
        event: Input = Sticker()
    else:
        kind = next((k for k in HANDED_OVER_MEDIA if getattr(message, k, None)), "media")
        event = Unreadable(kind, media=attachment(message))
    await take_turn(event, message, bot, state, turns, dialogs, handoff)


def attachment(message: Message) -> tuple[int, int, str, str]:
    """What the handoff needs of a photo or file that goes along with it: where it is, its kind, and
    its caption masked (the conversation state is stored; a caption may hold a card number)."""
    kind = next((k for k in HANDED_OVER_MEDIA if getattr(message, k, None)), "media")
    return (message.chat.id, message.message_id, kind, mask_card_numbers(message.caption or ""))


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
