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
from aiogram.types import CallbackQuery, Message, ReplyParameters

from bot.core.dialog import SHOW, DialogState
from bot.core.holder import DialogHolder
from bot.core.loader import Content
from bot.coordination import Shared
from bot.handoff import desk
from bot.handoff.models import Status, Ticket
from bot.telegram.conversation import send_html
from bot.telegram.handoff import CLAIM, SEND_ANSWER, Handoff
from bot.telegram.staff import IsStaff, Staff

STAFF_COMMANDS = frozenset({"tickets", "close", "reopen", "note", "info", "kb", "ban", "unban", "bans"})
STAFF_MENU = (("tickets", "进行中的工单"), ("info", "本工单信息"), ("kb", "发自动解答：/kb 51 或 /kb 签到失败"),
              ("note", "内部备注（不发给商户）"), ("close", "结束工单并请商户评价"), ("reopen", "重新打开工单"),
              ("ban", "封禁辱骂的商户"), ("unban", "解除封禁：/unban 或 /unban 用户id"), ("bans", "已封禁的商户"))
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


async def on_tickets(message: Message, bot: Bot, handoff: Handoff, dialogs: DialogHolder) -> None:
    """Lists the tickets not closed, oldest first: status, merchant, intent title, age, who has it."""
    tickets = await handoff.store.active()
    if not tickets:
        text = "没有进行中的工单。"
    else:
        now = time.time()
        text = "<b>进行中的工单（最久的在前）</b>\n" + "\n".join(
            desk.ticket_line(t, dialogs.dialog.content, now) for t in tickets)
    if handoff.bans is not None and (banned := await handoff.bans.all()):
        text += f"\n已封禁 {len(banned)} 个商户（/bans 查看）。"
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
    """The ticket's card again (with its buttons), its status in words, age and transcript length."""
    ticket = await _ticket_or_hint(message, bot, handoff)
    if ticket is not None:
        transcript = await handoff.store.transcript(ticket.id, 100)
        card, keyboard = await handoff.card(ticket, dialogs.dialog.content)
        text = card + "\n" + escape(desk.info_line(ticket, transcript, time.time()), quote=False)
        await send_html(bot, message.chat.id, text, keyboard=keyboard, message_thread_id=message.message_thread_id)


async def on_kb(message: Message, bot: Bot, handoff: Handoff, dialogs: DialogHolder, command: CommandObject) -> None:
    """/kb 51, /kb 签到失败, or /kb alone (the case's own intent): posbot's answer to the merchant."""
    ticket = await _ticket_or_hint(message, bot, handoff)
    if ticket is None:
        return
    content = dialogs.dialog.content
    ref = (command.args or "").strip()
    intent = _intent_for(ref, content, dialogs) if ref else _case_intent(ticket, content)
    if intent is None:
        await handoff.notice(bot, ticket, f"没找到“{ref or '本工单的问题'}”对应的解答。请写应答码（/kb 51）或问题名称"
                                          "（/kb 签到失败），/kb 不带参数发本工单识别到的问题的解答。")
        return
    await _send_answer(bot, handoff, dialogs, ticket, intent, message.from_user)


async def on_ban(message: Message, bot: Bot, handoff: Handoff, command: CommandObject) -> None:
    """/ban [原因] in a case (or /ban USER_ID): nothing the merchant sends is relayed or answered,
    they are told once; their open case is closed without asking for a rating."""
    if handoff.bans is None:
        return
    args = (command.args or "").split(maxsplit=1)
    ticket = None
    if args and args[0].isdigit():
        user_id, reason = int(args[0]), args[1] if len(args) > 1 else ""
        ticket = await handoff.store.latest_for(user_id)
    else:
        ticket = await _ticket_or_hint(message, bot, handoff)
        if ticket is None:
            return
        user_id, reason = ticket.merchant.user_id, command.args or ""
    name = ticket.merchant.name if ticket is not None else str(user_id)
    by = message.from_user.id if message.from_user else 0
    fresh = await handoff.bans.ban(user_id, by=by, name=name, reason=reason)
    if ticket is not None and ticket.status is not Status.CLOSED:
        ticket = await handoff.set_status(bot, ticket, Status.CLOSED)
    if await handoff.bans.first_notice(user_id):
        try:
            await bot.send_message(user_id, escape(desk.BANNED_NOTICE, quote=False))
        except TelegramAPIError:
            pass  # blocked the bot already: nothing more to say
    text = (f"🚫 已封禁商户 {desk.short_name(name)}（id {user_id}）：不再转发也不再回复。/unban {user_id} 可解除。"
            if fresh else f"商户 {desk.short_name(name)}（id {user_id}）已经被封禁了。")
    await _tell(bot, message, handoff, ticket, text)


