"""The review inbox round trip: a fallback is logged, grouped, added as an example, and then understood."""

import asyncio
import io
import re
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.engine import Engine
from bot.core.errors import ContentError
from bot.admin.review import add_examples, group, start_draft
from bot.storage.db import SQLiteDatabase
from bot.storage.questions import LoggedQuestion, SQLQuestionLog, record_turn

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"
REAL = Path(__file__).resolve().parents[1]


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


def _keys(listing: str) -> list[str]:
    return re.findall(r"^\[([0-9a-f]{6})\]", listing, flags=re.M)


def _key_of(listing: str, text: str) -> str:
    [key] = re.findall(rf"^\[([0-9a-f]{{6}})\] ×\d+  [^\n]*{text}", listing, flags=re.M)
    return key


async def _fallbacks(path: Path, *questions: str) -> None:
    """Questions logged as not understood when they were asked (the content has changed since)."""
    db = SQLiteDatabase(path)
    log = await SQLQuestionLog.open(db)
    for text in questions:
        await log.record("7", text, "fallback", intent=None, code=None, score=None, candidates=[])
    await db.close()


def test_fallback_to_example_round_trip(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = Engine.load(root)
    question = "收银小票上面的字看不清楚"
    assert engine.understand(question).decision.kind != "answer"
    asyncio.run(_log(tmp_path / "data" / "posbot.sqlite3", engine, question, "收银小票上的字看不清楚", "今天天气怎么样"))

    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path / "data")]) == 0
    listing = capsys.readouterr().out
    first, weather = _keys(listing)
    assert listing.startswith(f"[{first}] ×2  收银小票上面的字看不清楚 | 收银小票上的字看不清楚")
    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path / "data"),
                 "--add", first, "printer_problem"]) == 0
    assert "已把 2 个问题加为 printer_problem（打印机不出纸）的例句" in capsys.readouterr().out
    text = (root / "intents" / "symptoms" / "common.yaml").read_text(encoding="utf-8")
    assert f"      - {question}\n" in text and "# A tiny content set" in (root / "intents" / "codes" / "common.yaml").read_text(encoding="utf-8")
    updated = Engine.load(root)
    assert updated.understand(question).decision.intent == "printer_problem"

    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path / "data"), "--add", first, "x"]) == 2
    assert f"没有编号为 {first} 的一组" in capsys.readouterr().err  # handled: its id is not reused
    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path / "data"), "--ignore", weather]) == 0
    capsys.readouterr()
    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path / "data")]) == 0
    assert "收件箱是空的" in capsys.readouterr().out


