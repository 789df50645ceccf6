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
import contextlib
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar

from bot.core.errors import PosbotError

Params = Sequence[Any]
T = TypeVar("T")


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


BUSY_TIMEOUT = 10.0
"""Seconds a statement waits for another process's write lock on the SQLite file (a CLI command, a
second worker, a backup) before the caller is told the store is unavailable ("busy")."""
READERS = 4
"""Reader connections to the SQLite file: in WAL mode readers never wait for a writer."""


class CorruptStore(PosbotError):
    """The SQLite file exists but is not a database posbot can open (damaged, or something else)."""


class _SQLiteSession:
    """Statements on the writer connection, each run in the writer's own thread."""

    def __init__(self, database: "SQLiteDatabase") -> None:
        self._database = database

    async def execute(self, sql: str, params: Params = ()) -> int:
        return await self._database._write(lambda connection: connection.execute(sql, tuple(params)).rowcount)

    async def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        # fetchall, not fetchone: an INSERT … RETURNING left half-read keeps its write open
        return await self._database._write(lambda connection: connection.execute(sql, tuple(params)).fetchall())


class SQLiteDatabase:
    """The embedded file (DATA_DIR/posbot.sqlite3), in WAL mode.

    No statement runs on the event loop: while another process holds the file's write lock (a CLI
    command, a backup, a second worker), a write waits for it in a thread and only the merchant whose
    update needs that write waits; everyone else is still served. SQLite allows one writer at a time,
    so writes go to one connection in one thread (an asyncio lock keeps a transaction's statements
    together, BEGIN IMMEDIATE keeps other processes out until it commits), and reads outside a
    transaction go to a few reader connections of their own, which WAL never makes wait for a writer.
    """

    dialect = "sqlite"

    def __init__(self, path: Path | str, *, readers: int = READERS, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout = busy_timeout
        self._writer = self._connect()
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._reader_threads = ThreadPoolExecutor(readers, thread_name_prefix="sqlite-reader")
        self._idle_readers: asyncio.Queue[sqlite3.Connection] = asyncio.Queue()
        self._readers: list[sqlite3.Connection] = []
        for _ in range(readers):
            reader = self._connect(query_only=True)
            self._readers.append(reader)
            self._idle_readers.put_nowait(reader)
        self._session = _SQLiteSession(self)
        self._lock = asyncio.Lock()
        self._closed = False

    def _connect(self, *, query_only: bool = False) -> sqlite3.Connection:
        """A connection, or CorruptStore naming the file when it is not a database."""
        connection = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None,
                                     check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            if query_only:  # a statement sent to a reader by mistake fails loudly instead of writing
                connection.execute("PRAGMA query_only=ON")
            connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()
        except sqlite3.DatabaseError as error:
            connection.close()
            if isinstance(error, sqlite3.OperationalError) and _is_busy(error):
                raise StoreUnavailable(f"{self.path} is busy: {error}") from error
            raise CorruptStore(f"{self.path} is not a usable SQLite database ({error}): restore it from a "
                               "backup, or move it away to start with an empty one") from error
        return connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._lock:
            return await self._session.execute(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        if _is_read(sql):
            return await self._read(lambda connection: connection.execute(sql, tuple(params)).fetchall())
        async with self._lock:
            return await self._session.fetchall(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        async with self._lock:
            await self._write(lambda connection: connection.execute("BEGIN IMMEDIATE"))
            try:
                yield self._session
                await self._write(lambda connection: connection.execute("COMMIT"))
            except BaseException:
                # submitted before the lock is let go, so it runs before any later write even if
                # this task is cancelled while waiting for it
                rollback = self._writer_thread.submit(_rollback, self._writer)
                with contextlib.suppress(BaseException):
                    await asyncio.shield(asyncio.wrap_future(rollback))
                raise

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer_thread, _run, work, self._writer)

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        reader = await self._idle_readers.get()
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._reader_threads, _run, work, reader)
        finally:
            self._idle_readers.put_nowait(reader)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer_thread, self._writer.close)
        for reader in self._readers:
            await loop.run_in_executor(self._reader_threads, reader.close)
        self._writer_thread.shutdown(wait=False)
        self._reader_threads.shutdown(wait=False)


def _is_read(sql: str) -> bool:
    """A plain SELECT: safe on a reader connection (an INSERT … RETURNING is a write)."""
    return sql.lstrip()[:6].upper() == "SELECT"


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:  # not after a COMMIT that went through
        connection.execute("ROLLBACK")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def _run(work: Callable[[sqlite3.Connection], T], connection: sqlite3.Connection) -> T:
    """sqlite3's errors as the store errors every backend raises."""
    try:
        return work(connection)
    except sqlite3.IntegrityError as error:
        raise Conflict(str(error)) from error
    except sqlite3.OperationalError as error:
        if _is_busy(error):
            raise StoreUnavailable(f"the database file is busy: {error}") from error
        raise


async def open_database(*, data_dir: Path, database_url: str | None = None) -> Database:
    """PostgreSQL when DATABASE_URL is set, else the embedded file under DATA_DIR."""
    if database_url:
        from bot.storage.postgres import PostgresDatabase

        return await PostgresDatabase.connect(database_url)
    return SQLiteDatabase(data_dir / "posbot.sqlite3")
