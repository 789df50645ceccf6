"""Everything an admin reads is Chinese: what /reload, /review, stats, the HTML report, `posbot review`
and `posbot validate` say, scanned for ASCII words that are not ids, file names or commands."""

from __future__ import annotations

import asyncio
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.admin import reviewview
from bot.admin.reload import Reloader
from bot.admin.report import write_html
from bot.admin.review import group
from bot.admin.stats import Stats, as_text
from bot.cli import main
from bot.core import models
from bot.core.dialog import Dialog
from bot.core.engine import Engine
from bot.core.holder import DialogHolder
from bot.core.loader import Content
from bot.core.reply import Reply
from bot.storage.db import SQLiteDatabase
from bot.storage.questions import LoggedQuestion, SQLQuestionLog
from bot.telegram.handlers.admin import result_reply

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"
WORD = re.compile(r"[A-Za-z][A-Za-z_]*")
TERMS = frozenset({"posbot", "YAML", "top"})
"""ASCII an admin is expected to read: the program's name, the file format."""
FIELDS = frozenset(name for model in vars(models).values() if isinstance(model, type) and issubclass(model, BaseModel)
                   for name in model.model_fields)
"""The YAML's own keys (id, title, steps …): an admin writes them, so messages name them."""


def english_words(text: str, content: Content) -> list[str]:
    """ASCII words left once ids, paths, commands, versions and quoted input are taken out."""
    ids = {i.id for i in content.intents} | set(content.flows_by_id) | set(content.scripts_by_id) | FIELDS
    text = "\n".join(re.sub(r"^\S+\.yaml(:\d+)?( \S+)?：", "", line) for line in text.splitlines())  # file:line field：
    text = re.sub(r"'[^']*'|\"[^\"]*\"", " ", text)                       # the admin's own text, quoted back
    text = re.sub(r"\S+\.(yaml|html|sqlite3|py)\b|\b(intents|knowledge|schemas)/\S*", " ", text)  # paths
    text = re.sub(r"\b[a-z0-9]+(_[a-z0-9]+)+\b", " ", text)             # snake_case: ids (paper_jam)
    text = re.sub(r"(posbot|make) [a-z-]+|\.venv/bin/\S+|/[a-z]+\b|--[a-z-]+", " ", text)      # commands
    text = re.sub(r"\b[0-9a-f]{6,}\b|\b[0-9A-Z]{2}\b", " ", text)       # versions, group ids, codes
    text = re.sub(r"\b[a-z][a-z0-9_]*(\.[a-z_]+)?(\[\d+\])?", lambda m: " " if m.group().split(".")[0].split("[")[0]
                  in ids | {"symptoms", "codes", "examples", "aliases", "not_examples"} else m.group(), text)
    return [w for w in WORD.findall(text) if w not in TERMS | ids]


def test_the_scanner_finds_english() -> None:
    content = Engine.load(MINI).content
    assert english_words("已加载新内容\nversion abc123 loaded", content) == ["version", "loaded"]
    assert english_words("[7b69e8] ×2 suggest: printer_problem", content) == ["suggest"]
    assert english_words("intents/symptoms/common.yaml:9 printer_problem.examples[1]：用 posbot validate 检查", content) == []


def _text(reply: Reply) -> str:
    return "\n".join([reply.title, reply.text, *(o.label for o in reply.options)])