async def on_unban(message: Message, bot: Bot, handoff: Handoff, command: CommandObject) -> None:
    """/unban in the case's topic, or /unban USER_ID: the merchant is heard again."""
    if handoff.bans is None:
        return
    arg = (command.args or "").strip()
    ticket = None
    if arg.isdigit():
        user_id = int(arg)
        ticket = await handoff.store.latest_for(user_id)
    else:
        ticket = await _ticket_or_hint(message, bot, handoff)
        if ticket is None:
            return
        user_id = ticket.merchant.user_id
    lifted = await handoff.bans.unban(user_id)
    text = f"✅ 已解除封禁（id {user_id}），商户的消息会再转给客服。" if lifted else f"id {user_id} 没有被封禁。"
    await _tell(bot, message, handoff, ticket, text)


async def on_bans(message: Message, bot: Bot, handoff: Handoff) -> None:
    """Lists the banned merchants."""
    banned = await handoff.bans.all() if handoff.bans is not None else []
    now = time.time()
    text = ("没有被封禁的商户。" if not banned else "<b>已封禁的商户</b>\n" + "\n".join(
        escape(f"id {b.chat_id} · {desk.short_name(b.name)} · {desk.age(now - b.since)}"
               + (f" · 原因：{desk.whole(b.reason, 40)}" if b.reason else ""), quote=False) for b in banned)
        + "\n用 /unban ID 解除。")
    await send_html(bot, message.chat.id, text, message_thread_id=message.message_thread_id)


async def on_claim(callback: CallbackQuery, bot: Bot, handoff: Handoff, dialogs: DialogHolder,
                   staff: Staff | None = None) -> None:
    """认领 on the card: the case is the staff member's (the card says so, edited in place); a tap
    by someone else says who has it; a second tap by the one who has it gives it back."""
    ticket = await _tapped_ticket(callback, bot, handoff, staff)
    if ticket is None:
        return
    user = callback.from_user
    if ticket.claimed_by is not None and ticket.claimed_by != user.id:
        await callback.answer(f"这个工单已由 {ticket.claimed_name} 认领。", show_alert=True)
        return
    if ticket.claimed_by == user.id:
        ticket = await handoff.unclaim(ticket, user)
        toast = "已取消认领。"
    else:
        ticket = await handoff.claim(ticket, user)
        toast = ("已认领。" if ticket.claimed_by == user.id else f"这个工单已由 {ticket.claimed_name} 认领。")
    await callback.answer(toast, show_alert=ticket.claimed_by not in (None, user.id))
    if callback.message is not None:
        card, keyboard = await handoff.card(ticket, dialogs.dialog.content)
        try:
            await bot.edit_message_text(text=card, chat_id=callback.message.chat.id,
                                        message_id=callback.message.message_id, reply_markup=keyboard)
        except TelegramAPIError as error:  # not modified, too old: the toast said it
            await handoff.notice(bot, ticket, f"{toast}（卡片没能更新：{error.message}）")


async def on_send_answer_button(callback: CallbackQuery, bot: Bot, handoff: Handoff, dialogs: DialogHolder,
                                staff: Staff | None = None) -> None:
    """The card's 🤖 button: posbot's answer for the case's intent to the merchant, in one tap."""
    ticket = await _tapped_ticket(callback, bot, handoff, staff)
    if ticket is None:
        return
    intent = _case_intent(ticket, dialogs.dialog.content)
    if intent is None:
        await callback.answer("这个问题的解答已不在知识库里了。", show_alert=True)
        return
    await callback.answer("正在发送…")
    await _send_answer(bot, handoff, dialogs, ticket, intent, callback.from_user)


