"""The ticket store interface; sql_store.py implements it on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from typing import Protocol, Sequence

from bot.handoff.models import (Author, CaseContext, Direction, Merchant, OutboxItem, Status, Ticket,
                                TranscriptEntry)


class TicketStore(Protocol):
    async def open_ticket(self, merchant: Merchant, context: CaseContext) -> tuple[Ticket, bool]:
        """The merchant's open (not closed) ticket, or a new one; True when newly created.
        At most one ticket per merchant is ever not closed, even with concurrent callers."""

    async def get(self, ticket_id: int) -> Ticket | None: ...

    async def open_for(self, user_id: int) -> Ticket | None:
        """The merchant's ticket that is not closed, if any."""

    async def latest_for(self, user_id: int) -> Ticket | None:
        """The merchant's most recent ticket, closed or not (for /reopen and ratings)."""

    async def by_topic(self, topic_id: int) -> Ticket | None:
        """The ticket whose forum topic this is."""

    async def by_header(self, header_message_id: int) -> Ticket | None: ...

    async def set_topic(self, ticket_id: int, topic_id: int | None, header_message_id: int | None) -> Ticket: ...

    async def set_status(self, ticket_id: int, status: Status) -> Ticket: ...

    async def rate(self, ticket_id: int, rating: int) -> Ticket: ...

    async def add_transcript(self, ticket_id: int, author: Author, text: str, media: str | None = None) -> None:
        """Text is masked on the way in (bot.core.cards.mask_card_numbers)."""

    async def transcript(self, ticket_id: int, limit: int = 20) -> Sequence[TranscriptEntry]:
        """The last `limit` entries, oldest first."""

    async def link(self, ticket_id: int, source_chat: int, source_message: int, copy_chat: int, copy_message: int) -> None:
        """Remember that a relayed message has a copy (both directions are looked up)."""

    async def counterpart(self, chat_id: int, message_id: int) -> tuple[int, int] | None:
        """The other side of a relayed message: (chat, message) of its copy or its original."""

    async def ticket_of_message(self, chat_id: int, message_id: int) -> int | None:
        """The ticket a relayed message (original or copy) belongs to."""

    async def delivered_relay(self, item_id: int, ticket_id: int, author: Author, text: str, media: str | None,
                              source: tuple[int, int], copy: tuple[int, int]) -> None:
        """A relay went through: link the pair, add the transcript line, mark the item done, at once."""

    async def enqueue(self, ticket_id: int, direction: Direction, source_chat: int, source_message: int, *,
                      text: str = "", media: str | None = None, reply_to: int | None = None, label: str = "") -> int:
        """Write a relay down before attempting it. `text` is the original's text or caption: it is
        stored masked, and whether it held a card number is kept with it (OutboxItem.held_card);
        `reply_to`, the message in the target chat the copy should answer."""

    async def pending(self) -> Sequence[OutboxItem]: ...

    async def claim(self, *, stale_after: float = 60.0) -> Sequence[OutboxItem]:
        """Pending relays no worker is delivering, claimed by the caller (never by two callers)."""

    async def delivered(self, item_id: int) -> None: ...

    async def attempt_failed(self, item_id: int, error: str, *, give_up: bool) -> None: ...

    async def claim_ticket(self, ticket_id: int, user_id: int, name: str) -> Ticket:
        """Taken by this staff member unless someone else has it; the ticket as it now is."""

    async def unclaim_ticket(self, ticket_id: int, user_id: int) -> Ticket:
        """Given back by the staff member who had it; anyone else's unclaim changes nothing."""

    async def due_reminders(self, waiting_before: float) -> Sequence[Ticket]:
        """Cases waiting for staff since before `waiting_before`, the group never reminded of them."""

    async def mark_reminded(self, ticket_id: int) -> bool:
        """True for exactly one caller per ticket (the one that sends the reminder)."""

    async def active(self) -> Sequence[Ticket]:
        """Tickets not closed, oldest first (for /tickets)."""
