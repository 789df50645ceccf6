"""Cases handed to human support: one forum topic per merchant, messages relayed both ways.

Every relay is written to the store's outbox before it is attempted and marked delivered after, so a
restart in between resends it; Telegram errors are retried by the request middleware, and a message
that finally cannot be delivered is reported in the topic instead of vanishing.
"""

from __future__ import annotations

import asyncio
import logging
import time as _time
from datetime import datetime, time, timedelta, timezone
from typing import Any, Callable
from html import escape

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageId, ReplyParameters

from bot.core.loader import Content
from bot.core.cards import holds_card_number, mask_card_numbers
from bot.core.reply import Reply
from bot.handoff import desk
from bot.handoff.desk import TOPIC_NAME_LIMIT, display_name, topic_name  # noqa: F401 — imported from here
from bot.handoff.models import CaseContext, Merchant, Status, Ticket
from bot.handoff.store import TicketStore
from bot.storage.actions import ActionLog
from bot.storage.bans import Bans
from bot.storage.recipients import BlockedChats
from bot.coordination import Shared, is_unavailable
from bot.telegram.conversation import send_html
from bot.telegram.render import render

log = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8))
RETRY_EVERY = 60.0
"""Seconds between background retries of relays that failed for a passing reason (429, 5xx, network)."""
RATE = "rate"
"""Callback data prefix of the 👍/👎 buttons after a ticket is closed: rate:TICKET:1|0."""
CLAIM = "claim"
"""Callback data of the card's 认领 button: claim:TICKET."""
SEND_ANSWER = "kb"
"""Callback data of the card's button that sends posbot's answer for the case's intent: kb:TICKET."""


def parse_hours(value: str | None) -> tuple[time, time] | None:
    """"09:00-21:00" (China time) -> (start, end); None means always staffed."""
    if not value:
        return None
    start, _, end = value.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


