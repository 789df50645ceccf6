"""The review inbox round trip: a fallback is logged, grouped, added as an example, and then understood."""

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.engine import Engine
from bot.core.errors import ContentError
from bot.admin.review import add_examples, group, start_draft
from bot.storage.db import SQLiteDatabase
from bot.storage.questions import SQLQuestionLog, record_turn

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(MINI, target)
    return target


async def _log(path: Path, engine: Engine, *questions: str) -> None:
    db = SQLiteDatabase(path)
    log = await SQLQuestionLog.open(db)
    for text in questions:
        await record_turn(log, "7", text, engine.understand(text))
    await db.close()


def test_fallback_to_example_round_trip(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = Engine.load(root)
    question = "收银小票上面的字看不清楚"
    assert engine.understand(question).decision.kind != "answer"
    asyncio.run(_log(tmp_path / "data" / "posbot.sqlite3", engine, question, "收银小票上的字看不清楚", "今天天气怎么样"))

    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path / "data")]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("[1] ×2  收银小票上面的字看不清楚 | 收银小票上的字看不清楚")
    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path / "data"),
                 "--add", "1", "printer_problem"]) == 0
    assert "added 2 question(s) to printer_problem" in capsys.readouterr().out
    text = (root / "intents" / "symptoms" / "common.yaml").read_text(encoding="utf-8")
    assert f"      - {question}\n" in text and "# A tiny content set" in (root / "intents" / "codes" / "common.yaml").read_text(encoding="utf-8")
    updated = Engine.load(root)
    assert updated.understand(question).decision.intent == "printer_problem"

    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path / "data"), "--ignore", "1"]) == 0
    capsys.readouterr()
    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path / "data")]) == 0
    assert "the inbox is empty" in capsys.readouterr().out


def test_new_intent_draft(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = Engine.load(root)
    asyncio.run(_log(tmp_path / "posbot.sqlite3", engine, "收银机怎么连打印机"))
    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path), "--new", "1", "cash_register"]) == 0
    draft = root / "intents" / "drafts" / "cash_register.yaml"
    assert "收银机怎么连打印机" in draft.read_text(encoding="utf-8")
    Engine.load(root)  # drafts are not loaded, so they cannot break the running content


def test_a_bad_example_is_rolled_back(root: Path) -> None:
    content = Engine.load(root).content
    path = root / "intents" / "symptoms" / "common.yaml"
    before = path.read_text(encoding="utf-8")
    with pytest.raises(ContentError):
        add_examples(content, "no_such_intent", ["x"])
    with pytest.raises(ContentError):
        add_examples(content, "printer_problem", ["   "])
    assert path.read_text(encoding="utf-8") == before
    updated = add_examples(content, "printer_problem", ["yes: no # 不是注释"])  # YAML-special text is quoted
    assert "yes: no # 不是注释" in updated.by_id["printer_problem"].examples


async def test_groups_prefer_what_merchants_picked(root: Path, tmp_path: Path) -> None:
    engine = Engine.load(root)
    db = SQLiteDatabase(tmp_path / "q.sqlite3")
    log = await SQLQuestionLog.open(db)
    for _ in range(2):
        await log.record("7", "机器坏了", "clarify", intent=None, code=None, score=0.6,
                         candidates=[("signin_failure", 0.6), ("printer_problem", 0.58)])
        await log.picked("7", "printer_problem")
    [only] = group(await log.inbox(), engine.matcher)
    assert only.suggestion == "printer_problem" and len(only.questions) == 2
    await db.close()


def test_a_card_number_in_the_inbox_is_never_shown_nor_written_into_the_content(
        root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A question stored before the masker knew its format (here: full-width digits and ideographic
    spaces, written straight into the table) is masked when shown and when added as an example."""
    typed = "６２２５　８８１２　３４９８　７６１７"

    async def store_unmasked() -> None:
        db = SQLiteDatabase(tmp_path / "posbot.sqlite3")
        await SQLQuestionLog.open(db)
        await db.execute("INSERT INTO questions (user_id, at, question, decision) VALUES ('7', 0, ?, 'fallback')",
                         (f"小票上的字看不清 卡号{typed}",))
        await db.close()

    asyncio.run(store_unmasked())
    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert "卡号****7617" in listing and typed not in listing
    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path), "--add", "1", "printer_problem"]) == 0
    written = "\n".join(p.read_text(encoding="utf-8") for p in (root / "intents").rglob("*.yaml"))
    assert "小票上的字看不清 卡号****7617" in written and typed not in written


def test_examples_are_masked_before_they_reach_the_yaml(root: Path) -> None:
    content = Engine.load(root).content
    updated = add_examples(content, "printer_problem", ["卡号6222 0212 3456 7894 小票打不出来"])
    assert "卡号****7894 小票打不出来" in updated.by_id["printer_problem"].examples
    written = "\n".join(p.read_text(encoding="utf-8") for p in (root / "intents").rglob("*.yaml"))
    assert "6222 0212 3456 7894" not in written
    draft = start_draft(root, "card_question", ["卡号6222021234567894怎么办"])
    assert "6222021234567894" not in draft.read_text(encoding="utf-8")
