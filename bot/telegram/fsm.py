"""aiogram FSM storage in posbot's database (SQLite by default), so conversations survive a restart
with no server; with REDIS_URL, aiogram's RedisStorage is used instead (bot.telegram.app.Stores)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import Any, Mapping

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey

from bot.storage.db import Database, migrate

MIGRATIONS = (
    """
    CREATE TABLE fsm (
        key TEXT PRIMARY KEY,
        state TEXT,
        data TEXT NOT NULL DEFAULT '{}'
    );
    """,
)


KEPT_READS = 1024
"""Data read along with a state and not yet asked for, kept at most for this many chats: an update no
handler takes (a group message not addressed to the bot) leaves one behind, and the oldest goes first;
one dropped is simply read again."""


class DatabaseStorage(BaseStorage):
    """One row per (bot, chat, user, thread) key; data is JSON.

    The row is read once per update: aiogram's FSM middleware asks for the state of every update
    before any handler runs, and that one SELECT brings the data along; the handler's get_data that
    follows takes it from there instead of reading the row again. Only that next get_data does (the
    chat's lock is held from the middleware to the end of the update), and any write drops it.
    """

    def __init__(self, db: Database, key_builder: KeyBuilder | None = None) -> None:
        self._db = db
        self._keys = key_builder or DefaultKeyBuilder(with_destiny=True)
        self._read: dict[str, dict[str, Any]] = {}
        """Data read along with the state, waiting for the same update's get_data."""

    @classmethod
    async def open(cls, db: Database) -> "DatabaseStorage":
        await migrate(db, "fsm", MIGRATIONS)
        return cls(db)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        self._read.pop(self._keys.build(key), None)
        await self._db.execute(
            "INSERT INTO fsm (key, state) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state",
            (self._keys.build(key), value))

    async def get_state(self, key: StorageKey) -> str | None:
        built = self._keys.build(key)
        row = await self._db.fetchone("SELECT state, data FROM fsm WHERE key = ?", (built,))
        if len(self._read) >= KEPT_READS:  # updates no handler read data for (a group's chatter …)
            self._read.pop(next(iter(self._read)))
        self._read[built] = json.loads(row[1]) if row else {}
        return row[0] if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        self._read.pop(self._keys.build(key), None)
        await self._db.execute(
            "INSERT INTO fsm (key, data) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data",
            (self._keys.build(key), json.dumps(dict(data), ensure_ascii=False)))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        built = self._keys.build(key)
        read = self._read.pop(built, None)
        if read is not None:
            return read
        row = await self._db.fetchone("SELECT data FROM fsm WHERE key = ?", (built,))
        return json.loads(row[0]) if row else {}

    async def close(self) -> None:
        """The database is shared with the other stores and closed with them (Stores.close)."""


class ChatLocks(BaseEventIsolation):
    """One update per chat at a time, in one process (with Redis, aiogram's RedisEventIsolation).

    aiogram's SimpleEventIsolation keeps a lock for every chat it ever saw (about 545 bytes a
    merchant, forever); this one drops a chat's lock as soon as nobody holds it or waits for it, so
    the table holds only the chats with an update in hand.
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, list[int]]] = {}
        """key -> (its lock, [updates holding or waiting for it])."""

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            # close() may have emptied the table while this update was still in hand (a shutdown mid-update)
            if users[0] == 0 and self._locks.get(key) is entry:
                del self._locks[key]

    @property
    def chats(self) -> int:
        """Chats with an update in hand (not __len__: aiogram tests the isolation for truth, and an
        empty table would read as "no isolation")."""
        return len(self._locks)

    async def close(self) -> None:
        self._locks.clear()
