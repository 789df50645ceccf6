"""Shared fixtures: the real content engine (built once per session) and the tiny fixture content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.core.dialog import Dialog
from bot.core.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini"

# the `backend` and `database` fixtures: every record store's tests run on SQLite and PostgreSQL
pytest_plugins = ("tests.databases",)


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


@pytest.fixture
def mini_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture content, for tests that break it on purpose."""
    target = tmp_path / "content"
    shutil.copytree(MINI, target)
    return target
