"""Uploads outside Telegram: target resolution, validation in a scratch copy, apply and rollback."""

import shutil
from pathlib import Path

import pytest

from bot.core.errors import ContentError
from bot.core.loader import load_content
from bot.admin.uploads import Uploads

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
    new = ("symptoms:\n  - id: cash_drawer\n    title: 钱箱打不开\n    answer: 检查钱箱连线。\n    now: 关机后看钱箱线插好没有\n"
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


def _crash(mode: str, uploads: Uploads) -> dict:
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "tests.upload_crash", mode, str(uploads.root),
                             str(uploads.backup_dir.parent)], capture_output=True, text=True, cwd=root,
                            timeout=120, check=True)
    return json.loads(result.stdout)


def test_kill_9_at_any_point_of_an_apply_leaves_the_old_file_or_the_new_one(uploads: Uploads) -> None:
    """The red team's kill -9 left the file empty in 7 of 40 tries: here the child dies before each
    of the apply's file-system calls in turn, until one apply runs through."""
    outcome = _crash("kill", uploads)
    held = outcome["held"]
    assert len(held) >= 10 and held[-1] == "new"
    assert set(held) == {"old", "new"}, held
    assert outcome["leftovers"] == []  # the temporary files of the killed writers were swept by the last one


def test_a_full_disk_during_an_apply_leaves_the_old_file(uploads: Uploads) -> None:
    outcome = _crash("full", uploads)
    assert outcome["bigger_than_limit"] and outcome["exit"] == 3  # the write failed with EFBIG …
    assert outcome["held"] == ["old"] and outcome["leftovers"] == []  # … and changed nothing


EDIT = ("      - 不出纸咋回事\n", "      - 不出纸咋回事\n      - 出纸口卡住了\n")
OTHER_EDIT = ("      - 不出纸咋回事\n", "      - 不出纸咋回事\n      - 打印头很烫\n")


def _edited(uploads: Uploads, change: tuple[str, str], path: str = "intents/symptoms/common.yaml") -> bytes:
    return (uploads.root / path).read_text(encoding="utf-8").replace(*change).encode()


def test_a_stale_proposal_never_overwrites_a_newer_edit(uploads: Uploads) -> None:
    from bot.admin.uploads import StaleUpload

    first = uploads.propose("common.yaml", _edited(uploads, EDIT), "intents/symptoms/common.yaml")
    second = uploads.propose("common.yaml", _edited(uploads, OTHER_EDIT), "intents/symptoms/common.yaml")
    uploads.apply(second.token)
    with pytest.raises(StaleUpload, match="已经被改过"):
        uploads.apply(first.token)  # made against the file before the second upload
    text = (uploads.root / "intents/symptoms/common.yaml").read_text(encoding="utf-8")
    assert "打印头很烫" in text and "出纸口卡住了" not in text
    with pytest.raises(KeyError):
        uploads.apply(first.token)  # refused once, gone


def test_two_uploads_that_clash_are_revalidated_and_the_second_refused(uploads: Uploads) -> None:
    """Each file is valid with the content as it was; together they define one id twice."""
    from bot.admin.uploads import StaleUpload

    new = ("symptoms:\n  - id: cash_drawer\n    title: 钱箱打不开\n    answer: 检查钱箱连线。\n    now: 关机后看钱箱线插好没有\n"
           "    steps: [检查连线]\n    examples: [钱箱打不开了]\n")
    one = uploads.propose("a.yaml", new.encode(), "intents/symptoms/a.yaml")
    two = uploads.propose("b.yaml", new.replace("钱箱打不开了", "钱箱弹不出来").encode(), "intents/symptoms/b.yaml")
    uploads.apply(one.token)
    with pytest.raises(StaleUpload) as refused:
        uploads.apply(two.token)
    assert any("id 'cash_drawer' 重复了" in problem for problem in refused.value.problems)
    assert not (uploads.root / "intents/symptoms/b.yaml").exists()
    load_content(uploads.root)  # what is on disk still loads


def test_a_change_elsewhere_that_still_fits_is_applied(uploads: Uploads) -> None:
    proposal = uploads.propose("common.yaml", _edited(uploads, EDIT), "intents/symptoms/common.yaml")
    lexicon = uploads.root / "intents/lexicon.yaml"
    lexicon.write_text(lexicon.read_text(encoding="utf-8") + "\n# edited by hand meanwhile\n", encoding="utf-8")
    assert proposal.version != load_content(uploads.root).version
    assert uploads.apply(proposal.token) == "intents/symptoms/common.yaml"


def test_posbot_rollback_restores_the_last_upload(uploads: Uploads, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    path = uploads.root / "intents/symptoms/common.yaml"
    original = path.read_text(encoding="utf-8")
    uploads.apply(uploads.propose("common.yaml", _edited(uploads, EDIT), "intents/symptoms/common.yaml").token)
    path.write_text("symptoms: [", encoding="utf-8")  # and then the file broke: the bot would not start
    data = uploads.backup_dir.parent
    assert main(["--content", str(uploads.root), "rollback", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("已恢复 intents/symptoms/common.yaml\n内容检查通过，版本 ")
    assert path.read_text(encoding="utf-8") == original
