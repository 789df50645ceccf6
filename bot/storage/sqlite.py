"""Opening the embedded SQLite database the way every posbot store wants it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Sequence


def connect(path: Path | str, store: str, migrations: Sequence[str]) -> sqlite3.Connection:
    """Open (creating if needed) the database in WAL mode and bring one store's tables up to date.

    Several stores share one file (one thing to back up), so each keeps its own schema version in
    `schema_versions`; `migrations[n]` takes that store from version n to n+1, in one transaction.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("CREATE TABLE IF NOT EXISTS schema_versions (store TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    connection.execute("BEGIN IMMEDIATE")
    try:
        row = connection.execute("SELECT version FROM schema_versions WHERE store = ?", (store,)).fetchone()
        version = row[0] if row else 0
        for script in migrations[version:]:
            for statement in _statements(script):
                connection.execute(statement)
        connection.execute("INSERT OR REPLACE INTO schema_versions (store, version) VALUES (?, ?)",
                           (store, max(version, len(migrations))))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return connection


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction midway)."""
    statements, current = [], ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n\t;"):
                statements.append(current.strip())
            current = ""
    return statements
