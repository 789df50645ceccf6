"""Tickets, transcripts, relay links and the relay outbox in the shared database (SQLite or PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from typing import Any

from bot.core.cards import holds_card_number, mask_card_numbers
from bot.handoff.models import (
    Author,
    CaseContext,
    Direction,
    Merchant,
    OutboxItem,
    Status,
    Ticket,
    TranscriptEntry,
)
from bot.storage.db import Conflict, Session, SQLStore

MIGRATIONS = (
    """
    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('open', 'waiting_support', 'waiting_merchant', 'closed')),
        context TEXT NOT NULL DEFAULT '{}',      -- CaseContext as JSON
        topic_id INTEGER,
        header_message_id INTEGER,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        rating INTEGER                           -- 1, 0 or NULL
    );
    -- At most one ticket per merchant that is not closed, whoever writes to the file.
    CREATE UNIQUE INDEX tickets_one_open ON tickets (user_id) WHERE status != 'closed';
    CREATE INDEX tickets_user ON tickets (user_id, created_at);
    CREATE INDEX tickets_topic ON tickets (topic_id);
    CREATE INDEX tickets_header ON tickets (header_message_id);

    CREATE TABLE transcript (
        ticket_id INTEGER NOT NULL REFERENCES tickets (id),
        at REAL NOT NULL,
        author TEXT NOT NULL,
        text TEXT NOT NULL,
        media TEXT
    );
    CREATE INDEX transcript_ticket ON transcript (ticket_id);

    CREATE TABLE relays (
        ticket_id INTEGER NOT NULL REFERENCES tickets (id),
        source_chat INTEGER NOT NULL,
        source_message INTEGER NOT NULL,
        copy_chat INTEGER NOT NULL,
        copy_message INTEGER NOT NULL
    );
    CREATE INDEX relays_source ON relays (source_chat, source_message);
    CREATE INDEX relays_copy ON relays (copy_chat, copy_message);

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets (id),
        direction TEXT NOT NULL CHECK (direction IN ('to_support', 'to_merchant')),
        source_chat INTEGER NOT NULL,
        source_message INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        media TEXT,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
        created_at REAL NOT NULL
    );
    CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending';
    """,
    # Who is delivering an item right now: the worker that wrote it down, or the one that claimed it
    # for a retry. NULL after a failed attempt: free for any worker's next retry round.
    """
    ALTER TABLE outbox ADD COLUMN claimed_at REAL;
    """,
    # The message in the target chat the copy answers (a reply on one side stays a reply on the other).
    """
    ALTER TABLE outbox ADD COLUMN reply_to INTEGER;
    """,
    # Whether the original held a card number, decided when it was written down: such a message is
    # never copied. What is still pending from before is not known to be safe, so it is not copied either.
    """
    ALTER TABLE outbox ADD COLUMN held_card INTEGER NOT NULL DEFAULT 0;
    UPDATE outbox SET held_card = 1 WHERE status = 'pending';
    """,
    # Cases are opened only from private chats; one an older release opened from a group belongs to
    # the merchant's private chat (whose id is the user's) like any other.
    """
    UPDATE tickets SET chat_id = user_id WHERE chat_id != user_id;
    """,
    # The helpdesk: who took the case, since when it waits for staff, whether the group was
    # reminded; and the label a relayed message carries (kept for a retry after a restart).
    """
    ALTER TABLE tickets ADD COLUMN claimed_by INTEGER;
    ALTER TABLE tickets ADD COLUMN claimed_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE tickets ADD COLUMN waiting_since REAL;
    ALTER TABLE tickets ADD COLUMN reminded_at REAL;
    UPDATE tickets SET waiting_since = updated_at WHERE status IN ('open', 'waiting_support');
    CREATE INDEX tickets_waiting ON tickets (waiting_since) WHERE reminded_at IS NULL;
    ALTER TABLE outbox ADD COLUMN label TEXT NOT NULL DEFAULT '';
    """,
)

CLAIM_SECONDS = 60.0
"""An item claimed longer ago than this is taken to belong to a worker that died while delivering it."""

_TICKET_COLUMNS = ("id, user_id, chat_id, name, status, context, topic_id, header_message_id, "
                   "created_at, updated_at, rating, claimed_by, claimed_name, waiting_since, reminded_at")
_WAITING = "('open', 'waiting_support')"
"""The statuses in which a case waits for staff."""

_OUTBOX_COLUMNS = ("id, ticket_id, direction, source_chat, source_message, attempts, last_error, text, media,"
                   " reply_to, held_card, label")

# Every change moves updated_at forward, even two changes within the clock's resolution.
_TOUCH = "updated_at = CASE WHEN ? > updated_at + 0.000001 THEN ? ELSE updated_at + 0.000001 END"


class SQLTicketStore(SQLStore):
    """The TicketStore (bot.handoff.store) in the shared database (bot.storage.db).

    Writes that take several statements run in one transaction, so other workers see all of them or
    none; the unique index tickets_one_open keeps one ticket per merchant open, whoever writes.
    """

    STORE = "tickets"
    MIGRATIONS = MIGRATIONS

    # ---- tickets -----------------------------------------------------------------------------

    async def open_ticket(self, merchant: Merchant, context: CaseContext) -> tuple[Ticket, bool]:
        """The merchant's open ticket (its context left as it was), or a new one with this context."""
        while True:
            try:
                async with self._db.transaction() as session:
                    existing = await _one(session, "WHERE user_id = ? AND status != 'closed'", (merchant.user_id,))
                    if existing is not None:
                        return existing, False
                    now = time.time()
                    row = await session.fetchone(
                        f"INSERT INTO tickets (user_id, chat_id, name, status, context, created_at, updated_at,"
                        f" waiting_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_TICKET_COLUMNS}",
                        (merchant.user_id, merchant.chat_id, mask_card_numbers(merchant.name),
                         Status.OPEN.value, _context_json(context), now, now, now))
                    assert row is not None
                    return _ticket(row), True
            except Conflict:
                # Another writer opened one first (tickets_one_open); theirs is the ticket.
                # Loop in case it was closed again before we could read it.
                existing = await self.open_for(merchant.user_id)
                if existing is not None:
                    return existing, False

    async def get(self, ticket_id: int) -> Ticket | None:
        return await _one(self._db, "WHERE id = ?", (ticket_id,))

    async def open_for(self, user_id: int) -> Ticket | None:
        return await _one(self._db, "WHERE user_id = ? AND status != 'closed'", (user_id,))

    async def latest_for(self, user_id: int) -> Ticket | None:
        return await _one(self._db, "WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT 1", (user_id,))

    async def by_topic(self, topic_id: int) -> Ticket | None:
        """The newest ticket using this forum topic (header messages: see by_header)."""
        return await _one(self._db, "WHERE topic_id = ? ORDER BY id DESC LIMIT 1", (topic_id,))

    async def by_header(self, header_message_id: int) -> Ticket | None:
        return await _one(self._db, "WHERE header_message_id = ? ORDER BY id DESC LIMIT 1", (header_message_id,))

    async def set_topic(self, ticket_id: int, topic_id: int | None, header_message_id: int | None) -> Ticket:
        return await self._update(ticket_id, "topic_id = ?, header_message_id = ?", (topic_id, header_message_id))

    async def set_status(self, ticket_id: int, status: Status) -> Ticket:
        """Raises ValueError when reopening would give the merchant a second ticket that is not closed."""
        value = Status(status).value
        # waiting_since keeps the start of a wait through several merchant messages in a row
        waiting = f"waiting_since = CASE WHEN ? IN {_WAITING} THEN COALESCE(waiting_since, ?) ELSE NULL END"
        try:
            return await self._update(ticket_id, f"status = ?, {waiting}", (value, value, time.time()))
        except Conflict as error:
            raise ValueError(f"ticket {ticket_id}: the merchant already has a ticket that is not closed") from error

    async def rate(self, ticket_id: int, rating: int) -> Ticket:
        if rating not in (0, 1):
            raise ValueError(f"rating must be 0 or 1, not {rating!r}")
        return await self._update(ticket_id, "rating = ?", (rating,))

    async def claim_ticket(self, ticket_id: int, user_id: int, name: str) -> Ticket:
        """The case taken by this staff member, unless someone else already has it: the ticket as
        it now is either way (its claimed_by tells who has it). One UPDATE, so two taps at once
        never both win."""
        row = await self._db.fetchone(
            f"UPDATE tickets SET claimed_by = ?, claimed_name = ? WHERE id = ? AND (claimed_by IS NULL"
            f" OR claimed_by = ?) RETURNING {_TICKET_COLUMNS}", (user_id, mask_card_numbers(name)[:64], ticket_id,
                                                                 user_id))
        return _ticket(row) if row is not None else await self._existing(ticket_id)

    async def unclaim_ticket(self, ticket_id: int, user_id: int) -> Ticket:
        """Given back by the staff member who had it (anyone else's unclaim changes nothing)."""
        row = await self._db.fetchone(
            f"UPDATE tickets SET claimed_by = NULL, claimed_name = '' WHERE id = ? AND claimed_by = ?"
            f" RETURNING {_TICKET_COLUMNS}", (ticket_id, user_id))
        return _ticket(row) if row is not None else await self._existing(ticket_id)

    async def due_reminders(self, waiting_before: float) -> Sequence[Ticket]:
        """Cases waiting for staff since before `waiting_before` whose group was never reminded."""
        rows = await self._db.fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE status IN {_WAITING} AND reminded_at IS NULL"
            " AND waiting_since IS NOT NULL AND waiting_since <= ? ORDER BY waiting_since, id", (waiting_before,))
        return [_ticket(row) for row in rows]

    async def mark_reminded(self, ticket_id: int) -> bool:
        """True for exactly one caller per ticket, whichever worker asks first: that one reminds."""
        return await self._db.execute("UPDATE tickets SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL",
                                      (time.time(), ticket_id)) == 1

    async def _existing(self, ticket_id: int) -> Ticket:
        ticket = await self.get(ticket_id)
        if ticket is None:
            raise KeyError(ticket_id)
        return ticket

    async def active(self) -> Sequence[Ticket]:
        rows = await self._db.fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE status != 'closed' ORDER BY created_at, id")
        return [_ticket(row) for row in rows]

    # ---- transcript and relays ---------------------------------------------------------------

    async def add_transcript(self, ticket_id: int, author: Author, text: str, media: str | None = None) -> None:
        async with self._db.transaction() as session:
            await _require(session, ticket_id)
            await session.execute("INSERT INTO transcript (ticket_id, at, author, text, media) VALUES (?, ?, ?, ?, ?)",
                                  (ticket_id, time.time(), author, mask_card_numbers(text), media))

    async def transcript(self, ticket_id: int, limit: int = 20) -> Sequence[TranscriptEntry]:
        if limit <= 0:
            return []
        rows = await self._db.fetchall(
            "SELECT at, author, text, media FROM transcript WHERE ticket_id = ? ORDER BY rowid DESC LIMIT ?",
            (ticket_id, limit))
        return [TranscriptEntry(at, author, text, media) for at, author, text, media in reversed(rows)]

    async def link(self, ticket_id: int, source_chat: int, source_message: int, copy_chat: int,
                   copy_message: int) -> None:
        async with self._db.transaction() as session:
            await _require(session, ticket_id)
            await session.execute(
                "INSERT INTO relays (ticket_id, source_chat, source_message, copy_chat, copy_message)"
                " VALUES (?, ?, ?, ?, ?)", (ticket_id, source_chat, source_message, copy_chat, copy_message))

    async def counterpart(self, chat_id: int, message_id: int) -> tuple[int, int] | None:
        """The newest copy of an original, else the original of a copy."""
        row = await self._db.fetchone(
            "SELECT copy_chat, copy_message FROM relays WHERE source_chat = ? AND source_message = ?"
            " ORDER BY rowid DESC LIMIT 1", (chat_id, message_id))
        if row is None:
            row = await self._db.fetchone(
                "SELECT source_chat, source_message FROM relays WHERE copy_chat = ? AND copy_message = ?"
                " ORDER BY rowid DESC LIMIT 1", (chat_id, message_id))
        return (row[0], row[1]) if row else None

    async def ticket_of_message(self, chat_id: int, message_id: int) -> int | None:
        """The ticket a relayed message (original or copy) belongs to."""
        row = await self._db.fetchone(
            "SELECT ticket_id FROM relays WHERE (source_chat = ? AND source_message = ?)"
            " OR (copy_chat = ? AND copy_message = ?) ORDER BY rowid DESC LIMIT 1",
            (chat_id, message_id, chat_id, message_id))
        return row[0] if row else None

    async def delivered_relay(self, item_id: int, ticket_id: int, author: Author, text: str, media: str | None,
                              source: tuple[int, int], copy: tuple[int, int]) -> None:
        """A relay went through: the message pair, its transcript line and the outbox item, all at once."""
        async with self._db.transaction() as session:
            await _require(session, ticket_id)
            await session.execute(
                "INSERT INTO relays (ticket_id, source_chat, source_message, copy_chat, copy_message)"
                " VALUES (?, ?, ?, ?, ?)", (ticket_id, *source, *copy))
            await session.execute("INSERT INTO transcript (ticket_id, at, author, text, media) VALUES (?, ?, ?, ?, ?)",
                                  (ticket_id, time.time(), author, mask_card_numbers(text), media))
            if await session.execute("UPDATE outbox SET status = 'done', attempts = attempts + 1 WHERE id = ?",
                                     (item_id,)) == 0:
                raise KeyError(item_id)

    # ---- outbox ------------------------------------------------------------------------------

    async def enqueue(self, ticket_id: int, direction: Direction, source_chat: int, source_message: int, *,
                      text: str = "", media: str | None = None, reply_to: int | None = None, label: str = "") -> int:
        async with self._db.transaction() as session:
            await _require(session, ticket_id)
            now = time.time()
            row = await session.fetchone(
                "INSERT INTO outbox (ticket_id, direction, source_chat, source_message, text, media, created_at,"
                " claimed_at, reply_to, held_card, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (ticket_id, direction, source_chat, source_message, mask_card_numbers(text), media, now, now,
                 reply_to, int(holds_card_number(text)), mask_card_numbers(label)))
        assert row is not None
        return int(row[0])

    async def pending(self) -> Sequence[OutboxItem]:
        """Relays not yet delivered nor given up, oldest first."""
        rows = await self._db.fetchall(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending' ORDER BY id")
        return [_outbox_item(row) for row in rows]

    async def claim(self, *, stale_after: float = CLAIM_SECONDS) -> Sequence[OutboxItem]:
        """Pending relays nobody is delivering (a failed attempt, or a claim older than `stale_after`),
        now claimed by the caller, oldest first. One UPDATE, so two workers never claim the same item."""
        now = time.time()
        rows = await self._db.fetchall(
            "UPDATE outbox SET claimed_at = ? WHERE status = 'pending' AND (claimed_at IS NULL OR claimed_at < ?)"
            f" RETURNING {_OUTBOX_COLUMNS}",
            (now, now - stale_after))
        return sorted((_outbox_item(row) for row in rows), key=lambda item: item.id)

    async def delivered(self, item_id: int) -> None:
        await self._outbox_update(item_id, "status = 'done', attempts = attempts + 1", ())

    async def attempt_failed(self, item_id: int, error: str, *, give_up: bool) -> None:
        """Counts the attempt; give_up takes the item out of pending() for good."""
        await self._outbox_update(item_id, "attempts = attempts + 1, last_error = ?, status = ?, claimed_at = NULL",
                                  (mask_card_numbers(error), "failed" if give_up else "pending"))

    # ---- helpers -----------------------------------------------------------------------------

    async def _update(self, ticket_id: int, assignments: str, values: tuple[Any, ...]) -> Ticket:
        """One UPDATE returning the row; KeyError for an unknown ticket."""
        now = time.time()
        row = await self._db.fetchone(
            f"UPDATE tickets SET {assignments}, {_TOUCH} WHERE id = ? RETURNING {_TICKET_COLUMNS}",
            (*values, now, now, ticket_id))
        if row is None:
            raise KeyError(ticket_id)
        return _ticket(row)

    async def _outbox_update(self, item_id: int, assignments: str, values: tuple[Any, ...]) -> None:
        if await self._db.execute(f"UPDATE outbox SET {assignments} WHERE id = ?", (*values, item_id)) == 0:
            raise KeyError(item_id)


async def _require(session: Session, ticket_id: int) -> None:
    if await session.fetchone("SELECT 1 FROM tickets WHERE id = ?", (ticket_id,)) is None:
        raise KeyError(ticket_id)


async def _one(session: Session, where: str, values: tuple[Any, ...]) -> Ticket | None:
    row = await session.fetchone(f"SELECT {_TICKET_COLUMNS} FROM tickets {where}", values)
    return _ticket(row) if row else None


def _context_json(context: CaseContext) -> str:
    """CaseContext as JSON, every text in it masked (detail and last_messages hold what the merchant typed)."""
    def masked(value: Any) -> Any:
        if isinstance(value, str):
            return mask_card_numbers(value)
        if isinstance(value, (list, tuple)):
            return [masked(item) for item in value]
        return value
    return json.dumps({key: masked(value) for key, value in dataclasses.asdict(context).items()},
                      ensure_ascii=False)


def _context(text: str) -> CaseContext:
    """Back into the frozen dataclass: lists become tuples again, unknown keys are ignored."""
    data = json.loads(text)
    known = {field.name for field in dataclasses.fields(CaseContext)}
    values: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items() if key in known}
    return CaseContext(**values)


def _outbox_item(row: tuple[Any, ...]) -> OutboxItem:
    (item_id, ticket_id, direction, source_chat, source_message, attempts, last_error, text, media, reply_to,
     held_card, label) = row
    return OutboxItem(item_id, ticket_id, direction, source_chat, source_message, attempts, last_error, text, media,
                      reply_to, held_card=bool(held_card), label=label)


def _ticket(row: tuple[Any, ...]) -> Ticket:
    (ticket_id, user_id, chat_id, name, status, context, topic_id, header_message_id,
     created_at, updated_at, rating, claimed_by, claimed_name, waiting_since, reminded_at) = row
    return Ticket(id=ticket_id, merchant=Merchant(user_id, chat_id, name), status=Status(status),
                  context=_context(context), topic_id=topic_id, header_message_id=header_message_id,
                  created_at=created_at, updated_at=updated_at, rating=rating, claimed_by=claimed_by,
                  claimed_name=claimed_name, waiting_since=waiting_since, reminded_at=reminded_at)