class Handoff:
    def __init__(self, *, store: TicketStore, support_chat_id: int, blocked: BlockedChats, shared: Shared,
                 hours: tuple[time, time] | None = None, bans: Bans | None = None, actions: ActionLog | None = None,
                 remind_after: float = 0.0, aliases: dict[int, str] | None = None) -> None:
        self.store = store
        self.support_chat_id = support_chat_id
        self.blocked = blocked
        self.shared = shared
        """Per-merchant locks, shared by every worker (bot.coordination)."""
        self.hours = hours
        self.bans = bans
        self.actions = actions
        """The buttons merchants tapped (listed on the context card)."""
        self.remind_after = remind_after
        """Seconds a case may wait for staff before the group is reminded; 0: never."""
        self.aliases = aliases or {}
        """Staff user id -> how merchants see them (SUPPORT_STAFF_ALIASES)."""

    # ---- merchant side ---------------------------------------------------------------------

    def staffed(self, now: datetime | None = None) -> bool:
        if self.hours is None:
            return True
        current = (now or datetime.now(CHINA)).astimezone(CHINA).time()
        start, end = self.hours
        return start <= current < end if start <= end else (current >= start or current < end)

    def waiting_note(self) -> str:
        if self.staffed():
            return "客服看到后会直接在这里回复你，请留意消息。"
        start, end = self.hours  # type: ignore[misc]  # staffed() is True when hours is None
        return (f"现在不在客服工作时间（{start:%H:%M}–{end:%H:%M}），你的问题已经排队，"
                f"客服上班后会第一时间回复你。")

    async def open(self, bot: Bot, merchant: Merchant, context: CaseContext, content: Content) -> Ticket:
        """Open (or continue) the merchant's case; two quick calls never create two topics, even when
        two workers take them."""
        async with self.shared.lock(f"merchant:{merchant.user_id}"):
            previous = await self.store.latest_for(merchant.user_id)
            ticket, created = await self.store.open_ticket(merchant, context)
            if created:
                await self.store.add_transcript(ticket.id, "bot",
                                        f"转人工（{context.trigger}）{context.detail}".strip())
            if ticket.topic_id is None and ticket.header_message_id is None:
                reuse = previous.topic_id if previous is not None and previous.id != ticket.id else None
                ticket = await self._create_topic(bot, ticket, content, reuse=reuse)
            return ticket

    async def relay_to_support(self, bot: Bot, ticket: Ticket, message: Message, content: Content) -> None:
        await self.relay_by_id(bot, ticket, message.chat.id, message.message_id, content,
                               text=_text_of(message), media=_media_of(message),
                               reply_to=await self._reply_target(message, self.support_chat_id))

    async def relay_by_id(self, bot: Bot, ticket: Ticket, chat_id: int, message_id: int, content: Content, *,
                          text: str = "", media: str | None = None, reply_to: int | None = None) -> None:
        """A merchant's message, known by id only (the photo that triggered the handoff). `text` is
        its text or caption (for media, the caption the copy gets: "" for none). It carries the
        label `张三 · #12`, so staff know whose it is even outside the case's topic."""
        label = desk.merchant_label(ticket)
        outgoing = _Outgoing(text, media, label=label, bold=True)
        item = await self.store.enqueue(ticket.id, "to_support", chat_id, message_id, text=text, media=media,
                                        reply_to=reply_to, label=label)
        await self._deliver_to_support(bot, ticket, item, chat_id, message_id, content, outgoing, reply_to=reply_to)

    def staff_name(self, user: Any) -> str:
        """How merchants see this staff member: their alias, else their first name."""
        return desk.staff_name(user.id, user.first_name or "", self.aliases) if user is not None else "客服"

    async def relay_to_merchant(self, bot: Bot, ticket: Ticket, message: Message) -> None:
        """A staff message to the merchant as `客服小王：…`, so the merchant tells a person from posbot."""
        reply_to = await self._reply_target(message, ticket.merchant.private_chat)
        text, media = _text_of(message), _media_of(message)
        label = desk.staff_label(self.staff_name(message.from_user))
        item = await self.store.enqueue(ticket.id, "to_merchant", message.chat.id, message.message_id,
                                        text=text, media=media, reply_to=reply_to, label=label)
        await self._deliver_to_merchant(bot, ticket, item, message.chat.id, message.message_id,
                                        _Outgoing(text, media, label=label), reply_to=reply_to)

    async def edit_relayed(self, bot: Bot, message: Message) -> bool:
        """An edited original (merchant's or staff's): its copy edited too, label kept (text only).
        False when there is no copy to edit or Telegram refused."""
        copy = await self.store.counterpart(message.chat.id, message.message_id)
        ticket_id = await self.store.ticket_of_message(message.chat.id, message.message_id)
        ticket = await self.store.get(ticket_id) if ticket_id is not None else None
        if copy is None or ticket is None or not message.text:
            return False
        if copy[0] == self.support_chat_id:
            outgoing = _Outgoing(message.text, None, label=desk.merchant_label(ticket), bold=True)
        else:
            outgoing = _Outgoing(message.text, None, label=desk.staff_label(self.staff_name(message.from_user)))
        try:
            await bot.edit_message_text(text=outgoing.html(), chat_id=copy[0], message_id=copy[1])
        except TelegramAPIError as error:
            log.info("could not edit the relayed copy: %s", error.message)
            return False
        return True

    async def _reply_target(self, message: Message, target_chat: int) -> int | None:
        """When the message answers a relayed one, the other side of that one in `target_chat`, so a
        reply stays a reply: staff answering a merchant's message, or a merchant answering staff."""
        replied = message.reply_to_message
        if replied is None:
            return None
        other = await self.store.counterpart(message.chat.id, replied.message_id)
        return other[1] if other is not None and other[0] == target_chat else None

    # ---- staff side --------------------------------------------------------------------------

    async def close(self, bot: Bot, ticket: Ticket) -> Ticket:
        ticket = await self.set_status(bot, ticket, Status.CLOSED)
        keyboard = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="👍 满意", callback_data=f"{RATE}:{ticket.id}:1"),
            InlineKeyboardButton(text="👎 不满意", callback_data=f"{RATE}:{ticket.id}:0")]])
        try:
            await bot.send_message(ticket.merchant.private_chat, "客服已结束本次会话。这次的服务你满意吗？",
                                   reply_markup=keyboard)
        except TelegramAPIError as error:
            await self.notice(bot, ticket, f"⚠️ 没能通知商户会话已结束：{error.message}")
        return ticket

    async def reopen(self, bot: Bot, ticket: Ticket) -> Ticket:
        active = await self.store.open_for(ticket.merchant.user_id)
        if active is not None and active.id != ticket.id:
            await self.notice(bot, ticket, f"商户已有进行中的工单 #{active.id}。")
            return active
        ticket = await self.set_status(bot, ticket, Status.WAITING_MERCHANT)
        try:
            await bot.send_message(ticket.merchant.private_chat, "客服重新打开了你的问题，可以直接在这里继续说。")
        except TelegramAPIError as error:
            await self.notice(bot, ticket, f"⚠️ 没能通知商户：{error.message}")
        return ticket

    async def set_status(self, bot: Bot, ticket: Ticket, status: Status) -> Ticket:
        ticket = await self.store.set_status(ticket.id, status)
        if ticket.topic_id is not None:
            try:
                await bot.edit_forum_topic(self.support_chat_id, ticket.topic_id, name=topic_name(ticket))
            except TelegramAPIError as error:
                log.info("could not rename topic of ticket %s: %s", ticket.id, error.message)
        return ticket

    async def notice(self, bot: Bot, ticket: Ticket, text: str) -> None:
        """A line for staff in the ticket's topic (never relayed to the merchant)."""
        try:
            await send_html(bot, self.support_chat_id, escape(text, quote=False), **self._where(ticket))
        except TelegramAPIError as error:
            log.warning("could not post a notice for ticket %s: %s", ticket.id, error.message)

    async def keep_retrying(self, bot: Bot, content: Callable[[], Content], every: float = RETRY_EVERY) -> None:
        """Relays that failed for a passing reason are retried in the background until delivered."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.resume(bot, content())
            except TelegramAPIError as error:
                log.warning("retrying pending relays failed: %s", error.message)
            except Exception as error:  # noqa: BLE001 — the retry loop must outlive any one failure
                if not is_unavailable(error):
                    log.exception("retrying pending relays failed")
                else:
                    log.warning("retrying pending relays later: %s", error)

    async def resume(self, bot: Bot, content: Content) -> int:
        """Resend relays written down but not delivered: after a failed attempt, before a restart,
        or by a worker that died while delivering. Each is claimed first, so with several workers
        retrying at once every relay still goes out once."""
        items = await self.store.claim()
        for item in items:
            ticket = await self.store.get(item.ticket_id)
            if ticket is None:
                continue
            outgoing = _Outgoing(item.text, item.media, held_card=item.held_card, label=item.label,
                                 bold=item.direction == "to_support")
            if item.direction == "to_support":
                await self._deliver_to_support(bot, ticket, item.id, item.source_chat, item.source_message, content,
                                               outgoing, reply_to=item.reply_to)
            else:
                await self._deliver_to_merchant(bot, ticket, item.id, item.source_chat, item.source_message,
                                                outgoing, reply_to=item.reply_to)
        return len(items)

    # ---- delivery ----------------------------------------------------------------------------

    def _where(self, ticket: Ticket, reply_to: int | None = None) -> dict[str, Any]:
        """Where a message of this ticket goes in the support group: its topic, or a reply to its
        header (to the message it answers, when it answers one)."""
        where: dict[str, Any] = {}
        if ticket.topic_id is not None:
            where["message_thread_id"] = ticket.topic_id
        elif reply_to is None and ticket.header_message_id is not None:
            reply_to = ticket.header_message_id
        return where | _replying(reply_to)

    async def _create_topic(self, bot: Bot, ticket: Ticket, content: Content, *, reuse: int | None = None) -> Ticket:
        """A forum topic with the context card as its first message (the merchant's earlier topic,
        when there is one: one topic per merchant); a header message in groups that are not forums."""
        card, keyboard = await self.card(ticket, content)
        if reuse is not None:
            try:
                await send_html(bot, self.support_chat_id, card, keyboard=keyboard, message_thread_id=reuse)
            except TelegramBadRequest as error:
                log.info("earlier topic %s of ticket %s is gone (%s); creating a new one", reuse, ticket.id,
                         error.message)
            else:
                ticket = await self.store.set_topic(ticket.id, reuse, None)
                return await self.set_status(bot, ticket, ticket.status)
        try:
            topic = await bot.create_forum_topic(self.support_chat_id, topic_name(ticket))
        except TelegramBadRequest as error:
            log.info("support group is not a forum (%s); threading on a header message", error.message)
            header = await send_html(bot, self.support_chat_id, card, keyboard=keyboard)
            return await self.store.set_topic(ticket.id, None, header.message_id)
        ticket = await self.store.set_topic(ticket.id, topic.message_thread_id, None)
        await send_html(bot, self.support_chat_id, card, keyboard=keyboard, message_thread_id=topic.message_thread_id)
        return ticket

    async def card(self, ticket: Ticket, content: Content) -> tuple[str, InlineKeyboardMarkup]:
        """The context card's text (with the buttons the merchant pressed before the case opened)
        and its buttons: 认领, and posbot's answer for the case's intent."""
        actions: list[str] = []
        if self.actions is not None:
            since = ticket.created_at - desk.ACTIONS_LOOK_BACK
            actions = [a.action for a in await self.actions.recent(ticket.merchant.user_id, since=since)
                       if a.at <= ticket.created_at + 1.0]
        return desk.context_card(ticket, content, actions=actions), card_keyboard(ticket, content)

    async def claim(self, ticket: Ticket, user: Any) -> Ticket:
        """认领: the case is this staff member's unless someone has it; the ticket as it now is."""
        return await self.store.claim_ticket(ticket.id, user.id, self.staff_name(user))

    async def unclaim(self, ticket: Ticket, user: Any) -> Ticket:
        return await self.store.unclaim_ticket(ticket.id, user.id)

    async def send_answer(self, bot: Bot, ticket: Ticket, reply: Reply, staff: Any) -> bool:
        """posbot's own answer sent to the merchant by a staff member (/kb), labelled as posbot's,
        without its buttons (the merchant is talking to people now); in the transcript. False when
        it could not be delivered (staff are told why)."""
        name = self.staff_name(staff)
        reply = Reply(kind=reply.kind, title=reply.title, text=reply.text, intent=reply.intent,
                      preface=desk.bot_answer_label(name))
        target = ticket.merchant.private_chat
        if self.bans is not None and await self.bans.is_banned(target):
            await self.notice(bot, ticket, "⚠️ 未发送：商户已被封禁（/unban 解除）。")
            return False
        try:
            for chunk in render(reply).chunks:
                await bot.send_message(target, chunk)
        except TelegramAPIError as error:
            await self.notice(bot, ticket, f"⚠️ 自动解答没能送达商户：{error.message}")
            return False
        await self.store.add_transcript(ticket.id, "staff", f"[{desk.staff_label(name)}发送自动解答] {reply.title}\n"
                                                            f"{reply.text}")
        if ticket.status is not Status.WAITING_MERCHANT:
            await self.set_status(bot, ticket, Status.WAITING_MERCHANT)
        return True

    # ---- reminders ---------------------------------------------------------------------------

    async def remind_due(self, bot: Bot, content: Content, now: float | None = None) -> int:
        """One reminder in the group for every case that has waited for staff longer than
        `remind_after`, once per case: the store's conditional update decides which worker sends
        it, and it is kept, so a restart does not remind again."""
        if self.remind_after <= 0:
            return 0
        now = _time.time() if now is None else now
        sent = 0
        for ticket in await self.store.due_reminders(now - self.remind_after):
            if await self.store.mark_reminded(ticket.id):
                await self.notice(bot, ticket, desk.reminder_text(ticket, content, now))
                sent += 1
        return sent

    async def keep_reminding(self, bot: Bot, content: Callable[[], Content]) -> None:
        """Looks for cases to remind of, in the background, until cancelled."""
        every = desk.check_every(self.remind_after)
        while True:
            await asyncio.sleep(every)
            try:
                await self.remind_due(bot, content())
            except TelegramAPIError as error:
                log.warning("reminding of waiting cases failed: %s", error.message)
            except Exception as error:  # noqa: BLE001 — the loop must outlive any one failure
                if not is_unavailable(error):
                    log.exception("reminding of waiting cases failed")
                else:
                    log.warning("reminding of waiting cases later: %s", error)

    async def _deliver_to_support(self, bot: Bot, ticket: Ticket, item: int, chat: int, message_id: int,
                                  content: Content, outgoing: _Outgoing, *, reply_to: int | None = None) -> None:
        for attempt in (1, 2):
            try:
                copy = await outgoing.send(bot, self.support_chat_id, chat, message_id, self._where(ticket, reply_to))
                break
            except TelegramBadRequest as error:
                if attempt == 1 and _topic_gone(error):  # staff deleted the topic: a new one, then resend
                    log.info("topic of ticket %s is gone; creating a new one", ticket.id)
                    ticket = await self.store.set_topic(ticket.id, None, None)
                    ticket = await self._create_topic(bot, ticket, content)
                    continue
                await self.store.attempt_failed(item, error.message, give_up=True)
                log.warning("relay to support failed for ticket %s: %s", ticket.id, error.message)
                return
            except TelegramAPIError as error:
                await self.store.attempt_failed(item, error.message, give_up=False)
                log.warning("relay to support failed for ticket %s: %s (kept for retry)", ticket.id, error.message)
                return
        await self.store.delivered_relay(item, ticket.id, "merchant", outgoing.text, outgoing.media,
                                         (chat, message_id), (self.support_chat_id, copy.message_id))
        if ticket.status is not Status.WAITING_SUPPORT:
            await self.set_status(bot, ticket, Status.WAITING_SUPPORT)

    async def _deliver_to_merchant(self, bot: Bot, ticket: Ticket, item: int, chat: int, message_id: int,
                                   outgoing: _Outgoing, *, reply_to: int | None = None) -> None:
        target = ticket.merchant.private_chat
        if self.bans is not None and await self.bans.is_banned(target):
            await self.store.attempt_failed(item, "merchant banned", give_up=True)
            await self.notice(bot, ticket, "⚠️ 未送达：商户已被封禁（/unban 解除）。")
            return
        if await self.blocked.is_blocked(target):
            await self.store.attempt_failed(item, "merchant blocked the bot", give_up=True)
            await self.notice(bot, ticket, "⚠️ 未送达：商户已屏蔽机器人。")
            return
        try:
            copy = await outgoing.send(bot, target, chat, message_id, _replying(reply_to))
        except TelegramAPIError as error:
            await self.store.attempt_failed(item, error.message, give_up=True)
            await self.notice(bot, ticket, f"⚠️ 这条消息没能送达商户：{error.message}")
            return
        await self.store.delivered_relay(item, ticket.id, "staff", outgoing.text, outgoing.media, (chat, message_id),
                                         (target, copy.message_id))
        if ticket.status is not Status.WAITING_MERCHANT:
            await self.set_status(bot, ticket, Status.WAITING_MERCHANT)



