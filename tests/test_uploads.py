"""Uploads outside Telegram: target resolution, validation in a scratch copy, apply and rollback."""

import shutil
from pathlib import Path

import pytest

from bot.core.errors import ContentError
from bot.uploads import Uploads

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"


@pytest.fixture
def uploads(tmp_path: Path) -> Uploads:
    shutil.copytree(MINI, tmp_path / "content")
    return Uploads(tmp_path / "content", tmp_path / "data")


def test_targets(uploads: Uploads) -> None:
    assert uploads.target_for("lexicon.yaml", None) == "intents/lexicon.yaml"
    assert uploads.target_for("mini.yaml", "knowledge/flows/mini.yaml") == "knowledge/flows/mini.yaml"
    for bad in ("../../etc/passwd.yaml", "bot/cli.py", "intents/other/x.yaml"):
        with pytest.raises(ContentError):
            uploads.target_for("x.yaml", bad)
    with pytest.raises(ContentError):
        uploads.target_for("common.yaml", None)  # intents/codes and intents/symptoms both have one


def test_a_new_file_is_applied_and_rolled_back_by_removal(uploads: Uploads) -> None:
    new = ("symptoms:\n  - id: cash_drawer\n    title: 钱箱打不开\n    answer: 检查钱箱连线。\n"
           "    steps: [检查连线]\n    examples: [钱箱打不开了]\n")
    proposal = uploads.propose("cash_drawer.yaml", new.encode(), "intents/symptoms/cash_drawer.yaml")
    assert proposal.new_file and "+    title: 钱箱打不开" in proposal.diff
    assert uploads.apply(proposal.token) == "intents/symptoms/cash_drawer.yaml"
    assert (uploads.root / proposal.target).exists()
    with pytest.raises(KeyError):
        uploads.apply(proposal.token)  # applied once only
    assert uploads.rollback() == "intents/symptoms/cash_drawer.yaml"
    assert not (uploads.root / proposal.target).exists()
    assert uploads.rollback() is None


def test_binary_and_huge_uploads_are_refused(uploads: Uploads) -> None:
    with pytest.raises(ContentError):
        uploads.propose("lexicon.yaml", b"\xff\xfe\x00")
    with pytest.raises(ContentError):
        uploads.propose("lexicon.yaml", b"a" * (600 * 1024))
