"""Cases handed to human support: one forum topic per merchant, messages relayed both ways.

Every relay is written to the store's outbox before it is attempted and marked delivered after, so a
restart in between resends it; Telegram errors are retried by the request middleware, and a message
that finally cannot be delivered is reported in the topic instead of vanishing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, time, timedelta, timezone
from typing import Any, Callable
from html import escape

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageId, ReplyParameters

from bot.core.loader import Content
from bot.core.cards import holds_card_number, mask_card_numbers
from bot.handoff.models import CaseContext, Merchant, Status, Ticket
from bot.handoff.store import TicketStore
from bot.storage.recipients import BlockedChats
from bot.coordination import Shared, is_unavailable
from bot.telegram.conversation import send_html

log = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8))
TOPIC_NAME_LIMIT = 128
TOPIC_WHAT_LIMIT = 40
"""Of a topic title, the code or intent id at most (intent ids are short; the name gives way first)."""
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
"""Embeddings, overrides and isolates (U+202A–202E, U+2066–2069), and the LRM/RLM/ALM marks."""
RETRY_EVERY = 60.0
"""Seconds between background retries of relays that failed for a passing reason (429, 5xx, network)."""
RATE = "rate"
"""Callback data prefix of the 👍/👎 buttons after a ticket is closed: rate:TICKET:1|0."""


def parse_hours(value: str | None) -> tuple[time, time] | None:
    """"09:00-21:00" (China time) -> (start, end); None means always staffed."""
    if not value:
        return None
    start, _, end = value.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


class Handoff:
    def __init__(self, *, store: TicketStore, support_chat_id: int, blocked: BlockedChats, shared: Shared,
                 hours: tuple[time, time] | None = None) -> None:
        self.store = store
        self.support_chat_id = support_chat_id
        self.blocked = blocked
        self.shared = shared
        """Per-merchant locks, shared by every worker (bot.coordination)."""
        self.hours = hours

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
        its text or caption (for media, the caption the copy gets: "" for none)."""
        outgoing = _Outgoing(text, media)
        item = await self.store.enqueue(ticket.id, "to_support", chat_id, message_id, text=text, media=media,
                                        reply_to=reply_to)
        await self._deliver_to_support(bot, ticket, item, chat_id, message_id, content, outgoing, reply_to=reply_to)

    async def relay_to_merchant(self, bot: Bot, ticket: Ticket, message: Message) -> None:
        reply_to = await self._reply_target(message, ticket.merchant.private_chat)
        text, media = _text_of(message), _media_of(message)
        item = await self.store.enqueue(ticket.id, "to_merchant", message.chat.id, message.message_id,
                                        text=text, media=media, reply_to=reply_to)
        await self._deliver_to_merchant(bot, ticket, item, message.chat.id, message.message_id,
                                        _Outgoing(text, media), reply_to=reply_to)

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
            outgoing = _Outgoing(item.text, item.media, held_card=item.held_card)
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
        card = context_card(ticket, await self.store.transcript(ticket.id, 10), content)
        if reuse is not None:
            try:
                await send_html(bot, self.support_chat_id, card, message_thread_id=reuse)
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
            header = await send_html(bot, self.support_chat_id, card)
            return await self.store.set_topic(ticket.id, None, header.message_id)
        ticket = await self.store.set_topic(ticket.id, topic.message_thread_id, None)
        await send_html(bot, self.support_chat_id, card, message_thread_id=topic.message_thread_id)
        return ticket

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
    """One relayed message as it goes out: copyMessage for what can be copied safely, otherwise a
    new message. Whether it may be copied is decided from the original (`held_card`, computed from
    its text here, or kept in the outbox for a retry), never from the masked text alone: a retried
    relay's stored text already equals its own masked form."""

    def __init__(self, text: str, media: str | None, *, held_card: bool | None = None) -> None:
        self.held_card = bool(held_card) or holds_card_number(text)
        self.text = mask_card_numbers(text)
        self.media = media

    async def send(self, bot: Bot, target: int, chat: int, message_id: int, where: dict[str, Any]
                   ) -> Message | MessageId:
        if self.media is None:
            if self.held_card:
                return await bot.send_message(target, escape(self.text, quote=False), **where)
            return await bot.copy_message(target, chat, message_id, **where)
        if self.media in CAPTIONED:  # always our own caption: the original's may hold a card number
            return await bot.copy_message(target, chat, message_id, caption=escape(self.text, quote=False), **where)
        return await bot.copy_message(target, chat, message_id, **where)  # stickers, video notes: no caption


