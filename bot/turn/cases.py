"""What the turn needs to know about a merchant's case with human support."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.handoff.models import Status
from bot.handoff.store import TicketStore

TRANSCRIPT_LOOKBACK = 500
"""Transcript lines searched for a staff reply; a case that long has long had one."""


@dataclass(frozen=True)
class CaseView:
    """An open case as the turn sees it. `ticket` is the store's Ticket, handed back to the front end
    that relays into it."""

    id: int
    staff_replied: bool
    """Staff are talking with the merchant: posbot stays quiet and only relays."""
    ticket: Any = None


class Cases(Protocol):
    async def latest(self, user: int) -> int | None:
        """The id of the merchant's latest ticket, closed or not (asked once per chat)."""

    async def open_case(self, ticket_id: int) -> CaseView | None:
        """The ticket, if it is not closed."""


class TicketCases:
    """Cases over the ticket store (SQLite or PostgreSQL)."""

    def __init__(self, store: TicketStore) -> None:
        self.store = store

    async def latest(self, user: int) -> int | None:
        ticket = await self.store.latest_for(user)
        return ticket.id if ticket is not None else None

    async def open_case(self, ticket_id: int) -> CaseView | None:
        ticket = await self.store.get(ticket_id)
        if ticket is None or ticket.status is Status.CLOSED:
            return None
        if ticket.status is Status.WAITING_MERCHANT:
            return CaseView(ticket.id, staff_replied=True, ticket=ticket)
        if ticket.status is Status.OPEN:
            return CaseView(ticket.id, staff_replied=False, ticket=ticket)
        entries = await self.store.transcript(ticket.id, TRANSCRIPT_LOOKBACK)
        return CaseView(ticket.id, staff_replied=any(entry.author == "staff" for entry in entries), ticket=ticket)
