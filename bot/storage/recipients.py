"""Merchants who blocked the bot: recorded once, so nothing is retried at them forever."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from bot.storage.sqlite import connect

MIGRATIONS = (
    """
    CREATE TABLE blocked_chats (
        chat_id INTEGER PRIMARY KEY,
        since REAL NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    );
    """,
)


class BlockedChats(Protocol):
    def mark(self, chat_id: int, reason: str) -> None: ...

    def clear(self, chat_id: int) -> None: ...

    def is_blocked(self, chat_id: int) -> bool: ...


class SQLiteBlockedChats:
    def __init__(self, path: Path | str) -> None:
        self._db = connect(path, "blocked_chats", MIGRATIONS)

    def mark(self, chat_id: int, reason: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO blocked_chats (chat_id, since, reason) VALUES (?, ?, ?)",
                         (chat_id, time.time(), reason[:200]))

    def clear(self, chat_id: int) -> None:
        self._db.execute("DELETE FROM blocked_chats WHERE chat_id = ?", (chat_id,))

    def is_blocked(self, chat_id: int) -> bool:
        return self._db.execute("SELECT 1 FROM blocked_chats WHERE chat_id = ?", (chat_id,)).fetchone() is not None

    def close(self) -> None:
        self._db.close()
