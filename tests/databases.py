"""The record stores' tests run once per database: the SQLite file, and a real PostgreSQL server
started by the `postgres_url` fixture (tests/servers.py). No mocks of either."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.storage.db import Database, SQLiteDatabase

BACKENDS = ("sqlite", "postgresql")


@dataclass
class Backend:
    """Where one test's records live; `open()` gives a new connection to the same database, as a
    restarted bot or a second worker would have."""

    name: str
    sqlite_path: Path | None = None
    url: str | None = None

    async def open(self) -> Database:
        if self.url is not None:
            from bot.storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(self.url)
        assert self.sqlite_path is not None
        return SQLiteDatabase(self.sqlite_path)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "postgresql":
        return Backend("postgresql", url=request.getfixturevalue("postgres_url"))
    return Backend("sqlite", sqlite_path=tmp_path / "data" / "posbot.sqlite3")


@pytest.fixture
async def database(backend: Backend) -> AsyncIterator[Database]:
    db = await backend.open()
    yield db
    await db.close()