def test_group_ids_stay_the_same_whatever_happens_around_them(root: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Numbers shifted after each action; an id is a hash of the group's lead question."""
    engine = Engine.load(root)
    data = tmp_path / "data"
    asyncio.run(_log(data / "posbot.sqlite3", engine, "今天天气怎么样", "今天天气怎么样啊", "收银机怎么连打印机",
                     "门口的停车场收费吗"))
    review = ["--content", str(root), "review", "--data-dir", str(data)]
    assert main(review) == 0
    listing = capsys.readouterr().out
    weather, register, parking = (_key_of(listing, text) for text in ("今天天气", "收银机", "停车场"))
    assert main([*review, "--ignore", weather]) == 0
    asyncio.run(_log(data / "posbot.sqlite3", engine, "收银机怎么连接打印机"))  # joins its group
    assert main(review) == 0
    assert _keys(capsys.readouterr().out) == [register, parking]  # ×2 first now, the same ids
    assert main([*review, "--new", parking, "parking"]) == 0
    assert main(review) == 0
    assert _keys(capsys.readouterr().out) == [register]


@pytest.mark.parametrize("question, added", [
    ("签到失败咋办", False),            # signin_failure has this very example
    ("签到失败了咋办", False),          # not an example elsewhere, but answered as signin_failure if it were not one
    ("打印机: 不出纸了 # 真的", True),   # a stray colon and a hash: quoted, so the YAML still reads
])
def test_review_can_never_break_validate(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         question: str, added: bool) -> None:
    """The fixture lacks the required symptoms, so validate already reports those: it must report
    exactly those afterwards, nothing more."""
    known = _validate(root, capsys)
    path = root / "intents" / "symptoms" / "common.yaml"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # a file saved on Windows, put back as it was
    before = path.read_bytes()
    asyncio.run(_fallbacks(tmp_path / "posbot.sqlite3", question))
    key = _only_key(root, tmp_path, capsys)

    code = main(["--content", str(root), "review", "--data-dir", str(tmp_path), "--add", key, "printer_problem"])
    out, err = capsys.readouterr()
    assert _validate(root, capsys) == known
    if added:
        assert code == 0 and "检查通过" in out
        assert question in Engine.load(root).content.by_id["printer_problem"].examples
    else:
        assert code == 2 and path.read_bytes() == before
        assert "加上这些例句后 posbot validate 会报错，所以没有加，文件已恢复原样" in err and "signin_failure" in err
        assert main(["--content", str(root), "review", "--data-dir", str(tmp_path)]) == 0
        assert _keys(capsys.readouterr().out) == [key]  # still waiting for a better intent


def _validate(root: Path, capsys: pytest.CaptureFixture[str]) -> set[str]:
    """What `posbot validate` reports, without line numbers (an added example moves those below it)."""
    main(["validate", str(root)])
    return {re.sub(r":\d+ ", " ", line) for line in capsys.readouterr().out.splitlines()}


def test_review_keeps_the_shipped_content_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's case on the real content: an example another intent owns was "added", then
    `posbot validate` exited 1."""
    root = tmp_path / "content"
    for name in ("intents", "knowledge"):
        shutil.copytree(REAL / name, root / name)
    engine = Engine.load(root)
    owned = engine.content.by_id["signin_failure"].examples[0]
    asyncio.run(_fallbacks(tmp_path / "posbot.sqlite3", owned))
    before = {p: p.read_bytes() for p in root.rglob("*.yaml")}
    code = main(["--content", str(root), "review", "--data-dir", str(tmp_path), "--add", _only_key(root, tmp_path, capsys),
                 "printer_problem"])
    assert code == 2 and "文件已恢复原样" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in root.rglob("*.yaml")} == before
    assert main(["validate", str(root)]) == 0


def _only_key(root: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["--content", str(root), "review", "--data-dir", str(data)]) == 0
    [key] = _keys(capsys.readouterr().out)
    return key


def test_new_intent_draft(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = Engine.load(root)
    asyncio.run(_log(tmp_path / "posbot.sqlite3", engine, "收银机怎么连打印机"))
    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path)]) == 0
    [key] = _keys(capsys.readouterr().out)
    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path), "--new", key, "cash_register"]) == 0
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
    [key] = _keys(listing)
    assert main(["--content", str(root), "review", "--data-dir", str(tmp_path), "--add", key, "printer_problem"]) == 0
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


def _question(n: int, text: str, *, decision: str = "fallback",
              candidates: tuple[tuple[str, float], ...] = ()) -> LoggedQuestion:
    return LoggedQuestion(n, "7", float(n), text, decision, None, None, None, candidates, None)


def test_noise_stays_out_of_the_inbox() -> None:
    """Digits only, flow replies ("还是不行 ×11" was suggested as 签到失败) and red-line questions
    posbot refuses are no questions to learn from."""
    engine = Engine.load(None)
    noise = ["123456", "３", "8 8", "还是不行", "还是不行啊", "好了", "没反应", "帮我套现"]
    assert engine.understand("帮我套现").decision.refused
    asked = ["收银机怎么连打印机", "还是显示A5"]  # a reply word followed by what it shows is a question
    questions = [_question(n, text) for n, text in enumerate(noise + asked)]
    assert sorted(g.text for g in group(questions, engine.matcher)) == sorted(asked)


def test_a_weak_guess_is_no_suggestion() -> None:
    """A fallback's best candidate scores below the clarification threshold: not a hint worth a
    button; a clarification's leading candidate is."""
    engine = Engine.load(None)
    [weak] = group([_question(1, "门口停车要钱吗", candidates=(("signin_failure", 0.35),))], engine.matcher)
    [fair] = group([_question(2, "机器签不到", decision="clarify", candidates=(("signin_failure", 0.6),))],
                   engine.matcher)
    assert (weak.suggestion, fair.suggestion) == (None, "signin_failure")


async def test_refused_questions_are_logged_as_refused(tmp_path: Path) -> None:
    engine = Engine.load(None)
    db = SQLiteDatabase(tmp_path / "q.sqlite3")
    log = await SQLQuestionLog.open(db)
    await record_turn(log, "7", "帮我套现", engine.understand("帮我套现"))
    assert await log.inbox() == []
    assert await db.fetchall("SELECT decision FROM questions") == [("refuse",)]
    await db.close()


def test_a_reply_typed_inside_a_flow_is_not_a_question(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Mid-flow, a text posbot does not understand is read as a reply to the step (it shows the
    step's buttons again): the log keeps the flow, and the inbox leaves it out. The same text
    outside a flow is a question."""
    data = tmp_path / "data"
    monkeypatch.setattr("sys.stdin", io.StringIO("签到失败\n1\n门口停车要钱吗\n/start\n"))
    assert main(["chat", "--data-dir", str(data)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("门口停车收费吗\n"))
    assert main(["chat", "--data-dir", str(data)]) == 0
    capsys.readouterr()

    async def logged() -> tuple[list, list]:
        db = SQLiteDatabase(data / "posbot.sqlite3")
        log = await SQLQuestionLog.open(db)
        try:
            return await db.fetchall("SELECT question, flow FROM questions ORDER BY id"), await log.inbox()
        finally:
            await db.close()

    rows, inbox = asyncio.run(logged())
    assert rows == [("签到失败", None), ("门口停车要钱吗", "signin_failure"), ("门口停车收费吗", None)]
    assert [q.question for q in inbox] == ["门口停车收费吗"]


def test_after_a_flow_ended_a_question_is_a_question_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Resolved, posbot asks 有帮助/没帮上 and keeps the flow, but shows no step: a text typed then is
    no reply to a step, and reaches the inbox."""
    data = tmp_path / "data"
    monkeypatch.setattr("sys.stdin", io.StringIO("小票打出来是白的\n1\n1\n1\n门口停车要钱吗\n"))
    assert main(["--content", str(MINI), "chat", "--data-dir", str(data)]) == 0
    assert "问题解决了" in capsys.readouterr().out

    async def inbox() -> list[str]:
        db = SQLiteDatabase(data / "posbot.sqlite3")
        try:
            return [q.question for q in await (await SQLQuestionLog.open(db)).inbox()]
        finally:
            await db.close()

    assert asyncio.run(inbox()) == ["门口停车要钱吗"]
