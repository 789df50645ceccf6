"""Shared fixtures: the real content engine (built once per session), the tiny fixture content, and
real PostgreSQL and Redis servers (tests/servers.py)."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest
from hypothesis import settings

import bot.telegram  # noqa: F401  (first: aiogram is imported the way the bot imports it, bot/telegram/lean.py)
from bot.core.dialog import Dialog
from bot.core.engine import Engine
from tests.servers import (
    PostgresServer,
    RedisServer,
    ServerMissing,
    start_postgres,
    start_redis,
)

# CI runs the property tests on fixed examples, so a run cannot fail by the luck of the draw; a
# developer's run draws new ones (HYPOTHESIS_PROFILE=ci to reproduce CI's).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") or os.environ.get("HYPOTHESIS_PROFILE") == "ci":
    settings.load_profile("ci")


ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini"
OCR_FIXTURES = ROOT / "tests" / "fixtures" / "ocr"

# the `backend` and `database` fixtures: every record store's tests run on SQLite and PostgreSQL
pytest_plugins = ("tests.databases",)


@pytest.fixture(autouse=True)
def _root_logging() -> Iterator[None]:
    """CLI commands run in-process configure logging as they do from a shell (bot.logs): put the
    root logger back after each test, so later tests keep pytest's own capture."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The real content shipped in intents/ and knowledge/."""
    return Engine.load(ROOT)


@pytest.fixture(scope="session")
def mini_engine() -> Engine:
    return Engine.load(MINI)


@pytest.fixture
def dialog(engine: Engine) -> Dialog:
    return Dialog(engine)


@pytest.fixture(scope="session")
def ocr_reader():
    """OCR with its models loaded once for the whole run; tests using it are skipped without the
    ocr extra (pip install -e '.[ocr]')."""
    from bot.ocr import ocr_available, shared_reader

    if not ocr_available():
        pytest.skip("the ocr extra (rapidocr-onnxruntime) is not installed")
    reader = shared_reader()  # the one the bot's OcrWorker uses too
    reader.load()
    return reader


@pytest.fixture
def mini_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture content, for tests that break it on purpose."""
    target = tmp_path / "content"
    shutil.copytree(MINI, target)
    return target


def _unavailable(reason: str) -> NoReturn:
    """Skip the tests that need a server which is not installed, except where they must run (CI)."""
    if os.environ.get("POSBOT_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason} (POSBOT_REQUIRE_SERVERS=1: these tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


T = TypeVar("T")


def _started(start: Callable[[Path], T], directory: Path) -> T:
    try:
        return start(directory)
    except ServerMissing as missing:
        reason = str(missing)
    _unavailable(reason)  # outside the except block, so no "during handling of..." traceback


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole run, on 127.0.0.1 only; `.url`, `.stop()`, `.start()`,
    `.restart()`. Tests normally want `postgres_url`, a database of their own."""
    server = _started(start_postgres, tmp_path_factory.getbasetemp())
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new empty database for this test, dropped after it (even with connections left open)."""
    postgres_server.start()  # back up if an earlier test stopped it and failed before starting it
    name = postgres_server.create_database()
    yield postgres_server.database_url(name)
    if postgres_server.running:
        postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real Redis server for the whole run, on 127.0.0.1 only; `.url`, `.stop()`, `.start()`,
    `.restart()`. Tests normally want `redis_url`, which empties it first."""
    server = _started(start_redis, tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """Redis with nothing in it (FLUSHALL before the test)."""
    redis_server.start()
    redis_server.flush()
    return redis_server.url
