"""One small async interface over the two databases posbot can keep its records in.

Every store (tickets, relays, the question log, flow outcomes, blocked chats, conversation state)
is written once, against `Database`, in the SQL both databases understand: `?` placeholders,
`ON CONFLICT`, `RETURNING`, partial indexes. Two implementations sit behind it:

- `SQLiteDatabase`: the embedded file under DATA_DIR (the default; no server);
- `bot.storage.postgres.PostgresDatabase`: a PostgreSQL server (DATABASE_URL), for several workers.

Migrations are one story for both: each store keeps a tuple of SQL scripts written in SQLite's
dialect; `migrate` runs the ones a database has not seen yet, in one transaction, recording the
store's version in `schema_versions`. For PostgreSQL the few type names that differ are translated
(`postgres_ddl`). No migration framework: five small stores, plain SQL you can read, and SQLite files
made by earlier releases keep working untouched.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

from bot.core.errors import PosbotError

Params = Sequence[Any]


class StoreUnavailable(PosbotError):
    """The database cannot be reached right now; the caller should say "busy" and try again later."""


class Conflict(PosbotError):
    """A uniqueness rule refused the write (e.g. a second ticket that is not closed)."""


class Session(Protocol):
    """Statements on one connection; inside `Database.transaction()` they commit or roll back together."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""

    async def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...


class Database(Session, Protocol):
    dialect: str
    """sqlite | postgresql: only `migrate` and a few statements need to know."""

    def transaction(self) -> Any:
        """`async with db.transaction() as session:` — all or nothing, serialised against other writers."""

    async def close(self) -> None: ...


class SQLStore:
    """A store written against Database: `open` brings its tables (`STORE`, `MIGRATIONS`) up to date."""

    STORE: ClassVar[str]
    MIGRATIONS: ClassVar[Sequence[str]]

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    async def open(cls, db: Database) -> Self:
        await migrate(db, cls.STORE, cls.MIGRATIONS)
        return cls(db)


async def migrate(db: Database, store: str, migrations: Sequence[str]) -> None:
    """Bring one store's tables up to date: `migrations[n]` takes it from version n to n+1.

    Several stores share one database (one thing to back up), so each has its own row in
    `schema_versions`. Workers starting together are serialised (BEGIN IMMEDIATE on SQLite, an
    advisory lock on PostgreSQL), so exactly one of them runs each migration.
    """
    async with db.transaction() as session:
        if db.dialect == "postgresql":
            await session.execute("SELECT pg_advisory_xact_lock(7215)")
        await session.execute(
            translate(db.dialect, "CREATE TABLE IF NOT EXISTS schema_versions"
                                  " (store TEXT PRIMARY KEY, version INTEGER NOT NULL)"))
        row = await session.fetchone("SELECT version FROM schema_versions WHERE store = ?", (store,))
        version = row[0] if row else 0
        for script in migrations[version:]:
            for statement in statements(script):
                await session.execute(translate(db.dialect, statement))
        await session.execute(
            "INSERT INTO schema_versions (store, version) VALUES (?, ?)"
            " ON CONFLICT (store) DO UPDATE SET version = excluded.version", (store, max(version, len(migrations))))


def statements(script: str) -> list[str]:
    """A migration split into statements (executescript would commit our transaction midway)."""
    found, current = [], ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n\t;"):
                found.append(current.strip())
            current = ""
    return found


_IDENTITY = re.compile(r"\bid INTEGER PRIMARY KEY\b")
_TABLE = re.compile(r"^\s*CREATE TABLE (IF NOT EXISTS )?(\w+) \(", re.IGNORECASE)


def translate(dialect: str, statement: str) -> str:
    """A statement written for SQLite, as the given database needs it.

    For PostgreSQL: `id INTEGER PRIMARY KEY` becomes an identity column, INTEGER becomes BIGINT
    (Telegram ids outgrow 32 bits), REAL becomes DOUBLE PRECISION, and a table with no primary key
    gets the `rowid` column SQLite gives every table, so `ORDER BY rowid` means the same on both.
    """
    if dialect != "postgresql":
        return statement
    sql = _IDENTITY.sub("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", statement)
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
    sql = re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)
    if _TABLE.match(sql) and "PRIMARY KEY" not in sql.upper():
        sql = _TABLE.sub(lambda m: m.group(0) + "rowid BIGINT GENERATED ALWAYS AS IDENTITY, ", sql, count=1)
    return sql


class _SQLiteSession:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        return _run(lambda: self._connection.execute(sql, tuple(params)).rowcount)

    async def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        # fetchall, not fetchone: an INSERT … RETURNING left half-read keeps its write open
        rows = _run(lambda: self._connection.execute(sql, tuple(params)).fetchall())
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return _run(lambda: self._connection.execute(sql, tuple(params)).fetchall())


class SQLiteDatabase:
    """The embedded file (DATA_DIR/posbot.sqlite3), in WAL mode, one connection for the process.

    Each statement is a local call well under a millisecond, so it runs inline rather than in a
    thread; an asyncio lock keeps a transaction's statements together, and BEGIN IMMEDIATE keeps
    other processes on the same file (a CLI command, a second worker) out until it commits.
    """

    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute("PRAGMA foreign_keys=ON")
        self._session = _SQLiteSession(self._connection)
        self._lock = asyncio.Lock()

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._lock:
            return await self._session.execute(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        async with self._lock:
            return await self._session.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        async with self._lock:
            return await self._session.fetchall(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        async with self._lock:
            _run(lambda: self._connection.execute("BEGIN IMMEDIATE"))
            try:
                yield self._session
                _run(lambda: self._connection.execute("COMMIT"))
            except BaseException:
                if self._connection.in_transaction:  # not after a COMMIT that went through
                    self._connection.execute("ROLLBACK")
                raise

    async def close(self) -> None:
        self._connection.close()


def _run(call):  # type: ignore[no-untyped-def]
    """sqlite3's errors as the store errors every backend raises."""
    try:
        return call()
    except sqlite3.IntegrityError as error:
        raise Conflict(str(error)) from error
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise StoreUnavailable(f"the database file is busy: {error}") from error
        raise


async def open_database(*, data_dir: Path, database_url: str | None = None) -> Database:
    """PostgreSQL when DATABASE_URL is set, else the embedded file under DATA_DIR."""
    if database_url:
        from bot.storage.postgres import PostgresDatabase

        return await PostgresDatabase.connect(database_url)
    return SQLiteDatabase(data_dir / "posbot.sqlite3")
