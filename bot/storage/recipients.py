"""Merchants who blocked the bot: recorded once, so nothing is retried at them forever."""

from __future__ import annotations

import time
from typing import Protocol

from bot.storage.db import SQLStore

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
    async def mark(self, chat_id: int, reason: str) -> None: ...

    async def clear(self, chat_id: int) -> None: ...

    async def is_blocked(self, chat_id: int) -> bool: ...


class SQLBlockedChats(SQLStore):
    STORE = "blocked_chats"
    MIGRATIONS = MIGRATIONS

    async def mark(self, chat_id: int, reason: str) -> None:
        await self._db.execute(
            "INSERT INTO blocked_chats (chat_id, since, reason) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET since = excluded.since, reason = excluded.reason",
            (chat_id, time.time(), reason[:200]))

    async def clear(self, chat_id: int) -> None:
        await self._db.execute("DELETE FROM blocked_chats WHERE chat_id = ?", (chat_id,))

    async def is_blocked(self, chat_id: int) -> bool:
        return await self._db.fetchone("SELECT 1 FROM blocked_chats WHERE chat_id = ?", (chat_id,)) is not None
