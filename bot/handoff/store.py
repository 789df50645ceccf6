"""The ticket store interface; SQLite implementation in sqlite_store.py, server ones later."""

from __future__ import annotations

from typing import Protocol, Sequence

from bot.handoff.models import (Author, CaseContext, Direction, Merchant, OutboxItem, Status, Ticket,
                                TranscriptEntry)


class TicketStore(Protocol):
    def open_ticket(self, merchant: Merchant, context: CaseContext) -> tuple[Ticket, bool]:
        """The merchant's open (not closed) ticket, or a new one; True when newly created.
        At most one ticket per merchant is ever not closed, even with concurrent callers."""

    def get(self, ticket_id: int) -> Ticket | None: ...

    def open_for(self, user_id: int) -> Ticket | None:
        """The merchant's ticket that is not closed, if any."""

    def latest_for(self, user_id: int) -> Ticket | None:
        """The merchant's most recent ticket, closed or not (for /reopen and ratings)."""

    def by_topic(self, topic_id: int) -> Ticket | None:
        """The ticket whose forum topic this is."""

    def by_header(self, header_message_id: int) -> Ticket | None: ...

    def set_topic(self, ticket_id: int, topic_id: int | None, header_message_id: int | None) -> Ticket: ...

    def set_status(self, ticket_id: int, status: Status) -> Ticket: ...

    def rate(self, ticket_id: int, rating: int) -> Ticket: ...

    def add_transcript(self, ticket_id: int, author: Author, text: str, media: str | None = None) -> None:
        """Text must already be masked (bot.core.slots.mask_card_numbers); stores mask again anyway."""

    def transcript(self, ticket_id: int, limit: int = 20) -> Sequence[TranscriptEntry]:
        """The last `limit` entries, oldest first."""

    def link(self, ticket_id: int, source_chat: int, source_message: int, copy_chat: int, copy_message: int) -> None:
        """Remember that a relayed message has a copy (both directions are looked up)."""

    def counterpart(self, chat_id: int, message_id: int) -> tuple[int, int] | None:
        """The other side of a relayed message: (chat, message) of its copy or its original."""

    def ticket_of_message(self, chat_id: int, message_id: int) -> int | None:
        """The ticket a relayed message (original or copy) belongs to."""

    def enqueue(self, ticket_id: int, direction: Direction, source_chat: int, source_message: int, *,
                text: str = "", media: str | None = None) -> int:
        """Write a relay down before attempting it; `text` (masked on the way in) is what decides
        whether the message may be copied as it is."""

    def pending(self) -> Sequence[OutboxItem]: ...

    def delivered(self, item_id: int) -> None: ...

    def attempt_failed(self, item_id: int, error: str, *, give_up: bool) -> None: ...

    def active(self) -> Sequence[Ticket]:
        """Tickets not closed, oldest first (for /tickets)."""
