"""The dialog engine, driven the way the console and Telegram drive it."""

import pytest

from bot.core.dialog import HUMAN, NONE_OF_THESE, SHOW, UNSURE_NOTE, Dialog, DialogState, StaleChoice
from bot.core.engine import Engine


def test_welcome_offers_common_problems_and_a_human(dialog: Dialog) -> None:
    reply = dialog.welcome()
    actions = [o.action for o in reply.options]
    assert SHOW + "charged_but_failed" in actions
    assert actions[-1] == HUMAN


def test_code_answer_explains_meaning_party_steps_and_customer_line(dialog: Dialog) -> None:
    turn = dialog.on_text("pos机显示51", DialogState())
    reply = turn.reply
    assert reply.kind == "answer" and reply.intent == "code_51"
    assert reply.title.startswith("应答码 51")
    assert "谁来处理：持卡人" in reply.text
    assert "对顾客可以说" in reply.text
    assert "1. " in reply.text
    assert turn.state.version == dialog.engine.version


def test_low_confidence_answers_defer_to_the_acquirer(dialog: Dialog) -> None:
    reply = dialog.on_text("显示08", DialogState()).reply
    assert reply.intent == "code_08"
    assert UNSURE_NOTE in reply.text
    assert UNSURE_NOTE not in dialog.on_text("显示51", DialogState()).reply.text


def test_code_with_symptom_offers_the_symptom(dialog: Dialog) -> None:
    reply = dialog.on_text("扣钱了但显示96", DialogState()).reply
    assert reply.intent == "code_96"
    assert SHOW + "charged_but_failed" in [o.action for o in reply.options]


def test_clarify_then_pick(dialog: Dialog) -> None:
    clarify = None
    for question in ("密码", "卡", "失败了", "机器有问题", "钱"):
        turn = dialog.on_text(question, DialogState())
        if turn.reply.kind == "clarify":
            clarify = turn
            break
    assert clarify is not None, "expected one of the vague questions to be clarified"
    assert clarify.reply.title == "您是想问…"
    assert clarify.reply.options[-1].action == NONE_OF_THESE
    assert 2 <= len(clarify.reply.options) <= 4
    picked = dialog.on_action(clarify.reply.options[0].action, clarify.state)
    assert picked.reply.kind == "answer"
    assert picked.reply.intent == clarify.reply.options[0].action[len(SHOW):]


def test_none_of_these_and_fallbacks_count_up(dialog: Dialog) -> None:
    state = DialogState()
    turn = dialog.on_text("今天天气怎么样", state)
    assert turn.reply.kind == "fallback"
    assert "没看懂" in turn.reply.text
    assert turn.state.fallbacks == 1
    turn = dialog.on_action(NONE_OF_THESE, turn.state)
    assert turn.reply.kind == "fallback" and turn.state.fallbacks == 2
    assert dialog.on_text("51", turn.state).state.fallbacks == 0


def test_empty_message_is_answered_kindly(dialog: Dialog) -> None:
    reply = dialog.on_text("   ", DialogState()).reply
    assert reply.kind == "fallback"
    assert "还没输入" in reply.text


def test_stale_choices_raise_a_precise_error(dialog: Dialog, mini_engine: Engine) -> None:
    with pytest.raises(StaleChoice):
        dialog.on_action(SHOW + "no_such_intent", DialogState())
    with pytest.raises(StaleChoice):
        dialog.on_action("garbage:payload", DialogState())
    old = DialogState(version="older-content")
    with pytest.raises(StaleChoice):
        dialog.on_action(SHOW + "code_51", old)
    assert dialog.expired().kind == "expired"
    assert dialog.expired().options


def test_state_round_trips_through_a_dict() -> None:
    state = DialogState(version="abc", fallbacks=2, last_question="显示51")
    assert DialogState.from_dict(state.to_dict()) == state
    assert DialogState.from_dict(None) == DialogState()
    assert DialogState.from_dict({"version": "x", "unknown": 1}) == DialogState(version="x")


def test_human_option_says_how_to_reach_support(dialog: Dialog) -> None:
    reply = dialog.on_action(HUMAN, DialogState()).reply
    assert reply.kind == "human"
    assert "客服" in reply.text
