"""Merchants with a case open with human support: what they send goes to the support topic, and the
bot stays quiet. Also: offering the handoff, opening the case, and the rating after it closes."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import BaseFilter, Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.core.dialog import MENU, DialogState
from bot.core.reply import Option, Reply
from bot.core.cards import mask_card_numbers
from bot.handoff.models import CaseContext, Merchant
from bot.telegram.conversation import STATE_KEY, chat_of, send, show
from bot.core.holder import DialogHolder
from bot.telegram.handoff import RATE, Handoff, display_name

log = logging.getLogger(__name__)

PENDING = "handoff"
"""FSM data key: a handoff offered and waiting for the merchant's optional detail line."""
OPEN_NOW = "ho"
HANDED_OVER_MEDIA = ("photo", "voice", "video", "video_note", "document", "audio")


class InCase(BaseFilter):
    """Private chats of merchants whose ticket is not closed; passes it as `ticket`."""

    async def __call__(self, message: Message, handoff: Handoff | None = None) -> bool | dict[str, Any]:
        if handoff is None or message.chat.type != ChatType.PRIVATE or message.from_user is None:
            return False
        ticket = await handoff.store.open_for(message.from_user.id)
        return {"ticket": ticket} if ticket is not None else False


async def on_case_message(message: Message, bot: Bot, handoff: Handoff, ticket, dialogs: DialogHolder) -> None:
    """Relays the merchant's message to their ticket's topic; the bot itself says nothing."""
    await handoff.relay_to_support(bot, ticket, message, dialogs.dialog.content)


async def on_case_edit(message: Message, bot: Bot, handoff: Handoff) -> None:
    """An edited message: edit its copy in the topic too (text only, with its label)."""
    await handoff.edit_relayed(bot, message)


async def offer(bot: Bot, chat_id: int, state: FSMContext, trigger: str, *, media: Message | None = None,
                edit: Message | None = None, opening: str = "") -> None:
    """Offer the handoff; the merchant may add one line of detail, nothing is required."""
    await state.update_data({PENDING: {"trigger": trigger, "media": _attachment(media) if media else None}})
    text = (opening + "\n" if opening else "") + (
        "转人工客服：可以先补充一句情况（比如终端号、交易时间、金额），直接发给我；不想补充就点“直接转人工”。")
    reply = Reply(kind="info", title="转人工客服", text=text,
                  options=(Option("直接转人工", OPEN_NOW), Option("不用了", MENU)))
    await show(bot, edit, chat_id, reply)


def _attachment(message: Message) -> list[Any]:
    """What the handoff needs of a photo or file that goes along with it: where it is, its kind, and
    its caption masked (the conversation state is stored; a caption may hold a card number)."""
    kind = next((k for k in HANDED_OVER_MEDIA if getattr(message, k, None)), "media")
    return [message.chat.id, message.message_id, kind, mask_card_numbers(message.caption or "")]


async def open_case(bot: Bot, user, chat_id: int, state: FSMContext, handoff: Handoff, dialogs: DialogHolder,
                    detail: str = "") -> None:
    """Open (or continue) the merchant's ticket with everything the bot knows, relay any media.
    Only ever from the merchant's private chat (its id is the user's), so staff reach them alone."""
    if chat_id != user.id:
        await ask_privately(bot, chat_id)
        return
    data = await state.get_data()
    pending = data.get(PENDING) or {"trigger": "button", "media": None}
    dialog_state = DialogState.from_dict(data.get(STATE_KEY))
    intent = dialog_state.last_intent
    code = None
    if intent is not None and intent in dialogs.dialog.content.by_id:
        code = getattr(dialogs.dialog.content.by_id[intent], "code", None)
    context = CaseContext(trigger=pending["trigger"], intent=intent, code=code, score=dialog_state.last_score,
                          flow_path=dialog_state.history or dialog_state.tried,
                          last_messages=dialog_state.recent, detail=mask_card_numbers(detail.strip())[:300])
    name = " ".join(filter(None, [user.first_name, user.last_name])) or str(user.id)
    ticket = await handoff.open(bot, Merchant(user.id, chat_id, display_name(mask_card_numbers(name))), context,
                                dialogs.dialog.content)
    await state.update_data({PENDING: None})
    media = pending.get("media")
    if media:  # [chat, message] from before captions were kept: copied with no caption at all
        chat, message_id, kind, caption = (media + ["media", ""])[:4]
        await handoff.relay_by_id(bot, ticket, chat, message_id, dialogs.dialog.content, text=caption, media=kind)
    await send(bot, chat_id, Reply(kind="info", title=f"已转人工客服（工单 #{ticket.id}）",
                                   text="接下来你发的消息都会直接转给客服。" + handoff.waiting_note()))


async def on_human_command(message: Message, bot: Bot, state: FSMContext, handoff: Handoff | None) -> None:
    """/human: offer the handoff (or say how to reach support when no support group is set); in a
    group, point to the private chat, where the case is opened."""
    if handoff is None:
        await send(bot, message.chat.id, NO_SUPPORT, thread_id=message.message_thread_id)
        return
    if message.chat.type != ChatType.PRIVATE:
        await ask_privately(bot, message.chat.id, thread_id=message.message_thread_id)
        return
    await offer(bot, message.chat.id, state, "command")


async def on_human_link(message: Message, bot: Bot, state: FSMContext, handoff: Handoff | None) -> None:
    """/start human: the link a group's "请私聊我转人工" points to; offers the handoff here."""
    if handoff is None:
        await send(bot, message.chat.id, NO_SUPPORT)
        return
    await offer(bot, message.chat.id, state, "command")


async def ask_privately(bot: Bot, chat_id: int, *, thread_id: int | None = None) -> None:
    """In a group: a case is opened only in the merchant's private chat with the bot (staff's
    replies must reach the merchant alone, never a group), so say so, with a link that opens it."""
    me = await bot.me()
    link = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="私聊转人工", url=f"https://t.me/{me.username}?start={HUMAN_LINK}")]])
    await bot.send_message(chat_id, ASK_PRIVATELY, message_thread_id=thread_id, reply_markup=link)


async def on_open_now(callback: CallbackQuery, bot: Bot, state: FSMContext, handoff: Handoff | None,
                      dialogs: DialogHolder) -> None:
    """"直接转人工": open the case without a detail line (in the merchant's private chat only)."""
    chat_id = chat_of(callback)
    if callback.message is not None and callback.message.chat.type != ChatType.PRIVATE:
        await callback.answer(ASK_PRIVATELY, show_alert=True)
        return
    await callback.answer()
    if handoff is None:
        await send(bot, chat_id, NO_SUPPORT)
        return
    await open_case(bot, callback.from_user, chat_id, state, handoff, dialogs)


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

NO_SUPPORT = Reply(kind="human", title="人工客服", text=(
    "请联系你的收单机构或服务商客服（电话一般在机身背面、签购单或服务商 App 里），"
    "说明商户号、终端号、交易时间、金额、卡号后四位和屏幕上的提示。"))


def create_router() -> Router:
    """Comes before the merchant router: a merchant in a case talks to people, not to the bot."""
    router = Router(name="case")
    router.message.register(on_case_message, InCase())
    router.edited_message.register(on_case_edit, InCase())
    router.message.register(on_human_command, Command("human"))
    router.message.register(on_human_link, CommandStart(deep_link=True, magic=F.args == HUMAN_LINK),
                            F.chat.type == ChatType.PRIVATE)
    router.callback_query.register(on_open_now, F.data == OPEN_NOW)
    router.callback_query.register(on_rating, F.data.startswith(RATE + ":"))
    return router
