"""The `Database` (bot.storage.db) on a PostgreSQL server, for several workers sharing their records.

psycopg 3 (the `postgres` extra) because it is async, keeps the DB-API shape sqlite3 has (so one
store implementation serves both databases), and its pool checks connections on checkout and
reconnects in the background: when the server comes back after a restart, the bot carries on by
itself, and while it is away callers get StoreUnavailable after a short wait instead of hanging.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.storage.db import Conflict, Params, Session, StoreUnavailable

WAIT_FOR_CONNECTION = 3.0
"""Seconds a caller waits for a connection before being told the store is unavailable."""


@functools.lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """`?` (what the stores write) to psycopg's `%s`; a literal % would need doubling."""
    return re.sub(r"\?", "%s", sql.replace("%", "%%"))


class _PostgresSession:
    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._connection.execute(_placeholders(sql), tuple(params))
        return cursor.rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        cursor = await self._connection.execute(_placeholders(sql), tuple(params))
        return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        cursor = await self._connection.execute(_placeholders(sql), tuple(params))
        return await cursor.fetchall()


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, url: str, *, min_size: int = 1, max_size: int = 10,
                      wait: float = 15.0) -> "PostgresDatabase":
        """Open the pool and wait (up to `wait` seconds) for a first connection, so a wrong URL or a
        server that is down fails at start-up with one clear line rather than at the first merchant."""
        pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False,
                                   kwargs={"autocommit": True, "connect_timeout": 5},
                                   check=AsyncConnectionPool.check_connection, timeout=WAIT_FOR_CONNECTION,
                                   name="posbot")
        try:
            await pool.open(wait=True, timeout=wait)
        except PoolTimeout as error:
            await pool.close()
            raise StoreUnavailable(f"cannot reach the PostgreSQL server in DATABASE_URL within {wait:.0f} s") from error
        return cls(pool)

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._session() as session:
            return await session.execute(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        async with self._session() as session:
            return await session.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        async with self._session() as session:
            return await session.fetchall(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        async with self._session() as session:
            async with session._connection.transaction():
                yield session

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[_PostgresSession]:
        try:
            async with self._pool.connection() as connection:
                yield _PostgresSession(connection)
        except psycopg.errors.IntegrityError as error:
            raise Conflict(str(error)) from error
        except (PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise StoreUnavailable(f"the PostgreSQL server is unavailable: {type(error).__name__}") from error

    async def close(self) -> None:
        await self._pool.close()
