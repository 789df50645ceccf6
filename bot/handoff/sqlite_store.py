"""Tickets, transcripts, relay links and the relay outbox in the shared embedded SQLite file."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.core.slots import mask_card_numbers
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
from bot.storage.sqlite import connect

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
)

_TICKET_COLUMNS = ("id, user_id, chat_id, name, status, context, topic_id, header_message_id, "
                   "created_at, updated_at, rating")

# Every change moves updated_at forward, even two changes within the clock's resolution.
_TOUCH = "updated_at = MAX(?, updated_at + 0.000001)"


class SQLiteTicketStore:
    """The TicketStore (bot.handoff.store) in an embedded SQLite file (data/posbot.sqlite3 by default).

    One connection is shared by the threads asyncio.to_thread runs us on, so every public method
    holds a lock; writes that take several statements also run in a BEGIN IMMEDIATE transaction so
    other processes on the same file see all of them or none.
    """

    def __init__(self, path: Path | str) -> None:
        self._db = connect(path, "tickets", MIGRATIONS)
        self._lock = threading.Lock()

    # ---- tickets -----------------------------------------------------------------------------

    def open_ticket(self, merchant: Merchant, context: CaseContext) -> tuple[Ticket, bool]:
        """The merchant's open ticket (its context left as it was), or a new one with this context."""
        with self._lock:
            while True:
                try:
                    with self._transaction():
                        existing = self._open_for(merchant.user_id)
                        if existing is not None:
                            return existing, False
                        now = time.time()
                        cursor = self._db.execute(
                            "INSERT INTO tickets (user_id, chat_id, name, status, context, created_at, updated_at)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (merchant.user_id, merchant.chat_id, mask_card_numbers(merchant.name),
                             Status.OPEN.value, _context_json(context), now, now))
                        ticket = self._get(_rowid(cursor))
                        assert ticket is not None
                        return ticket, True
                except sqlite3.IntegrityError:
                    # Another writer opened one first (tickets_one_open); theirs is the ticket.
                    # Loop in case it was closed again before we could read it.
                    existing = self._open_for(merchant.user_id)
                    if existing is not None:
                        return existing, False

    def get(self, ticket_id: int) -> Ticket | None:
        with self._lock:
            return self._get(ticket_id)

    def open_for(self, user_id: int) -> Ticket | None:
        with self._lock:
            return self._open_for(user_id)

    def latest_for(self, user_id: int) -> Ticket | None:
        with self._lock:
            return self._one("WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT 1", (user_id,))

    def by_topic(self, topic_id: int) -> Ticket | None:
        """The newest ticket using this forum topic (header messages: see by_header)."""
        with self._lock:
            return self._one("WHERE topic_id = ? ORDER BY id DESC LIMIT 1", (topic_id,))

    def by_header(self, header_message_id: int) -> Ticket | None:
        with self._lock:
            return self._one("WHERE header_message_id = ? ORDER BY id DESC LIMIT 1", (header_message_id,))

    def set_topic(self, ticket_id: int, topic_id: int | None, header_message_id: int | None) -> Ticket:
        return self._update(ticket_id, "topic_id = ?, header_message_id = ?", (topic_id, header_message_id))

    def set_status(self, ticket_id: int, status: Status) -> Ticket:
        """Raises ValueError when reopening would give the merchant a second ticket that is not closed."""
        try:
            return self._update(ticket_id, "status = ?", (Status(status).value,))
        except sqlite3.IntegrityError as error:
            raise ValueError(f"ticket {ticket_id}: the merchant already has a ticket that is not closed") from error

    def rate(self, ticket_id: int, rating: int) -> Ticket:
        if rating not in (0, 1):
            raise ValueError(f"rating must be 0 or 1, not {rating!r}")
        return self._update(ticket_id, "rating = ?", (rating,))

    def active(self) -> Sequence[Ticket]:
        with self._lock:
            return self._many("WHERE status != 'closed' ORDER BY created_at, id", ())

    # ---- transcript and relays ---------------------------------------------------------------

    def add_transcript(self, ticket_id: int, author: Author, text: str, media: str | None = None) -> None:
        with self._lock:
            self._require(ticket_id)
            self._db.execute("INSERT INTO transcript (ticket_id, at, author, text, media) VALUES (?, ?, ?, ?, ?)",
                             (ticket_id, time.time(), author, mask_card_numbers(text), media))

    def transcript(self, ticket_id: int, limit: int = 20) -> Sequence[TranscriptEntry]:
        if limit <= 0:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT at, author, text, media FROM transcript WHERE ticket_id = ? ORDER BY rowid DESC LIMIT ?",
                (ticket_id, limit)).fetchall()
        return [TranscriptEntry(at, author, text, media) for at, author, text, media in reversed(rows)]

    def link(self, ticket_id: int, source_chat: int, source_message: int, copy_chat: int, copy_message: int) -> None:
        with self._lock:
            self._require(ticket_id)
            self._db.execute(
                "INSERT INTO relays (ticket_id, source_chat, source_message, copy_chat, copy_message)"
                " VALUES (?, ?, ?, ?, ?)", (ticket_id, source_chat, source_message, copy_chat, copy_message))

    def counterpart(self, chat_id: int, message_id: int) -> tuple[int, int] | None:
        """The newest copy of an original, else the original of a copy."""
        with self._lock:
            row = self._db.execute(
                "SELECT copy_chat, copy_message FROM relays WHERE source_chat = ? AND source_message = ?"
                " ORDER BY rowid DESC LIMIT 1", (chat_id, message_id)).fetchone()
            if row is None:
                row = self._db.execute(
                    "SELECT source_chat, source_message FROM relays WHERE copy_chat = ? AND copy_message = ?"
                    " ORDER BY rowid DESC LIMIT 1", (chat_id, message_id)).fetchone()
        return (row[0], row[1]) if row else None

    def ticket_of_message(self, chat_id: int, message_id: int) -> int | None:
        """The ticket a relayed message (original or copy) belongs to."""
        with self._lock:
            row = self._db.execute(
                "SELECT ticket_id FROM relays WHERE (source_chat = ? AND source_message = ?)"
                " OR (copy_chat = ? AND copy_message = ?) ORDER BY rowid DESC LIMIT 1",
                (chat_id, message_id, chat_id, message_id)).fetchone()
        return row[0] if row else None

    # ---- outbox ------------------------------------------------------------------------------

    def enqueue(self, ticket_id: int, direction: Direction, source_chat: int, source_message: int, *,
                text: str = "", media: str | None = None) -> int:
        with self._lock:
            self._require(ticket_id)
            cursor = self._db.execute(
                "INSERT INTO outbox (ticket_id, direction, source_chat, source_message, text, media, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ticket_id, direction, source_chat, source_message, mask_card_numbers(text), media, time.time()))
            return _rowid(cursor)

    def pending(self) -> Sequence[OutboxItem]:
        """Relays not yet delivered nor given up, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, ticket_id, direction, source_chat, source_message, attempts, last_error, text, media"
                " FROM outbox"
                " WHERE status = 'pending' ORDER BY id").fetchall()
        return [OutboxItem(*row) for row in rows]

    def delivered(self, item_id: int) -> None:
        self._outbox_update(item_id, "status = 'done', attempts = attempts + 1", ())

    def attempt_failed(self, item_id: int, error: str, *, give_up: bool) -> None:
        """Counts the attempt; give_up takes the item out of pending() for good."""
        self._outbox_update(item_id, "attempts = attempts + 1, last_error = ?, status = ?",
                            (mask_card_numbers(error), "failed" if give_up else "pending"))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- helpers (callers hold the lock) -------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _update(self, ticket_id: int, assignments: str, values: tuple[Any, ...]) -> Ticket:
        """One UPDATE plus reading the row back, atomically; KeyError for an unknown ticket."""
        with self._lock, self._transaction():
            cursor = self._db.execute(f"UPDATE tickets SET {assignments}, {_TOUCH} WHERE id = ?",
                                      (*values, time.time(), ticket_id))
            if cursor.rowcount == 0:
                raise KeyError(ticket_id)
            ticket = self._get(ticket_id)
            assert ticket is not None
            return ticket

    def _outbox_update(self, item_id: int, assignments: str, values: tuple[Any, ...]) -> None:
        with self._lock:
            cursor = self._db.execute(f"UPDATE outbox SET {assignments} WHERE id = ?", (*values, item_id))
            if cursor.rowcount == 0:
                raise KeyError(item_id)

    def _require(self, ticket_id: int) -> None:
        if self._db.execute("SELECT 1 FROM tickets WHERE id = ?", (ticket_id,)).fetchone() is None:
            raise KeyError(ticket_id)

    def _get(self, ticket_id: int) -> Ticket | None:
        return self._one("WHERE id = ?", (ticket_id,))

    def _open_for(self, user_id: int) -> Ticket | None:
        return self._one("WHERE user_id = ? AND status != 'closed'", (user_id,))

    def _one(self, where: str, values: tuple[Any, ...]) -> Ticket | None:
        row = self._db.execute(f"SELECT {_TICKET_COLUMNS} FROM tickets {where}", values).fetchone()
        return _ticket(row) if row else None

    def _many(self, where: str, values: tuple[Any, ...]) -> list[Ticket]:
        return [_ticket(row) for row in self._db.execute(f"SELECT {_TICKET_COLUMNS} FROM tickets {where}", values)]


def _rowid(cursor: sqlite3.Cursor) -> int:
    assert cursor.lastrowid is not None
    return cursor.lastrowid


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
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items() if key in known}
    return CaseContext(**values)


def _ticket(row: tuple[Any, ...]) -> Ticket:
    (ticket_id, user_id, chat_id, name, status, context, topic_id, header_message_id,
     created_at, updated_at, rating) = row
    return Ticket(id=ticket_id, merchant=Merchant(user_id, chat_id, name), status=Status(status),
                  context=_context(context), topic_id=topic_id, header_message_id=header_message_id,
                  created_at=created_at, updated_at=updated_at, rating=rating)
