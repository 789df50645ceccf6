"""Merchants staff banned for abuse (/ban in the support group): nothing they send is relayed or
answered. Kept apart from blocked_chats (merchants who blocked the bot): a ban is staff's decision,
lifted only by /unban, never by the merchant writing again."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol, Sequence

from bot.core.cards import mask_card_numbers
from bot.storage.db import SQLStore

MIGRATIONS = (
    """
    CREATE TABLE banned_chats (
        chat_id INTEGER PRIMARY KEY,
        since REAL NOT NULL,
        banned_by INTEGER NOT NULL,
        name TEXT NOT NULL DEFAULT '',          -- the merchant's name as staff saw it, for /bans
        reason TEXT NOT NULL DEFAULT '',
        notified INTEGER NOT NULL DEFAULT 0     -- 1 once the merchant was told (one notice, then silence)
    );
    """,
)


@dataclass(frozen=True)
class Ban:
    chat_id: int
    since: float
    banned_by: int
    name: str
    reason: str


class Bans(Protocol):
    async def ban(self, chat_id: int, *, by: int, name: str = "", reason: str = "") -> bool:
        """True when newly banned (False: already banned; left as it was)."""

    async def unban(self, chat_id: int) -> bool:
        """True when a ban was lifted."""

    async def is_banned(self, chat_id: int) -> bool: ...

    async def first_notice(self, chat_id: int) -> bool:
        """True for the one caller that should tell the banned merchant (across workers)."""

    async def all(self) -> Sequence[Ban]: ...


BAN_LIST_TTL = 5.0
"""Seconds a worker trusts its copy of the ban list. Bans are few and rare, and every merchant
message asks "is this chat banned?": one read of the whole list every few seconds instead of one
read per message keeps a question at four statements. Another worker's /ban takes effect here
within this long; this worker's own ban or unban at once."""


class SQLBans(SQLStore):
    STORE = "banned_chats"
    MIGRATIONS = MIGRATIONS
    _banned: frozenset[int] = frozenset()
    _read_at: float = float("-inf")

    async def ban(self, chat_id: int, *, by: int, name: str = "", reason: str = "") -> bool:
        banned = await self._db.execute(
            "INSERT INTO banned_chats (chat_id, since, banned_by, name, reason) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO NOTHING",
            (chat_id, time.time(), by, mask_card_numbers(name)[:64], mask_card_numbers(reason)[:200])) == 1
        self._read_at = float("-inf")
        return banned

    async def unban(self, chat_id: int) -> bool:
        lifted = await self._db.execute("DELETE FROM banned_chats WHERE chat_id = ?", (chat_id,)) == 1
        self._read_at = float("-inf")
        return lifted

    async def is_banned(self, chat_id: int) -> bool:
        if time.monotonic() - self._read_at > BAN_LIST_TTL:
            rows = await self._db.fetchall("SELECT chat_id FROM banned_chats")
            self._banned, self._read_at = frozenset(row[0] for row in rows), time.monotonic()
        return chat_id in self._banned

    async def first_notice(self, chat_id: int) -> bool:
        return await self._db.execute("UPDATE banned_chats SET notified = 1 WHERE chat_id = ? AND notified = 0",
                                      (chat_id,)) == 1

    async def all(self) -> list[Ban]:
        rows = await self._db.fetchall(
            "SELECT chat_id, since, banned_by, name, reason FROM banned_chats ORDER BY since, chat_id")
        return [Ban(*row) for row in rows]
