"""Support staff in the support group (SUPPORT_CHAT_ID): replies relayed to merchants, ticket commands.

Only messages from that group reach these handlers, and of those only staff's (bot.telegram.staff:
SUPPORT_STAFF_IDS, else the group's administrators) are relayed or may use the commands; anyone
else in the group, bots and channels are never heard by merchants.
"""

from __future__ import annotations

import time
from html import escape

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.core.cards import mask_card_numbers
from bot.handoff.models import Ticket
from bot.telegram.conversation import send_html
from bot.core.holder import DialogHolder
from bot.telegram.handoff import Handoff, display_name
from bot.telegram.staff import IsStaff

STAFF_COMMANDS = frozenset({"tickets", "close", "reopen", "note", "info"})
OUTSIDER_NOTICE = "⚠️ 只有客服的消息会转给商户，命令也只有客服能用（客服：SUPPORT_STAFF_IDS 里的人，未设置时为群管理员）。"
ANONYMOUS_NOTICE = "⚠️ 匿名发言的消息不会转给商户（无法确认是哪位客服）。请关闭“匿名发言”后再回复。"
RELAYED_CONTENT = F.text | F.photo | F.document | F.video | F.voice | F.audio | F.sticker | F.animation


async def ticket_of(message: Message, handoff: Handoff) -> Ticket | None:
    """The ticket a staff message belongs to: its forum topic, or (non-forum groups) the header or
    relayed message it replies to."""
    store = handoff.store
    if message.is_topic_message and message.message_thread_id is not None:
        return await store.by_topic(message.message_thread_id)
    replied = message.reply_to_message
    if replied is None:
        return None
    ticket = await store.by_header(replied.message_id)
    if ticket is not None:
        return ticket
    ticket_id = await store.ticket_of_message(message.chat.id, replied.message_id)
    return await store.get(ticket_id) if ticket_id is not None else None


async def on_tickets(message: Message, bot: Bot, handoff: Handoff) -> None:
    """Lists the tickets not closed, oldest first, with their age."""
    tickets = await handoff.store.active()
    if not tickets:
        text = "没有进行中的工单。"
    else:
        now = time.time()
        text = "<b>进行中的工单（最久的在前）</b>\n" + "\n".join(
            f"#{t.id} {t.status.icon} {escape(display_name(t.merchant.name), quote=False)} · "
            f"{t.context.code or t.context.intent or '人工'} · {_age(now - t.created_at)}" for t in tickets)
    await send_html(bot, message.chat.id, text, message_thread_id=message.message_thread_id)


async def on_close(message: Message, bot: Bot, handoff: Handoff) -> None:
    """Closes the ticket; the merchant is told and asked for a 👍/👎 rating."""
    ticket = await _ticket_or_hint(message, bot, handoff)
    if ticket is not None:
        await handoff.close(bot, ticket)
        await handoff.notice(bot, ticket, f"工单 #{ticket.id} 已结束，已请商户评价。")


async def on_reopen(message: Message, bot: Bot, handoff: Handoff) -> None:
    """Reopens a closed ticket; the merchant is told they can continue."""
    ticket = await _ticket_or_hint(message, bot, handoff)
    if ticket is not None:
        ticket = await handoff.reopen(bot, ticket)
        await handoff.notice(bot, ticket, f"工单 #{ticket.id} 已重新打开。")


async def on_note(message: Message, bot: Bot, handoff: Handoff, command: CommandObject) -> None:
    """An internal note: kept in the transcript, never relayed."""
    ticket = await _ticket_or_hint(message, bot, handoff)
    if ticket is not None and command.args:
        await handoff.store.add_transcript(ticket.id, "note", command.args)
        await handoff.notice(bot, ticket, "📝 已记下（不会发给商户）。")


