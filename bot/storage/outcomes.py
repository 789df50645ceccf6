"""Where flow outcomes are recorded: how each flow ended and whether it helped."""

from __future__ import annotations

import json
import time
from typing import Protocol

from bot.core.dialog import FlowEvent
from bot.storage.db import SQLStore

MIGRATIONS = (
    """
    CREATE TABLE flow_outcomes (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        flow TEXT NOT NULL,
        kind TEXT NOT NULL,          -- started | ended | feedback
        ending TEXT NOT NULL DEFAULT '',
        helped INTEGER,              -- 1, 0 or NULL
        path TEXT NOT NULL DEFAULT '[]',
        at REAL NOT NULL
    );
    CREATE INDEX flow_outcomes_flow ON flow_outcomes (flow, at);
    """,
)


class OutcomeLog(Protocol):
    async def record(self, user_id: str, event: FlowEvent) -> None: ...

    async def summary(self) -> dict[str, dict[str, int]]: ...


class SQLOutcomeLog(SQLStore):
    """Flow outcomes in the shared database (bot.storage.db: SQLite or PostgreSQL)."""

    STORE = "flow_outcomes"
    MIGRATIONS = MIGRATIONS

    async def record(self, user_id: str, event: FlowEvent) -> None:
        helped = None if event.helped is None else int(event.helped)
        await self._db.execute(
            "INSERT INTO flow_outcomes (user_id, flow, kind, ending, helped, path, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user_id, event.flow, event.kind, event.end, helped, json.dumps(list(event.path)), time.time()))

    async def summary(self) -> dict[str, dict[str, int]]:
        """Per flow: how many ended resolved / escalated / in a script, and helped / not helped."""
        result: dict[str, dict[str, int]] = {}
        rows = await self._db.fetchall(
            "SELECT flow, kind, ending, helped, COUNT(*) FROM flow_outcomes GROUP BY flow, kind, ending, helped")
        for flow, kind, ending, helped, count in rows:
            bucket = result.setdefault(flow, {})
            if kind == "started":
                key = "started"
            else:
                key = ending.split(":")[0] if kind == "ended" else ("helped" if helped else "not_helped")
            bucket[key] = bucket.get(key, 0) + count
        return result
