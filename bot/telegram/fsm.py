"""aiogram FSM storage in the embedded SQLite file, so conversations survive a restart with no server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey

from bot.storage.sqlite import connect

MIGRATIONS = (
    """
    CREATE TABLE fsm (
        key TEXT PRIMARY KEY,
        state TEXT,
        data TEXT NOT NULL DEFAULT '{}'
    );
    """,
)


class SQLiteStorage(BaseStorage):
    """One row per (bot, chat, user, thread) key; data is JSON. Each call is one short statement on
    a local file (well under a millisecond), so it runs inline rather than in a thread pool."""

    def __init__(self, path: Path | str, key_builder: KeyBuilder | None = None) -> None:
        self._db = connect(path, "fsm", MIGRATIONS)
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        self._db.execute(
            "INSERT INTO fsm (key, state) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET state = excluded.state",
            (self._keys.build(key), value))

    async def get_state(self, key: StorageKey) -> str | None:
        row = self._db.execute("SELECT state FROM fsm WHERE key = ?", (self._keys.build(key),)).fetchone()
        return row[0] if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO fsm (key, data) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET data = excluded.data",
            (self._keys.build(key), json.dumps(dict(data), ensure_ascii=False)))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = self._db.execute("SELECT data FROM fsm WHERE key = ?", (self._keys.build(key),)).fetchone()
        return json.loads(row[0]) if row else {}

    async def close(self) -> None:
        self._db.close()
