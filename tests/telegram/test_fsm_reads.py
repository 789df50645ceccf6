"""The SQLite FSM storage reads a chat's row once per update, and never hands out stale data."""

from __future__ import annotations

from pathlib import Path

from aiogram.fsm.storage.base import StorageKey

from bot.storage.db import SQLiteDatabase
from bot.telegram import fsm


def key(chat: int) -> StorageKey:
    return StorageKey(bot_id=1, chat_id=chat, user_id=chat)


async def test_the_data_read_with_the_state_is_handed_out_once(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "posbot.sqlite3")
    try:
        storage = await fsm.DatabaseStorage.open(db)
        await storage.set_data(key(1), {"a": 1})
        assert await storage.get_state(key(1)) is None
        await db.execute("UPDATE fsm SET data = ? WHERE key = ?", ('{"a": 2}', "fsm:1:1:default"))
        assert await storage.get_data(key(1)) == {"a": 1}  # the same update's read, not a second SELECT
        assert await storage.get_data(key(1)) == {"a": 2}  # only once: afterwards the row is read again
        await storage.get_state(key(1))
        await storage.set_data(key(1), {"a": 3})
        assert await storage.get_data(key(1)) == {"a": 3}  # a write drops what was read
    finally:
        await db.close()


async def test_reads_nobody_asked_for_do_not_pile_up(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "posbot.sqlite3")
    try:
        storage = await fsm.DatabaseStorage.open(db)
        for chat in range(fsm.KEPT_READS + 50):
            await storage.get_state(key(chat))
        assert len(storage._read) == fsm.KEPT_READS
    finally:
        await db.close()
