"""The buttons merchants tap, as their callback data, so a human taking over a case sees what the
merchant already pressed (the context card), not only the steps they were shown."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol, Sequence

from bot.storage.db import SQLStore

MIGRATIONS = (
    """
    CREATE TABLE merchant_actions (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL,
        at REAL NOT NULL,
        action TEXT NOT NULL                -- callback data: ids only, never text (at most 64 bytes)
    );
    CREATE INDEX merchant_actions_user ON merchant_actions (user_id, at);
    """,
)

KEEP_SECONDS = 7 * 86400.0
"""Taps older than a week are dropped as new ones come in: a card looks back minutes, not weeks."""


@dataclass(frozen=True)
class Action:
    at: float
    action: str


class ActionLog(Protocol):
    async def record(self, user_id: int, action: str) -> None: ...

    async def recent(self, user_id: int, *, since: float, limit: int = 20) -> Sequence[Action]:
        """The merchant's taps since `since`, oldest first, the last `limit` of them."""


class SQLActionLog(SQLStore):
    STORE = "merchant_actions"
    MIGRATIONS = MIGRATIONS

    async def record(self, user_id: int, action: str) -> None:
        now = time.time()
        async with self._db.transaction() as session:
            await session.execute("INSERT INTO merchant_actions (user_id, at, action) VALUES (?, ?, ?)",
                                  (user_id, now, action[:64]))
            await session.execute("DELETE FROM merchant_actions WHERE user_id = ? AND at < ?",
                                  (user_id, now - KEEP_SECONDS))

    async def recent(self, user_id: int, *, since: float, limit: int = 20) -> list[Action]:
        rows = await self._db.fetchall(
            "SELECT at, action FROM merchant_actions WHERE user_id = ? AND at >= ? ORDER BY id DESC LIMIT ?",
            (user_id, since, limit))
        return [Action(at, action) for at, action in reversed(rows)]