async def on_staff_message(message: Message, bot: Bot, handoff: Handoff, shared: Shared) -> None:
    """Anything staff write in a ticket's topic (or, without topics, as a reply to a case's message)
    goes to the merchant; anything else gets a hint how to answer, at most once per ten minutes."""
    if message.text and message.text.startswith("/"):
        return
    ticket = await ticket_of(message, handoff)
    if ticket is not None:
        await handoff.relay_to_merchant(bot, ticket, message)
        return
    active = await handoff.store.active()
    if not active or message.from_user is None:
        return  # no case to answer: staff are just talking
    # one hint per staff member per window, across workers (a bucketed key: the in-process
    # Shared forgets keys by count, not by time)
    window = int(time.time() // desk.HINT_EVERY)
    if await shared.first_time(f"hint:{message.chat.id}:{message.from_user.id}:{window}",
                               remember=desk.HINT_EVERY):
        forum = message.is_topic_message or any(t.topic_id is not None for t in active)
        hint = desk.GENERAL_TOPIC_HINT if forum else desk.NOT_A_REPLY_HINT
        await send_html(bot, message.chat.id, escape(hint, quote=False), message_thread_id=message.message_thread_id,
                        reply_parameters=ReplyParameters(message_id=message.message_id,
                                                         allow_sending_without_reply=True))


async def on_staff_edit(message: Message, bot: Bot, handoff: Handoff) -> None:
    """Staff corrected a message: correct the merchant's copy too (text only)."""
    if not message.text or message.text.startswith("/"):
        return
    if await handoff.store.counterpart(message.chat.id, message.message_id) is None:
        return
    if not await handoff.edit_relayed(bot, message):
        ticket = await ticket_of(message, handoff)
        if ticket is not None:
            await handoff.notice(bot, ticket, "⚠️ 商户那边的消息没能同步修改。")


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


async def _tapped_ticket(callback: CallbackQuery, bot: Bot, handoff: Handoff, staff: Staff | None) -> Ticket | None:
    """The ticket a card button names, when staff tapped it (anyone else is told it is for staff)."""
    if staff is None or not await staff.is_staff_user(bot, callback.from_user):
        await callback.answer("只有客服能用这个按钮。", show_alert=True)
        return None
    _, _, ticket_id = (callback.data or "").partition(":")
    ticket = await handoff.store.get(int(ticket_id)) if ticket_id.isdigit() else None
    if ticket is None:
        await callback.answer("这个按钮已过期。")
    return ticket


def _case_intent(ticket: Ticket, content: Content) -> str | None:
    """The intent the case was opened about, if the content still has it."""
    if ticket.context.intent in content.by_id:
        return ticket.context.intent
    code = content.by_code.get(ticket.context.code or "")
    return code.id if code is not None else None


def _intent_for(ref: str, content: Content, dialogs: DialogHolder) -> str | None:
    """/kb's argument: an id, code, title or alias exactly, else the problem the matcher answers it with."""
    found = desk.resolve_intent(content, ref)
    if found is not None:
        return found
    turn = dialogs.dialog.on_text(ref, DialogState())
    decision = turn.understanding.decision if turn.understanding is not None else None
    problems = {intent.id for intent in content.problems}  # small talk is no answer to send a merchant
    if decision is not None and decision.kind == "answer" and decision.intent in problems:
        return decision.intent
    return None


async def _send_answer(bot: Bot, handoff: Handoff, dialogs: DialogHolder, ticket: Ticket, intent: str,
                       user) -> None:
    reply = dialogs.dialog.on_action(f"{SHOW}:{intent}", DialogState()).reply
    if await handoff.send_answer(bot, ticket, reply, user):
        title = desk.intent_title(dialogs.dialog.content, intent)
        await handoff.notice(bot, ticket, f"🤖 {handoff.staff_name(user)} 把 posbot 的解答“{title}”发给了商户。")


async def _tell(bot: Bot, message: Message, handoff: Handoff, ticket: Ticket | None, text: str) -> None:
    """In the case's topic when there is one, else where the command was typed."""
    if ticket is not None and (message.message_thread_id is None or message.message_thread_id == ticket.topic_id):
        await handoff.notice(bot, ticket, text)
    else:
        await bot.send_message(message.chat.id, escape(text, quote=False), message_thread_id=message.message_thread_id)


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
    router.message.register(on_kb, Command("kb"), staff)
    router.message.register(on_ban, Command("ban"), staff)
    router.message.register(on_unban, Command("unban"), staff)
    router.message.register(on_bans, Command("bans"), staff)
    router.message.register(on_staff_message, RELAYED_CONTENT, staff)
    router.message.register(on_outsider, RELAYED_CONTENT)
    router.message.register(_ignore)  # service messages (topic created, members joined …)
    router.edited_message.register(on_staff_edit, F.text, staff)
    router.edited_message.register(_ignore)
    router.callback_query.filter(F.message.chat.id == support_chat_id)
    router.callback_query.register(on_claim, F.data.startswith(CLAIM + ":"))
    router.callback_query.register(on_send_answer_button, F.data.startswith(SEND_ANSWER + ":"))
    return router


async def _ignore(message: Message) -> None:
    """Nothing to do; stops support-group messages from reaching the merchant handlers."""