CAPTIONED = frozenset({"photo", "video", "audio", "document", "voice", "animation", "media"})
"""Media whose copy can take a caption (`media`: the handoff's attachment, kind not recorded)."""


class _Outgoing:
    """One relayed message as it goes out. With a label (who wrote it), text goes as a new message
    `label：text` and media are copied with the label before their caption; without one (relays
    written down by an older release), as before: copyMessage for what can be copied safely.
    Whether it may be copied is decided from the original (`held_card`, computed from its text
    here, or kept in the outbox for a retry), never from the masked text alone: a retried relay's
    stored text already equals its own masked form."""

    def __init__(self, text: str, media: str | None, *, held_card: bool | None = None, label: str = "",
                 bold: bool = False) -> None:
        self.held_card = bool(held_card) or holds_card_number(text)
        self.text = mask_card_numbers(text)
        self.media = media
        self.label = label
        self.bold = bold
        """The label on a line of its own in bold (the support group), else `label：` before the text."""

    def html(self) -> str:
        """The text as sent: label and text, escaped."""
        text = escape(self.text, quote=False)
        if not self.label:
            return text
        label = escape(self.label, quote=False)
        if self.bold:
            return f"<b>{label}</b>\n{text}" if text else f"<b>{label}</b>"
        return f"{label}：{text}" if text else label

    async def send(self, bot: Bot, target: int, chat: int, message_id: int, where: dict[str, Any]
                   ) -> Message | MessageId:
        if self.media is None:
            if self.held_card or self.label:
                return await bot.send_message(target, self.html(), **where)
            return await bot.copy_message(target, chat, message_id, **where)
        if self.media in CAPTIONED:  # always our own caption: the original's may hold a card number
            return await bot.copy_message(target, chat, message_id, caption=self.html(), **where)
        return await bot.copy_message(target, chat, message_id, **where)  # stickers, video notes: no caption


