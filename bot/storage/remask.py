"""Mask again what is already stored, whenever the card masker learns more (bot.core.cards).

Every record that holds merchant text was masked when it was written, by the masker of that day.
When the masker improves (MASKER_VERSION goes up), the next start runs every such column through it
once: tickets (name, context), transcripts, the relay outbox, the question log and the questions
ignored for good, and conversation state kept in the database. It is recorded like a migration (in
`schema_versions`, as the store "card_masks"), runs in one transaction, and workers starting together
are serialised, as migrations are.

Conversation state kept on Redis is not rewritten here: it is masked again whenever it is read
(`DialogState.from_dict`) and rewritten with the merchant's next message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.core.cards import mask_card_numbers
from bot.storage.db import Database, Session, translate

MASKER_VERSION = 1
"""Raise this whenever bot.core.cards masks something it did not before."""
STORE = "card_masks"
BATCH = 500


def _mask_json(text: str) -> str:
    """Every string inside a JSON document masked (conversation state, a ticket's context)."""
    def masked(value: Any) -> Any:
        if isinstance(value, str):
            return mask_card_numbers(value)
        if isinstance(value, list):
            return [masked(item) for item in value]
        if isinstance(value, dict):
            return {key: masked(item) for key, item in value.items()}
        return value
    try:
        data = json.loads(text)
    except ValueError:
        return mask_card_numbers(text)
    again = masked(data)
    return text if again == data else json.dumps(again, ensure_ascii=False)


COLUMNS: tuple[tuple[str, str, tuple[tuple[str, Callable[[str], str]], ...]], ...] = (
    ("tickets", "id", (("name", mask_card_numbers), ("context", _mask_json), ("claimed_name", mask_card_numbers))),
    ("transcript", "rowid", (("text", mask_card_numbers),)),
    ("outbox", "id", (("text", mask_card_numbers), ("last_error", mask_card_numbers), ("label", mask_card_numbers))),
    ("banned_chats", "chat_id", (("name", mask_card_numbers), ("reason", mask_card_numbers))),
    ("questions", "id", (("question", mask_card_numbers),)),
    ("fsm", "key", (("data", _mask_json),)),
)
"""(table, key column, (column, how it is masked)...) of every record holding merchant text;
ignored_questions is done apart (its text is its key)."""


async def remask_stored(db: Database) -> dict[str, int]:
    """Mask every stored text again if the masker changed since the last run; rows changed per table."""
    async with db.transaction() as session:
        if db.dialect == "postgresql":
            await session.execute("SELECT pg_advisory_xact_lock(7215)")  # the same lock as migrations
        await session.execute(translate(db.dialect, "CREATE TABLE IF NOT EXISTS schema_versions"
                                                    " (store TEXT PRIMARY KEY, version INTEGER NOT NULL)"))
        row = await session.fetchone("SELECT version FROM schema_versions WHERE store = ?", (STORE,))
        if row is not None and row[0] >= MASKER_VERSION:
            return {}
        changed: dict[str, int] = {}
        for table, key, columns in COLUMNS:
            if await _exists(session, db.dialect, table):
                changed[table] = await _remask_table(session, table, key, columns)
        if await _exists(session, db.dialect, "ignored_questions"):
            changed["ignored_questions"] = await _remask_ignored(session)
        await session.execute("INSERT INTO schema_versions (store, version) VALUES (?, ?)"
                              " ON CONFLICT (store) DO UPDATE SET version = excluded.version", (STORE, MASKER_VERSION))
    return changed


async def _exists(session: Session, dialect: str, table: str) -> bool:
    if dialect == "postgresql":
        row = await session.fetchone("SELECT to_regclass(?) IS NOT NULL", (table,))
        return bool(row and row[0])
    return await session.fetchone("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)) is not None


async def _remask_table(session: Session, table: str, key: str,
                        columns: tuple[tuple[str, Callable[[str], str]], ...]) -> int:
    """In batches by key, so a large question log is never read into memory at once."""
    names = ", ".join(name for name, _ in columns)
    changed, last = 0, None
    while True:
        where = f"WHERE {key} > ? " if last is not None else ""
        rows = await session.fetchall(f"SELECT {key}, {names} FROM {table} {where}ORDER BY {key} LIMIT {BATCH}",
                                      (last,) if last is not None else ())
        if not rows:
            return changed
        for row_key, *values in rows:
            masked = [value if value is None else mask(value) for value, (_, mask) in zip(values, columns, strict=True)]
            if masked != values:
                assignments = ", ".join(f"{name} = ?" for name, _ in columns)
                if table == "outbox":  # its original held a card number: never copy it
                    assignments += ", held_card = 1"
                await session.execute(f"UPDATE {table} SET {assignments} WHERE {key} = ?", (*masked, row_key))
                changed += 1
        last = rows[-1][0]


async def _remask_ignored(session: Session) -> int:
    changed = 0
    for question, at in await session.fetchall("SELECT question, at FROM ignored_questions"):
        masked = mask_card_numbers(question)
        if masked == question:
            continue
        await session.execute("DELETE FROM ignored_questions WHERE question = ?", (question,))
        await session.execute("INSERT INTO ignored_questions (question, at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                              (masked, at))
        changed += 1
    return changed
