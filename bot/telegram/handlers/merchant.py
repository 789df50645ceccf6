"""Merchants: private chats, and group chats where the bot is mentioned, replied to or commanded."""

from __future__ import annotations

import re
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import BaseFilter, Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.core.dialog import DialogState, Turn
from bot.handoff.rules import is_noise, offers_handoff, understood, wants_human
from bot.core.reply import Reply
from bot.storage.outcomes import OutcomeLog
from bot.storage.questions import QuestionLog, in_flow, record_action, record_turn
from bot.storage.recipients import BlockedChats
from bot.telegram.conversation import chat_of, load_state, save_turn, send, show, think
from bot.core.holder import DialogHolder
from bot.telegram.handlers import case
from bot.telegram.handoff import Handoff

HELP = Reply(kind="info", title="怎么问我", text=(
    "· 直接发屏幕上的两位应答码：51、A0、“显示03”都行\n"
    "· 或者说说看到了什么：“签到失败”“扣钱了没出小票”“打印出来是白纸”\n"
    "· 回答后可以点“一步步排查”，跟着按钮一步一步做；点“对顾客怎么说”看给顾客的话术\n"
    "· 在群里要 @我 或回复我的消息，我才会回答\n"
    "· /start 常见问题  /cancel 退出当前排查"))
UNSUPPORTED = Reply(kind="info", title="", text=(
    "这个我看不了。请把屏幕上的两位应答码或提示文字打出来发给我，比如“显示51”“签到失败”。"))
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


async def on_start(message: Message, bot: Bot, state: FSMContext, dialogs: DialogHolder,
                   blocked: BlockedChats) -> None:
    """Greets the merchant and offers the most common problems; leaves any flow."""
    await blocked.clear(message.chat.id)
    await state.update_data({"dialog": DialogState().to_dict(), case.PENDING: None})
    await send(bot, message.chat.id, dialogs.dialog.welcome(), thread_id=message.message_thread_id)


async def on_help(message: Message, bot: Bot, ocr: object | None = None) -> None:
    """Explains how to ask (photos too, when this deployment reads them)."""
    reply = HELP
    if ocr is not None:
        first, _, rest = HELP.text.partition("\n")
        reply = Reply(kind=HELP.kind, title=HELP.title, text=f"{first}\n{PHOTO_TIP}{rest}")
    await send(bot, message.chat.id, reply, thread_id=message.message_thread_id)


async def on_cancel(message: Message, bot: Bot, state: FSMContext, dialogs: DialogHolder) -> None:
    """Leaves the current flow and shows the menu."""
    current = await load_state(state)
    await state.update_data(dialog=DialogState(version=current.version).to_dict())
    reply = dialogs.dialog.welcome()
    await send(bot, message.chat.id, Reply(kind="info", title="已退出当前排查", text="有新问题直接发给我。",
                                           options=reply.options), thread_id=message.message_thread_id)


async def on_question(message: Message, bot: Bot, state: FSMContext, question: str, dialogs: DialogHolder,
                      outcomes: OutcomeLog, blocked: BlockedChats, questions: QuestionLog,
                      handoff: Handoff | None = None) -> None:
    """A typed question (or an edited one): answer, ask which one, or admit not knowing; with a
    support group, a request for a human (or two misunderstandings in a row) offers the handoff."""
    await blocked.clear(message.chat.id)
    private = message.chat.type == ChatType.PRIVATE
    pending = handoff is not None and private and bool((await state.get_data()).get(case.PENDING))
    if handoff is not None and private and not pending and wants_human(question):
        await case.offer(bot, message.chat.id, state, "words")
        return
    if handoff is not None and not private and wants_human(question):
        await case.ask_privately(bot, message.chat.id, thread_id=message.message_thread_id)
        return
    dialog = dialogs.dialog
    before = await load_state(state)
    turn = await think(bot, message.chat.id, dialog.on_text, question, before)
    if pending and handoff is not None and message.from_user is not None and not (understood(turn)
                                                                                  or is_noise(question)):
        # the offer asked for one line of detail: this is it (a clear question is answered instead,
        # below, and so is a blank or emoji-only message; the offer stays open)
        await case.open_case(bot, message.from_user, message.chat.id, state, handoff, dialogs, detail=question)
        return
    user_id = message.from_user.id if message.from_user else message.chat.id
    await save_turn(state, turn, outcomes, user_id)
    await record_turn(questions, str(user_id), question, turn.understanding, flow=in_flow(before))
    if handoff is not None and private and not pending and offers_handoff(turn):
        await case.offer(bot, message.chat.id, state, "fallbacks", opening="抱歉，我还是没看懂。")
        return
    await send(bot, message.chat.id, turn.reply, thread_id=message.message_thread_id)


async def on_choice(callback: CallbackQuery, bot: Bot, state: FSMContext, dialogs: DialogHolder,
                    outcomes: OutcomeLog, questions: QuestionLog, handoff: Handoff | None = None) -> None:
    """A tapped button: the next step, an answer or a script. Stale buttons raise StaleChoice,
    which the errors handler turns into a fresh menu. 转人工, a flow ending in escalate and
    "not helped" offer the handoff when a support group is set."""
    turn = dialogs.dialog.on_action(callback.data or "", await load_state(state))
    await callback.answer()
    await state.update_data({case.PENDING: None})
    await save_turn(state, turn, outcomes, callback.from_user.id)
    await record_action(questions, str(callback.from_user.id), callback.data or "")
    chat_id = chat_of(callback)
    message = callback.message if isinstance(callback.message, Message) else None
    trigger = _handoff_trigger(turn)
    if handoff is not None and trigger is not None and callback.message is not None:
        if callback.message.chat.type == ChatType.PRIVATE:
            await case.offer(bot, chat_id, state, trigger, edit=message)
        else:
            await case.ask_privately(bot, chat_id, thread_id=getattr(message, "message_thread_id", None))
        return
    await show(bot, message, chat_id, turn.reply)


def _handoff_trigger(turn: Turn) -> str | None:
    if any(e.kind == "ended" and e.end == "escalate" for e in turn.events):
        return "escalate"
    if any(e.kind == "feedback" and e.helped is False for e in turn.events):
        return "not_helped"
    if turn.reply.kind == "human":
        return "button"
    return None


async def on_unsupported(message: Message, bot: Bot, state: FSMContext, handoff: Handoff | None = None) -> None:
    """Photos, voice, stickers, documents, locations …: say what works instead of staying silent;
    with a support group, a photo or voice note can go to a human along with the case."""
    if handoff is not None and message.chat.type == ChatType.PRIVATE and any(
            getattr(message, kind, None) for kind in case.HANDED_OVER_MEDIA):
        await case.offer(bot, message.chat.id, state, "media", media=message,
                         opening="这个我看不了，可以转给人工客服看。")
        return
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
