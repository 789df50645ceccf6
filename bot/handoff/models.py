"""Tickets as values. Every text here has had card numbers masked before it was stored."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal


class Status(str, Enum):
    OPEN = "open"
    """Created; the context card is (being) posted."""
    WAITING_SUPPORT = "waiting_support"
    """The merchant wrote last; staff owe a reply."""
    WAITING_MERCHANT = "waiting_merchant"
    """Staff replied; the merchant owes a reply."""
    CLOSED = "closed"

    @property
    def icon(self) -> str:
        return {"open": "🆕", "waiting_support": "🟡", "waiting_merchant": "🟢", "closed": "✅"}[self.value]


Author = Literal["merchant", "staff", "bot", "note"]
Direction = Literal["to_support", "to_merchant"]


@dataclass(frozen=True)
class Merchant:
    user_id: int
    chat_id: int
    """The chat the case was opened from: always the merchant's private chat."""
    name: str

    @property
    def private_chat(self) -> int:
        """Where everything for the merchant goes: their private chat with the bot, whose id is
        theirs. Never a group, even for a ticket an older release opened from one."""
        return self.user_id


@dataclass(frozen=True)
class CaseContext:
    """What the bot understood before the handoff, shown on the context card."""

    trigger: str
    """button | command | words | escalate | not_helped | fallbacks | media"""
    intent: str | None = None
    code: str | None = None
    score: float | None = None
    flow_path: tuple[str, ...] = ()
    last_messages: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class Ticket:
    id: int
    merchant: Merchant
    status: Status
    context: CaseContext
    topic_id: int | None
    """Forum topic (message_thread_id) in the support group, or None before it exists."""
    header_message_id: int | None
    """Non-forum groups: the header message replies are threaded on."""
    created_at: float
    updated_at: float
    rating: int | None = None
    """1 = 👍, 0 = 👎, None = not rated."""
    claimed_by: int | None = None
    """The staff member who took the case (认领), if anyone did."""
    claimed_name: str = ""
    """How that staff member is shown: their alias or first name."""
    waiting_since: float | None = None
    """Since when the case has waited for staff (open or waiting_support); None while it does not."""
    reminded_at: float | None = None
    """When the group was reminded of the case (once per case)."""

    @property
    def waits_for_staff(self) -> bool:
        return self.status in (Status.OPEN, Status.WAITING_SUPPORT)


@dataclass(frozen=True)
class TranscriptEntry:
    at: float
    author: Author
    text: str
    media: str | None = None
    """photo | document | voice | … when the message carried one."""


@dataclass(frozen=True)
class OutboxItem:
    """A relay written down before it is attempted, so a restart does not lose it."""

    id: int
    ticket_id: int
    direction: Direction
    source_chat: int
    source_message: int
    attempts: int
    last_error: str
    text: str = ""
    """The message's text or caption, masked: a card number in it must not be copied verbatim."""
    media: str | None = None
    reply_to: int | None = None
    """The message in the target chat the copy answers, when the original was a reply to a relayed one."""
    held_card: bool = False
    """The original held a card number: it is never copied, only sent as `text` (or with `text` as
    its caption). Decided from the original when it was written down, so a retry decides the same."""
    label: str = ""
    """Who wrote it, shown above the copy: "张三 · #12" in the group, "客服小王" to the merchant."""