async def on_info(message: Message, bot: Bot, handoff: Handoff, dialogs: DialogHolder) -> None:
    """The ticket's card again, with its current status and transcript length."""
    from bot.telegram.handoff import context_card

    ticket = await _ticket_or_hint(message, bot, handoff)
    if ticket is not None:
        transcript = await handoff.store.transcript(ticket.id, 100)
        rating = {None: "未评价", 1: "👍", 0: "👎"}[ticket.rating]
        text = context_card(ticket, transcript, dialogs.dialog.content) + (
            f"\n状态：{ticket.status.value}；记录 {len(transcript)} 条；评价：{rating}")
        await send_html(bot, message.chat.id, text, message_thread_id=message.message_thread_id)


async def on_staff_message(message: Message, bot: Bot, handoff: Handoff) -> None:
    """Anything staff write in a ticket's topic goes to the merchant."""
    if message.text and message.text.startswith("/"):
        return
    ticket = await ticket_of(message, handoff)
    if ticket is not None:
        await handoff.relay_to_merchant(bot, ticket, message)


async def on_staff_edit(message: Message, bot: Bot, handoff: Handoff) -> None:
    """Staff corrected a message: correct the merchant's copy too (text only)."""
    copy = await handoff.store.counterpart(message.chat.id, message.message_id)
    if copy is not None and message.text and not message.text.startswith("/"):
        try:
            await bot.edit_message_text(text=escape(mask_card_numbers(message.text), quote=False), chat_id=copy[0],
                                        message_id=copy[1])
        except TelegramAPIError as error:
            ticket = await ticket_of(message, handoff)
            if ticket is not None:
                await handoff.notice(bot, ticket, f"⚠️ 商户那边的消息没能同步修改：{error.message}")


async def on_outsider(message: Message, bot: Bot, handoff: Handoff) -> None:
    """Someone who is not staff wrote in the group: never relayed. In a ticket's topic, staff are
    told so (a person, or an administrator posting anonymously); bots and channels are ignored."""
    support = handoff.support_chat_id
    anonymous_admin = message.sender_chat is not None and message.sender_chat.id == support
    if not anonymous_admin and (message.sender_chat is not None or message.from_user is None
                                or message.from_user.is_bot):
        return
    text = message.text or ""
    command = (text[1:].split() or [""])[0].split("@")[0] if text.startswith("/") else None
    if command is not None and command not in STAFF_COMMANDS:
        return  # another bot's command
    ticket = await ticket_of(message, handoff)
    if ticket is None and command is None:
        return
    notice = (ANONYMOUS_NOTICE if anonymous_admin else OUTSIDER_NOTICE)
    await bot.send_message(support, escape(notice, quote=False), message_thread_id=message.message_thread_id)


async def _ticket_or_hint(message: Message, bot: Bot, handoff: Handoff) -> Ticket | None:
    ticket = await ticket_of(message, handoff)
    if ticket is None:
        await bot.send_message(message.chat.id, "请在工单的话题里（或回复工单消息）使用这个命令。",
                               message_thread_id=message.message_thread_id)
    return ticket


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)} 分钟"
    if seconds < 86400:
        return f"{int(seconds // 3600)} 小时"
    return f"{int(seconds // 86400)} 天"


def create_router(support_chat_id: int) -> Router:
    router = Router(name="support")
    router.message.filter(F.chat.id == support_chat_id)
    router.edited_message.filter(F.chat.id == support_chat_id)
    staff = IsStaff()
    router.message.register(on_tickets, Command("tickets"), staff)
    router.message.register(on_close, Command("close"), staff)
    router.message.register(on_reopen, Command("reopen"), staff)
    router.message.register(on_note, Command("note"), staff)
    router.message.register(on_info, Command("info"), staff)
    router.message.register(on_staff_message, RELAYED_CONTENT, staff)
    router.message.register(on_outsider, RELAYED_CONTENT)
    router.message.register(_ignore)  # service messages (topic created, members joined …)
    router.edited_message.register(on_staff_edit, F.text, staff)
    router.edited_message.register(_ignore)
    return router


async def _ignore(message: Message) -> None:
    """Nothing to do; stops support-group messages from reaching the merchant handlers."""