def card_keyboard(ticket: Ticket, content: Content) -> InlineKeyboardMarkup:
    """认领 (or who has it, tapping again gives it back), and posbot's answer for the case's intent."""
    claim = (f"✋ {ticket.claimed_name} 已认领（再点取消）" if ticket.claimed_by is not None else "🙋 认领")
    rows = [[InlineKeyboardButton(text=claim, callback_data=f"{CLAIM}:{ticket.id}")]]
    if ticket.context.intent in content.by_id or ticket.context.code in content.by_code:
        title = desk.intent_title(content, ticket.context.intent, ticket.context.code)
        rows.append([InlineKeyboardButton(text=f"🤖 发送自动解答：{title}"[:60],
                                          callback_data=f"{SEND_ANSWER}:{ticket.id}")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _replying(message_id: int | None) -> dict[str, Any]:
    """Send as a reply to `message_id` (still sent if that message was deleted meanwhile)."""
    if message_id is None:
        return {}
    return {"reply_parameters": ReplyParameters(message_id=message_id, allow_sending_without_reply=True)}


def _topic_gone(error: TelegramBadRequest) -> bool:
    message = error.message.lower()
    return "thread not found" in message or "topic_deleted" in message or "topic not found" in message


def _text_of(message: Message) -> str:
    return message.text or message.caption or ""


def _media_of(message: Message) -> str | None:
    for kind in ("photo", "video", "voice", "audio", "document", "sticker", "video_note", "location"):
        if getattr(message, kind, None):
            return kind
    return None