def _replying(message_id: int | None) -> dict[str, Any]:
    """Send as a reply to `message_id` (still sent if that message was deleted meanwhile)."""
    if message_id is None:
        return {}
    return {"reply_parameters": ReplyParameters(message_id=message_id, allow_sending_without_reply=True)}


def display_name(name: str) -> str:
    """A merchant's Telegram name as staff see it: without bidi controls, which would otherwise
    reverse or reorder the topic title and card around it (a name ending in U+202E turns
    "· 51 · #12" into "21# · 15 ·"), on one line."""
    return " ".join(_BIDI_CONTROLS.sub("", name).split()) or "商户"


def topic_name(ticket: Ticket) -> str:
    """`🟡 name · 51 · #12`, within Telegram's limit: a long name is cut, never the code or the id."""
    what = (ticket.context.code or ticket.context.intent or "人工")[:TOPIC_WHAT_LIMIT]
    head, tail = f"{ticket.status.icon} ", f" · {what} · #{ticket.id}"
    room = TOPIC_NAME_LIMIT - _utf16(head) - _utf16(tail)
    name = display_name(ticket.merchant.name)
    if _utf16(name) > room:
        kept = ""
        for char in name:  # by characters, so an emoji is never split
            if _utf16(kept + char) > room - 1:
                break
            kept += char
        name = kept.rstrip() + "…"
    return head + name + tail


def _utf16(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def context_card(ticket: Ticket, transcript, content: Content) -> str:
    """The first message of a case: who, what the bot understood, what was tried, what they said."""
    context = ticket.context
    lines = [f"<b>工单 #{ticket.id}</b> {ticket.status.icon}",
             f"商户：{escape(display_name(ticket.merchant.name), quote=False)}（id {ticket.merchant.user_id}）",
             f"转人工原因：{TRIGGERS.get(context.trigger, context.trigger)}"]
    if context.intent:
        intent = content.by_id.get(context.intent)
        title = escape(intent.title, quote=False) if intent is not None else context.intent
        score = f"，匹配度 {context.score:.2f}" if context.score is not None else ""
        lines.append(f"机器人理解：{title}（{context.intent}{score}）")
    if context.flow_path:
        steps = []
        for position in context.flow_path:
            flow_id, _, step_id = position.partition("/")
            flow = content.flows_by_id.get(flow_id)
            step = flow.step(step_id) if flow is not None else None
            steps.append(escape(step.text[:40], quote=False) if step is not None else position)
        lines.append("已试过的排查步骤：\n" + "\n".join(f"  {n}. {s}" for n, s in enumerate(steps, 1)))
    if context.detail:
        lines.append(f"商户补充：{escape(context.detail, quote=False)}")
    if context.last_messages:
        lines.append("商户最近说的：\n" + "\n".join(f"  · {escape(m, quote=False)}" for m in context.last_messages))
    lines.append("在本话题里直接回复即转给商户。命令：/close 结束  /reopen 重开  /note 内部备注  /info 工单信息")
    return "\n".join(lines)


TRIGGERS = {"button": "商户点了“转人工”", "command": "商户发了 /human", "words": "商户要求人工/客服/投诉",
            "escalate": "排查流程走到“转人工”", "not_helped": "排查后仍未解决", "fallbacks": "连续两次没看懂商户的问题",
            "media": "商户发来图片/语音"}


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
