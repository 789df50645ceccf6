"""Shared fixtures: the real content engine (built once per session) and the tiny fixture content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.core.dialog import Dialog
from bot.core.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini"
OCR_FIXTURES = ROOT / "tests" / "fixtures" / "ocr"

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
