"""The conversation cases in intents/tests/conversations/*.yaml, through the turn service and through
the console chat; and the runner itself, so that a conversation that should fail does."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.dialog import Dialog
from tests.conversations import Conversation, ConversationError, load_conversations, run_in_console, run_in_dialog

ROOT = Path(__file__).resolve().parents[1]
CONVERSATIONS = ROOT / "intents" / "tests" / "conversations"


def _collect() -> tuple[list, str | None]:
    try:
        return [pytest.param(c, id=c.test_id) for c in load_conversations(CONVERSATIONS)], None
    except ConversationError as error:
        return [], str(error)


PARAMS, LOAD_ERROR = _collect()


def test_conversation_files_load() -> None:
    assert LOAD_ERROR is None, LOAD_ERROR
    assert len(PARAMS) >= 10


@pytest.mark.parametrize("conversation", PARAMS)
def test_conversation_in_the_dialog(conversation: Conversation, dialog: Dialog) -> None:
    problems = run_in_dialog(conversation, dialog)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("conversation", PARAMS)
def test_conversation_in_the_console(conversation: Conversation, dialog: Dialog) -> None:
    if conversation.support:
        pytest.skip("the console has no support group")
    problems = run_in_console(conversation, dialog)
    assert not problems, "\n\n".join(problems)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cases.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_the_runner_reports_what_a_reply_must_and_must_not_say(tmp_path: Path, dialog: Dialog) -> None:
    [wrong] = load_conversations(write(tmp_path, """
conversations:
  - name: 错的期望
    turns:
      - say: 显示51
        must_say: ["这句不会出现"]
        must_not_say: ["应答码 51"]
        kind: fallback
        fallbacks: 3
      - tap: 没有这个按钮
"""))
    problems = run_in_dialog(wrong, dialog)
    assert len(problems) == 5 and all("“错的期望” turn" in p for p in problems)
    assert "must say /这句不会出现/" in problems[0] and "must not say /应答码 51/" in problems[1]
    assert "not a fallback" in problems[2] and "not 3" in problems[3] and "no button “没有这个按钮”" in problems[4]
    console = run_in_console(wrong, dialog)
    assert len(console) == 3 and "console shows no option “没有这个按钮”" in console[2]


def test_the_console_taps_by_the_number_it_printed(tmp_path: Path, dialog: Dialog) -> None:
    [walk] = load_conversations(write(tmp_path, """
conversations:
  - name: 点按钮
    turns:
      - say: 显示51
      - tap: 转人工
        must_say: ["没有接人工客服群"]
"""))
    assert run_in_console(walk, dialog) == []
    assert len(run_in_dialog(walk, dialog)) == 1, "the dialog's reply has no console note"


def test_the_runner_checks_the_topic(tmp_path: Path, dialog: Dialog) -> None:
    [wrong] = load_conversations(write(tmp_path, """
conversations:
  - name: 话题
    turns:
      - say: 显示51
        topic: code_96
      - say: 显示96
        topic: code_96
"""))
    assert run_in_dialog(wrong, dialog) == [
        "cases.yaml “话题” turn 1 (say '显示51', turn service): the topic is code_51, not code_96"]


@pytest.mark.parametrize("text, message", [
    ("conversations: [{name: x, turns: []}]", "turns: is a non-empty list"),
    ("conversations: [{name: x, turns: [{say: a, tap: b}]}]", "exactly one of say: and tap:"),
    ("conversations: [{name: x, turns: [{staff: hi}]}]", "need support: true"),
    ("conversations: [{name: x, support: true, turns: [{staff: hi, must_say: a}]}]", "and nothing else"),
    ("conversations: [{name: x, turns: [{say: 51}]}]", "quoted string"),
    ("conversations: [{name: x, turns: [{say: a, must_say: ['(']}]}]", "not a regular expression"),
    ("conversations: [{name: x, turns: [{say: a, expect: b}]}]", "unknown key(s) ['expect']"),
    ("conversations: [{name: x, turns: [{say: a, topic: 51}]}]", "topic is an intent id"),
    ("cases: []", "one key, conversations:"),
])
def test_malformed_files_name_the_file_conversation_and_turn(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConversationError, match="cases.yaml") as raised:
        load_conversations(write(tmp_path, text))
    assert message in str(raised.value)