async def test_reload_review_and_stats_speak_chinese(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    engine = Engine.load(root)
    content = engine.content
    reloader = Reloader(DialogHolder(Dialog(engine)))
    said = [_text(result_reply(await reloader.reload()))]
    path = root / "intents" / "symptoms" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("      - 不出纸咋回事\n", "      - 不出纸咋回事\n      - 卡纸了\n"),
                    encoding="utf-8")
    said.append(_text(result_reply(await reloader.reload())))
    path.write_text(path.read_text(encoding="utf-8") + "  - id: Bad\n", encoding="utf-8")
    said.append(_text(result_reply(await reloader.reload())))
    assert "意图：修改 1 个" in said[1] and "仍在使用旧内容" in said[2]

    questions = [LoggedQuestion(n, "7", float(n), text, "clarify", None, None, 0.5, (("printer_problem", 0.5),), None)
                 for n, text in enumerate(["小票上的字很淡", "小票上的字很淡啊", "收银机怎么连"])]
    groups = group(questions, engine.matcher)
    said += [_text(reviewview.card(groups, 0, content, note="已忽略编号 abc123（1 次），以后不再出现。")),
             _text(reviewview.card(groups, 1, content)), _text(reviewview.card([], 0, content)),
             _text(reviewview.kinds(groups[0], content)), _text(reviewview.intents_page(groups[0], content, "symptom", 0))]
    stats = Stats(days=7, questions=3, per_day={"2026-12-01": 3},
                  decisions={"answer": 0.5, "clarify": 0.2, "fallback": 0.2, "refuse": 0.1},
                  top_intents=[("printer_problem", 2), ("code_51", 1)], top_codes=[("51", 1)], flows_started=1,
                  flow_feedback={"helped": 1, "not_helped": 0}, handoffs=1, ratings={"up": 1, "down": 0})
    said.append(as_text(stats, content))
    said.append(_visible(write_html(stats, tmp_path / "report.html", content).read_text(encoding="utf-8")))
    assert [(text, english_words(text, content)) for text in said if english_words(text, content)] == []


def test_posbot_review_and_validate_speak_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    content = Engine.load(root).content

    async def log() -> None:
        db = SQLiteDatabase(tmp_path / "posbot.sqlite3")
        questions = await SQLQuestionLog.open(db)
        for text in ("签到失败咋办", "收银机怎么连打印机", "门口停车要钱吗"):
            await questions.record("7", text, "fallback", intent=None, code=None, score=None, candidates=[])
        await db.close()

    asyncio.run(log())
    review = ["--content", str(root), "review", "--data-dir", str(tmp_path)]
    said = []
    for argv in (review, ["validate", str(root)]):
        main(argv)
        said.append("".join(capsys.readouterr()))
    keys = re.findall(r"^\[([0-9a-f]{6})\] ×1  (\S+)", said[0], flags=re.M)
    by_text = {text: key for key, text in keys}
    for argv in ([*review, "--add", by_text["签到失败咋办"], "printer_problem"],  # refused: signin_failure has it
                 [*review, "--add", by_text["收银机怎么连打印机"], "printer_problem"],
                 [*review, "--ignore", by_text["门口停车要钱吗"]], [*review, "--add", "ffffff", "printer_problem"],
                 [*review, "--add", by_text["签到失败咋办"], "no_such_intent"], review):
        main(argv)
        said.append("".join(capsys.readouterr()))
    assert "文件已恢复原样" in said[2] and "没有 id 为 no_such_intent 的意图" in said[6]
    assert [(text, english_words(text, content)) for text in said if english_words(text, content)] == []


def _visible(html: str) -> str:
    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []
            self.skip = False

        def handle_starttag(self, tag: str, attrs: object) -> None:
            self.skip = tag in ("style", "script")

        def handle_endtag(self, tag: str) -> None:
            self.skip = False

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def test_posbot_eval_speaks_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """指标, 底线 and 上次, and the misses, in Chinese (the second run has a previous one to show)."""
    cases = tmp_path / "questions.yaml"
    cases.write_text('- {q: "显示51", gold: "51"}\n- {q: "打印机白纸", gold: printer_problem}\n'
                     '- {q: "今天天气", gold: none}\n- {q: "签到失败咋办", gold: printer_problem}\n', encoding="utf-8")
    content = Engine.load(None).content
    said = []
    for _ in range(2):
        assert main(["eval", str(cases), "--data-dir", str(tmp_path / "data")]) == 0
        said.append(capsys.readouterr().out)
    assert "指标" in said[1] and "底线" in said[1] and "上次" in said[1] and "没答对的问题（1 道" in said[1]
    assert [(text, english_words(text, content)) for text in said if english_words(text, content)] == []
