"""Opening an embedded SQLite database the way every posbot store wants it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Sequence


def connect(path: Path | str, migrations: Sequence[str]) -> sqlite3.Connection:
    """Open (creating if needed) a database in WAL mode and bring its schema up to date.

    `migrations[n]` takes the schema from version n to n+1; `PRAGMA user_version` remembers where a
    file is, so an old data directory is upgraded in place and a new one built from scratch.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(migrations[version:], start=version):
        connection.executescript(f"BEGIN;\n{script}\nPRAGMA user_version={number + 1};\nCOMMIT;")
    return connection
