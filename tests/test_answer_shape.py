"""Answers fit a phone (issue 15): every intent's answer, rendered as Telegram HTML and as console
text, keeps the budget; what is left out is one tap away under 详细说明; and `posbot validate` says,
in Chinese with file:line, when content would break the budget."""

from __future__ import annotations

import html
import io
import re
import shutil
from pathlib import Path

import pytest

from bot.console import ConsoleChat, render as console_render
from bot.core.answer import NOT_WHAT_I_MEANT, ANSWER_LINES, STEP_LIMIT, phone_lines
from bot.core.checks import check_content
from bot.core.dialog import DETAILS, DETAILS_LABEL, SHOW, Dialog, DialogState, action
from bot.core.errors import ContentError
from bot.core.loader import load_content
from bot.core.models import NOW_LIMIT
from bot.core.reply import Reply
from bot.telegram.render import render as telegram_render
from tests.conftest import MINI


def telegram_lines(reply: Reply) -> list[str]:
    """The lines of the message as Telegram shows them: tags dropped, entities decoded."""
    rendered = telegram_render(reply)
    assert len(rendered.chunks) == 1, "an answer is one message"
    return html.unescape(re.sub(r"<[^>]+>", "", rendered.chunks[0])).splitlines()


def console_lines(reply: Reply) -> list[str]:
    """The console's lines above the numbered options."""
    return [line for line in console_render(reply).splitlines() if not re.match(r"  \[\d+\] ", line)]


def shown_answers(dialog: Dialog) -> list[tuple[str, Reply]]:
    return [(intent.id, dialog.on_action(action(SHOW, intent.id), DialogState()).reply)
            for intent in dialog.content.intents]


def test_every_answer_keeps_the_phone_budget_in_telegram_and_the_console(dialog: Dialog) -> None:
    answers = shown_answers(dialog)
    assert len(answers) == len(dialog.content.intents) > 100
    for intent_id, reply in answers:
        for front_end, lines in (("telegram", telegram_lines(reply)), ("console", console_lines(reply))):
            assert len(lines) <= ANSWER_LINES, f"{intent_id} in {front_end}: {len(lines)} lines\n" + "\n".join(lines)
        if reply.kind in ("answer", "redirect", "refusal"):
            first = reply.text.splitlines()[0].removeprefix("找谁：")
            assert len(first) <= NOW_LIMIT, f"{intent_id}: first line {first!r}"
            assert phone_lines("\n".join(telegram_lines(reply))) <= 2 * ANSWER_LINES + 2, intent_id


def test_a_problem_answer_is_its_first_line_steps_and_customer_line(dialog: Dialog) -> None:
    for intent in dialog.content.problems:
        reply = dialog.on_action(action(SHOW, intent.id), DialogState()).reply
        lines = reply.text.splitlines()
        assert lines[0] == intent.now, intent.id
        assert [line for line in lines if re.match(r"\d+\. ", line)] == [
            f"{n}. {step}" for n, step in enumerate(intent.steps, 1)], intent.id
        assert all(len(step) <= STEP_LIMIT for step in intent.steps), intent.id
        # the old shape's explanation paragraph (which summed up the steps) is no longer in the answer
        assert getattr(intent, "answer", getattr(intent, "meaning", "")) not in reply.text, intent.id


def test_what_the_answer_leaves_out_is_under_details_in_both_front_ends(dialog: Dialog) -> None:
    for intent in dialog.content.problems:
        answer = dialog.on_action(action(SHOW, intent.id), DialogState())
        [button] = [o for o in answer.reply.options if o.label == DETAILS_LABEL]
        assert button.action == action(DETAILS, intent.id)
        assert any(b.callback_data == button.action for row in telegram_render(answer.reply).keyboard.inline_keyboard
                   for b in row)
        details = dialog.on_action(button.action, answer.state).reply
        shown = "\n".join(telegram_lines(details))
        explanation = intent.meaning if intent.kind == "code" else intent.answer
        assert explanation in shown and explanation in console_render(details), intent.id
        for line in intent.details:
            assert line in shown, intent.id
        if intent.kind == "code":
            assert f"谁来处理：{intent.party.label}" in shown
        assert details.kind == "details" and DETAILS_LABEL not in [o.label for o in details.options]


