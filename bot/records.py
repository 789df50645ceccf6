"""Every record posbot keeps, opened together on one database (SQLite or PostgreSQL).

The bot, the console chat and the CLI all open them here, so each store's tables are migrated
before anything reads them, whichever front end runs first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.handoff.sql_store import SQLTicketStore
from bot.handoff.store import TicketStore
from bot.storage.actions import ActionLog, SQLActionLog
from bot.storage.bans import Bans, SQLBans
from bot.storage.db import Database, open_database
from bot.storage.outcomes import OutcomeLog, SQLOutcomeLog
from bot.storage.questions import QuestionLog, SQLQuestionLog
from bot.storage.recipients import BlockedChats, SQLBlockedChats
from bot.storage.remask import remask_stored


@dataclass
class Records:
    db: Database
    outcomes: OutcomeLog
    blocked: BlockedChats
    tickets: TicketStore
    questions: QuestionLog
    bans: Bans
    actions: ActionLog

    @classmethod
    async def open(cls, db: Database) -> "Records":
        """Every store migrated, then what is stored masked again if the card masker changed."""
        records = cls(db=db, outcomes=await SQLOutcomeLog.open(db), blocked=await SQLBlockedChats.open(db),
                      tickets=await SQLTicketStore.open(db), questions=await SQLQuestionLog.open(db),
                      bans=await SQLBans.open(db), actions=await SQLActionLog.open(db))
        await remask_stored(db)
        return records

    @classmethod
    async def at(cls, *, data_dir: Path, database_url: str | None = None) -> "Records":
        """PostgreSQL when a DATABASE_URL is given, else DATA_DIR/posbot.sqlite3."""
        return await cls.open(await open_database(data_dir=data_dir, database_url=database_url))

    async def close(self) -> None:
        await self.db.close()
