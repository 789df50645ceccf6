"""The PostgreSQL and Redis fixtures (tests/servers.py): real servers on 127.0.0.1, a clean database
for every test, and an outage a test can switch on and off."""

from __future__ import annotations

import time

import psycopg
import pytest
import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.conftest import _unavailable
from tests.servers import PostgresServer, RedisServer

OUTAGE_BUDGET = 10.0
"""Seconds a stop() plus start() may take; both usually take well under a second."""


def test_postgres_answers_a_query(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, connect_timeout=5) as connection:
        database, listening = connection.execute(
            "SELECT current_database(), current_setting('listen_addresses')").fetchone()
        assert connection.execute("SELECT 6 * 7").fetchone() == (42,)
    assert database.startswith("t_")
    assert listening == "127.0.0.1"


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_gets_an_empty_database(postgres_url: str, run: int) -> None:
    """Whichever run comes second would find the first one's table in a shared database."""
    with psycopg.connect(postgres_url, connect_timeout=5) as connection:
        assert connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        connection.execute("CREATE TABLE marker (run int)")
        connection.execute("INSERT INTO marker VALUES (%s)", (run,))


def test_a_database_is_dropped_with_connections_still_open(postgres_server: PostgresServer) -> None:
    """What `postgres_url` does after each test, even when the test left connections open."""
    name = postgres_server.create_database()
    with psycopg.connect(postgres_server.database_url(name), connect_timeout=5) as forgotten:
        postgres_server.drop_database(name)
        with pytest.raises(psycopg.OperationalError):
            forgotten.execute("SELECT 1")
    with psycopg.connect(postgres_server.url, connect_timeout=5) as connection:
        assert connection.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone() == (0,)


def test_postgres_goes_away_and_comes_back(postgres_server: PostgresServer, postgres_url: str) -> None:
    with psycopg.connect(postgres_url, connect_timeout=5, autocommit=True) as connection:
        connection.execute("CREATE TABLE ticket (id int)")
        connection.execute("INSERT INTO ticket VALUES (1)")
    held = psycopg.connect(postgres_url, connect_timeout=5)
    started = time.monotonic()
    try:
        postgres_server.stop()
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(postgres_url, connect_timeout=2)
    finally:
        held.close()

    postgres_server.start()
    with psycopg.connect(postgres_url, connect_timeout=5) as connection:
        assert connection.execute("SELECT id FROM ticket").fetchall() == [(1,)]  # committed data survives
    assert time.monotonic() - started < OUTAGE_BUDGET


def test_redis_set_and_get(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url, socket_timeout=5) as client:
        assert client.set("greeting", "你好")
        assert client.get("greeting").decode() == "你好"
        assert client.config_get("bind") == {"bind": "127.0.0.1"}


async def test_redis_from_asyncio(redis_url: str) -> None:
    async with redis.asyncio.Redis.from_url(redis_url, socket_timeout=5) as client:
        await client.set("k", "v", ex=60)
        assert await client.get("k") == b"v"


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_gets_an_empty_redis(redis_url: str, run: int) -> None:
    with redis.Redis.from_url(redis_url, socket_timeout=5) as client:
        assert client.dbsize() == 0
        client.set("marker", run)


def test_redis_goes_away_and_comes_back(redis_server: RedisServer, redis_url: str) -> None:
    with redis.Redis.from_url(redis_url, socket_timeout=5) as client:
        client.set("lock", "held")
    started = time.monotonic()

    redis_server.stop()
    no_retries = Retry(NoBackoff(), 0)  # redis-py retries with backoff by default
    with pytest.raises(redis.ConnectionError), redis.Redis.from_url(redis_url, retry=no_retries) as client:
        client.ping()

    redis_server.start()
    with redis.Redis.from_url(redis_url, socket_timeout=5) as client:
        assert client.get("lock") == b"held"  # like a Redis that keeps snapshots
    assert time.monotonic() - started < OUTAGE_BUDGET


def test_a_missing_server_skips_except_where_servers_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSBOT_REQUIRE_SERVERS", raising=False)
    with pytest.raises(pytest.skip.Exception):
        _unavailable("redis-server not found")
    monkeypatch.setenv("POSBOT_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception, match="redis-server not found"):
        _unavailable("redis-server not found")