def test_the_console_opens_details_by_its_number(dialog: Dialog) -> None:
    out = io.StringIO()
    chat = ConsoleChat(dialog, out=out)
    chat.handle("pos机显示51")
    number = [o.label for o in dialog.on_text("pos机显示51", DialogState()).reply.options].index(DETAILS_LABEL) + 1
    chat.handle(str(number))
    text = out.getvalue()
    assert "【详细说明 · 应答码 51：资金不足】" in text and "谁来处理：持卡人（顾客）" in text
    assert "[1] 一步步排查" in text.rsplit("【详细说明", 1)[1]


def test_details_of_an_intent_without_them_is_a_stale_button(dialog: Dialog) -> None:
    from bot.core.dialog import StaleChoice

    with pytest.raises(StaleChoice):
        dialog.on_action(action(DETAILS, "thanks"), DialogState())
    with pytest.raises(StaleChoice):
        dialog.on_action(action(DETAILS, "no_such_intent"), DialogState())


def test_a_refusal_without_an_intent_keeps_the_shape(dialog: Dialog) -> None:
    reply = dialog._refusal(None)
    assert len(reply.text.splitlines()[0]) <= NOW_LIMIT and len(telegram_lines(reply)) <= ANSWER_LINES


def test_a_refusal_on_a_loose_fit_says_what_it_took_the_question_for(dialog: Dialog) -> None:
    for redline in dialog.content.redlines:
        reply = dialog._refusal(redline, sure=False)
        assert redline.title in reply.title and reply.text.splitlines()[0] == redline.now
        assert reply.text.splitlines()[-1] == NOT_WHAT_I_MEANT
        for lines in (telegram_lines(reply), console_lines(reply)):
            assert len(lines) <= ANSWER_LINES, f"{redline.id}: {len(lines)} lines"


# ---- the validator ---------------------------------------------------------------------------


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    return root


def edit(root: Path, old: str, new: str) -> None:
    path = root / "intents" / "codes" / "common.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_first_line_over_40_characters_is_reported_with_file_and_line(content_copy: Path) -> None:
    edit(content_copy, "    now: 请顾客换卡或改扫码，别重刷同一张卡\n", "    now: " + "请顾客换卡" * 9 + "\n")
    with pytest.raises(ContentError) as error:
        load_content(content_copy)
    [problem] = error.value.problems
    assert str(problem).startswith("intents/codes/common.yaml:9 codes[0].now：第一句是商户最先看到的“现在先做什么”，"
                                   "最多 40 个字（手机上约两行），现在有 45 个")


def test_a_missing_first_line_is_reported(content_copy: Path) -> None:
    edit(content_copy, "    now: 请顾客换卡或改扫码，别重刷同一张卡\n", "")
    with pytest.raises(ContentError) as error:
        load_content(content_copy)
    assert [str(p) for p in error.value.problems] == ["intents/codes/common.yaml:3 codes[0].now：缺少这个字段（必填）"]


def test_an_answer_over_8_lines_is_reported_with_file_and_line(content_copy: Path) -> None:
    steps = "".join(f"      - 第{n}步：检查一下这里。\n" for n in range(2, 8))
    edit(content_copy, "      - 请顾客换一张卡或改用扫码、现金。\n", "      - 请顾客换一张卡或改用扫码、现金。\n" + steps)
    problems = [str(p) for p in check_content(load_content(content_copy))]
    assert "intents/codes/common.yaml:11 code_51.steps：回答在手机上有 10 行（连标题最多 8 行）：只留下马上要做的几步，" \
           "其余的移到 details（详细说明）里" in problems


def test_an_answer_of_8_lines_passes(content_copy: Path) -> None:
    steps = "".join(f"      - 第{n}步：检查一下这里。\n" for n in range(2, 6))
    edit(content_copy, "      - 请顾客换一张卡或改用扫码、现金。\n", "      - 请顾客换一张卡或改用扫码、现金。\n" + steps)
    assert not [p for p in check_content(load_content(content_copy)) if "行（连标题" in p.message]


def test_a_long_step_and_a_step_that_repeats_the_first_line_are_reported(content_copy: Path) -> None:
    edit(content_copy, "      - 请顾客换一张卡或改用扫码、现金。\n",
         "      - 请顾客换卡或改扫码，别重刷同一张卡。\n      - " + "核对金额" * 11 + "\n")
    problems = [str(p) for p in check_content(load_content(content_copy))]
    assert any(p.startswith("intents/codes/common.yaml:11 code_51.steps[0]：这一步和第一句（now）几乎一样") for p in problems)
    assert ("intents/codes/common.yaml:12 code_51.steps[1]：这一步有 44 个字，回答里每一步最多 40 个字（手机上约两行）："
            "写短些，原因和少见的情况移到 details（详细说明）里") in problems
