"""`posbot migrate-data`: copy a SQLite data directory into PostgreSQL, once, all or nothing.

Every store's tables are created (migrated) on both sides first, so the copy is table to table with
the same columns; ids are kept (relayed-message pairs and outbox items point at tickets by id) and
the identity sequences are moved past them, so new rows do not collide with copied ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.storage.db import Database

TABLES = ("tickets", "transcript", "relays", "outbox", "questions", "ignored_questions", "flow_outcomes",
          "blocked_chats", "fsm")
"""Parents before children (transcript, relays and outbox refer to tickets)."""
IDENTITY_TABLES = ("tickets", "outbox", "questions", "flow_outcomes")


class TargetNotEmpty(Exception):
    """The PostgreSQL database already holds records: copying would mix two histories."""


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


async def copy_records(source: Database, target: Database, *,
                       prepare: Callable[[Database], Awaitable[None]]) -> list[Copied]:
    """Copy every record from `source` (SQLite) into `target` (PostgreSQL) in one transaction;
    `prepare` opens every store on a database, so both sides have all tables at their latest version."""
    for db in (source, target):
        await prepare(db)
    for table in TABLES:
        row = await target.fetchone(f"SELECT COUNT(*) FROM {table}")
        if row and row[0]:
            raise TargetNotEmpty(f"the target already has {row[0]} row(s) in {table}; "
                                 f"migrate-data only fills an empty database")
    copied = []
    async with target.transaction() as session:
        for table in TABLES:
            columns = [name for _, name, *_ in await source.fetchall(f"PRAGMA table_info({table})")]
            listed = ", ".join(columns)
            marks = ", ".join("?" * len(columns))
            rows = await source.fetchall(f"SELECT {listed} FROM {table} ORDER BY rowid")
            for row in rows:
                await session.execute(f"INSERT INTO {table} ({listed}) VALUES ({marks})", row)
            copied.append(Copied(table, len(rows)))
        for table in IDENTITY_TABLES:
            await session.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1,"
                f" false)")
    for item in copied:  # read back: the counts must match before anyone relies on the copy
        row = await target.fetchone(f"SELECT COUNT(*) FROM {item.table}")
        assert row is not None and row[0] == item.rows, f"{item.table}: copied {item.rows}, found {row}"
    return copied
