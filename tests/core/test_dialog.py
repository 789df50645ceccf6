"""The dialog engine, driven the way the console and Telegram drive it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.core.dialog import (BACK, CHOOSE, CURRENT, FLOW, HELPED, HUMAN, MENU, NONE_OF_THESE, NUDGE, RESTART,
                             SCRIPT, SHOW, UNSURE_NOTE, Dialog, DialogState, StaleChoice, Turn, action)
from bot.core.engine import Engine

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini"


@pytest.fixture
def mini(mini_engine: Engine) -> Dialog:
    return Dialog(mini_engine)


def actions(turn: Turn) -> list[str]:
    return [option.action for option in turn.reply.options]


def labels(turn: Turn) -> list[str]:
    return [option.label for option in turn.reply.options]


# ---- answers, clarifications, fallbacks (real content) -------------------------------------


def test_welcome_offers_common_problems_and_a_human(dialog: Dialog) -> None:
    options = [o.action for o in dialog.welcome().options]
    assert action(SHOW, "charged_but_failed") in options
    assert options[-1] == HUMAN


def test_code_answer_explains_and_offers_flow_and_script(dialog: Dialog) -> None:
    turn = dialog.on_text("pos机显示51", DialogState())
    reply = turn.reply
    assert reply.kind == "answer" and reply.intent == "code_51"
    assert reply.title.startswith("应答码 51")
    assert reply.text.splitlines()[0] == dialog.content.by_code["51"].now
    assert "对顾客可以说" in reply.text
    assert "1. " in reply.text
    assert actions(turn) == [action(FLOW, "issuer_decline"), action(SCRIPT, "issuer_decline"), "d:code_51", HUMAN]
    details = dialog.on_action("d:code_51", turn.state).reply
    assert "谁来处理：持卡人" in details.text and "意思：" in details.text
    assert turn.state.version == dialog.engine.version


def test_low_confidence_answers_defer_to_the_acquirer(dialog: Dialog) -> None:
    reply = dialog.on_text("显示08", DialogState()).reply
    assert reply.intent == "code_08"
    assert UNSURE_NOTE in reply.text
    assert UNSURE_NOTE not in dialog.on_text("显示51", DialogState()).reply.text


def test_code_with_symptom_offers_the_symptom(dialog: Dialog) -> None:
    turn = dialog.on_text("扣钱了但显示96", DialogState())
    assert turn.reply.intent == "code_96"
    assert action(SHOW, "charged_but_failed") in actions(turn)


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
    assert action(SHOW, picked.reply.intent or "") == clarify.reply.options[0].action


def test_none_of_these_and_fallbacks_count_up(dialog: Dialog) -> None:
    turn = dialog.on_text("今天天气怎么样", DialogState())
    assert turn.reply.kind == "fallback" and "没看懂" in turn.reply.text
    assert turn.state.fallbacks == 1
    turn = dialog.on_action(NONE_OF_THESE, turn.state)
    assert turn.reply.kind == "fallback" and turn.state.fallbacks == 2
    assert dialog.on_text("51", turn.state).state.fallbacks == 0


def test_red_line_requests_get_a_refusal(dialog: Dialog) -> None:
    reply = dialog.on_text("教我怎么套现", DialogState()).reply
    assert reply.kind == "refusal" and "违反" in reply.text


def test_empty_message_is_answered_kindly(dialog: Dialog) -> None:
    reply = dialog.on_text("   ", DialogState()).reply
    assert reply.kind == "fallback" and "还没输入" in reply.text


def test_stale_actions_raise_a_precise_error(dialog: Dialog) -> None:
    for stale in (action(SHOW, "no_such_intent"), "garbage:payload", action(CHOOSE, "printer_problem", "x", "0"),
                  action(FLOW, "gone"), action(SCRIPT, "gone"), action(HELPED, "gone"), CURRENT, "", "c:::"):
        with pytest.raises(StaleChoice):
            dialog.on_action(stale, DialogState())
    assert dialog.expired().kind == "expired" and dialog.expired().options


def test_state_round_trips_through_a_dict() -> None:
    state = DialogState(version="abc", fallbacks=2, last_question="显示51", flow="f", step="s",
                        history=("f/a", "f/b"), slots=(("amount", "300元"),))
    assert DialogState.from_dict(state.to_dict()) == state
    assert DialogState.from_dict(None) == DialogState()
    assert DialogState.from_dict({"version": "x", "unknown": 1}) == DialogState(version="x")


def test_card_numbers_are_masked_in_the_state(dialog: Dialog) -> None:
    turn = dialog.on_text("卡号6222021234567890128刷了300元没出小票", DialogState())
    assert "6222021234567890128" not in turn.state.last_question
    assert "****0128" in turn.state.last_question
    assert dict(turn.state.slots) == {"amount": "300元", "last4": "0128", "symptom": "charged_but_failed"}


# ---- flows (fixture content, so every path is known) ---------------------------------------


def start(dialog: Dialog, flow_id: str) -> Turn:
    return dialog.on_action(action(FLOW, flow_id), DialogState())


def pick(dialog: Dialog, turn: Turn, label: str) -> Turn:
    [chosen] = [o.action for o in turn.reply.options if o.label == label]
    return dialog.on_action(chosen, turn.state)


def test_a_step_shows_its_choices_and_the_standard_buttons(mini: Dialog) -> None:
    turn = start(mini, "printer_problem")
    assert turn.reply.kind == "step" and turn.reply.text == "打出来是白纸吗？"
    assert labels(turn) == ["是白纸", "交易成功没出票", "签到也不行", "转人工"]
    turn = pick(mini, turn, "是白纸")
    assert labels(turn) == ["好了，能打出字", "还是不行", "上一步", "重新开始", "转人工"]
    assert (turn.state.flow, turn.state.step, turn.state.history) == ("printer_problem", "reload", ("printer_problem/blank",))


def test_walk_to_resolved_then_feedback_is_recorded(mini: Dialog) -> None:
    turn = pick(mini, pick(mini, start(mini, "printer_problem"), "是白纸"), "好了，能打出字")
    assert turn.reply.kind == "feedback"
    assert [(e.kind, e.flow, e.end, e.path) for e in turn.events] == [
        ("ended", "printer_problem", "resolved", ("printer_problem/blank", "printer_problem/reload"))]
    done = mini.on_action(turn.reply.options[1].action, turn.state)
    assert [(e.kind, e.helped) for e in done.events] == [("feedback", False)]
    assert HUMAN in actions(done)


def test_walk_to_escalate_hands_to_a_human(mini: Dialog) -> None:
    turn = start(mini, "printer_problem")
    for label in ("是白纸", "还是不行", "联系服务商"):
        turn = pick(mini, turn, label)
    assert turn.reply.kind == "human"
    assert turn.events[0].end == "escalate" and turn.events[0].helped is False
    assert turn.state.flow is None


def test_walk_to_a_script_fills_what_the_merchant_said(mini: Dialog) -> None:
    state = mini.on_text("下午3点刷了58.5元 尾号1234 打印机不出票", DialogState()).state
    turn = mini.on_action(action(FLOW, "printer_problem"), state)
    turn = pick(mini, turn, "交易成功没出票")
    assert turn.reply.kind == "script"
    assert "刚才这笔58.5元机器没打出小票。" in turn.reply.text
    assert "我记下了时间下午3点和尾号1234。" in turn.reply.text
    assert turn.events[0].end == "script:receipt"
    helped = mini.on_action(action(HELPED, "printer_problem"), turn.state)
    assert helped.events[0].helped is True


def test_script_without_details_shows_clear_blanks(mini: Dialog) -> None:
    reply = mini.on_action(action(SCRIPT, "receipt"), DialogState()).reply
    assert "刚才这笔（金额）机器没打出小票。" in reply.text
    assert "时间（交易时间）和尾号（卡号后四位）" in reply.text
    assert "{" not in reply.text


def with_short_receipt(root: Path) -> Dialog:
    scripts = root / "knowledge" / "scripts" / "mini.yaml"
    text = scripts.read_text(encoding="utf-8")
    scripts.write_text(text.replace("    apologise:", "    short: 这笔{amount}付好了，小票我马上补打。\n    apologise:", 1),
                       encoding="utf-8")
    return Dialog(Engine.load(root))


def test_a_script_shows_its_short_form_first_and_the_six_moves_on_request(mini_copy: Path) -> None:
    dialog = with_short_receipt(mini_copy)
    state = dialog.on_text("刷了58.5元 打印机不出票", DialogState()).state
    short = dialog.on_action(action(SCRIPT, "receipt"), state)
    assert short.reply.kind == "script" and short.reply.text == "这笔58.5元付好了，小票我马上补打。"
    assert labels(short) == ["完整话术", "转人工"]
    full = pick(dialog, short, "完整话术")
    assert full.reply.kind == "script" and full.reply.title == "对顾客这样说（完整）：交易情况"
    assert full.reply.text.splitlines() == ["不好意思，让您久等了。", "刚才这笔58.5元机器没打出小票。", "我马上给您补打一张。",
                                            "我记下了时间（交易时间）和尾号（卡号后四位）。", "您看可以吗？", "有问题随时找我。"]
    assert "完整话术" not in labels(full)


def test_the_longer_script_keeps_the_flow_buttons(mini_copy: Path) -> None:
    dialog = with_short_receipt(mini_copy)
    turn = pick(dialog, start(dialog, "printer_problem"), "交易成功没出票")
    assert turn.reply.text == "这笔（金额）付好了，小票我马上补打。"
    assert labels(turn) == ["完整话术", "好了，解决了", "还是不行", "回到排查", "转人工"]
    full = pick(dialog, turn, "完整话术")
    assert labels(full) == ["好了，解决了", "还是不行", "回到排查", "转人工"]
    assert full.events == ()  # the flow ended once, at the script
    assert pick(dialog, full, "回到排查").reply.kind == "step"


def test_a_script_without_a_short_form_shows_the_six_moves(mini: Dialog) -> None:
    reply = mini.on_action(action(SCRIPT, "receipt"), DialogState()).reply
    assert len(reply.text.splitlines()) == 6 and "完整话术" not in [o.label for o in reply.options]


def test_a_longer_script_action_with_extra_arguments_is_stale(mini: Dialog) -> None:
    with pytest.raises(StaleChoice):
        mini.on_action(action(SCRIPT, "receipt", "full", "x"), DialogState())
    with pytest.raises(StaleChoice):
        mini.on_action(action(SCRIPT, "receipt", "long"), DialogState())


def test_a_choice_can_continue_in_another_flow_and_back_returns(mini: Dialog) -> None:
    turn = pick(mini, start(mini, "printer_problem"), "签到也不行")
    assert (turn.state.flow, turn.state.step) == ("signin_failure", "resign")
    back = mini.on_action(action(BACK, "signin_failure", "resign"), turn.state)
    assert (back.state.flow, back.state.step, back.state.history) == ("printer_problem", "blank", ())


def test_restart_goes_to_the_first_step(mini: Dialog) -> None:
    turn = pick(mini, pick(mini, start(mini, "printer_problem"), "是白纸"), "还是不行")
    again = mini.on_action(action(RESTART, "printer_problem"), turn.state)
    assert (again.state.step, again.state.history) == ("blank", ())


def test_double_tap_is_stale(mini: Dialog) -> None:
    first = start(mini, "printer_problem")
    tapped = first.reply.options[0].action
    second = mini.on_action(tapped, first.state)
    with pytest.raises(StaleChoice):
        mini.on_action(tapped, second.state)


def test_typed_ok_and_not_ok_pick_the_obvious_choice(mini: Dialog) -> None:
    turn = pick(mini, start(mini, "printer_problem"), "是白纸")
    assert mini.on_text("还是不行", turn.state).state.step == "repair"
    assert mini.on_text("好了！", turn.state).reply.kind == "feedback"
    # on the last step "不行" falls back to the choice that escalates
    repair = mini.on_text("还是不行", turn.state)
    assert mini.on_text("不行", repair.state).reply.kind == "human"


def test_a_new_question_mid_flow_leaves_the_flow(mini: Dialog) -> None:
    turn = pick(mini, start(mini, "printer_problem"), "是白纸")
    new = mini.on_text("显示a0", turn.state)
    assert new.reply.intent == "code_a0" and new.state.flow is None
    assert action(FLOW, "signin_failure") in actions(new)


def test_a_question_not_understood_mid_flow_gets_a_short_nudge_with_the_steps_buttons(mini: Dialog) -> None:
    turn = pick(mini, start(mini, "printer_problem"), "是白纸")
    lost = mini.on_text("今天天气怎么样", turn.state)
    assert lost.reply.text == NUDGE and actions(lost) == actions(turn)
    assert (lost.state.flow, lost.state.step, lost.state.fallbacks) == (turn.state.flow, turn.state.step, 0)
    again = mini.on_text("今天天气怎么样", lost.state)
    assert again.reply.text == NUDGE, "never the long fallback, not even the second time"
    resumed = mini.on_action(CURRENT, again.state)
    assert resumed.reply.text.startswith("把纸卷翻过来")


def test_step_deleted_by_a_content_update_restarts_politely(mini: Dialog, tmp_path: Path) -> None:
    turn = pick(mini, start(mini, "printer_problem"), "是白纸")
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    flows = root / "knowledge" / "flows" / "mini.yaml"
    flows.write_text(flows.read_text(encoding="utf-8").replace("id: reload", "id: reload_v2")
                     .replace("next: reload", "next: reload_v2"), encoding="utf-8")
    updated = Dialog(Engine.load(root))
    old_button = turn.reply.options[0].action
    restarted = updated.on_action(old_button, turn.state)
    assert "从第一步重新开始" in restarted.reply.text
    assert (restarted.state.flow, restarted.state.step) == ("printer_problem", "blank")
    assert restarted.state.version == updated.engine.version


def test_step_still_there_after_an_update_continues(mini: Dialog, tmp_path: Path) -> None:
    turn = pick(mini, start(mini, "printer_problem"), "是白纸")
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    lexicon = root / "intents" / "lexicon.yaml"
    lexicon.write_text(lexicon.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    updated = Dialog(Engine.load(root))
    assert updated.engine.version != mini.engine.version
    assert updated.on_action(turn.reply.options[0].action, turn.state).reply.kind == "feedback"


def test_code_intents_reach_flows_and_scripts_by_party(mini_engine: Engine) -> None:
    content = mini_engine.content
    assert content.flow_for("code_51").id == "card_side"       # party cardholder
    assert content.flow_for("code_a0").id == "signin_failure"  # named explicitly
    assert content.script_for("code_03").id == "receipt"       # party acquirer
    assert content.flow_for("unknown_decline").id == "card_side"


def test_human_option_says_how_to_reach_support(dialog: Dialog) -> None:
    reply = dialog.on_action(HUMAN, DialogState()).reply
    assert reply.kind == "human" and "客服" in reply.text


def test_small_talk_gets_a_short_reply_and_counts_as_no_misunderstanding(dialog: Dialog) -> None:
    turn = dialog.on_text("谢谢", DialogState(fallbacks=1))
    assert turn.reply.kind == "smalltalk" and turn.reply.intent == "thanks"
    assert turn.state.fallbacks == 1  # neither a misunderstanding nor an answer


def test_ok_mid_flow_keeps_the_flow_going(dialog: Dialog) -> None:
    started = dialog.on_action(action(FLOW, "printer_problem"), DialogState())
    step = started.state.step
    turn = dialog.on_text("好的", started.state)
    assert turn.reply.kind == "step" and turn.state.step == step
    assert turn.reply.text.startswith("好的")


def test_someone_elses_job_says_who_to_contact(dialog: Dialog) -> None:
    reply = dialog.on_text("我的信用卡被冻结了怎么办", DialogState()).reply
    assert reply.kind == "redirect" and "找谁：" in reply.text and "发卡" in reply.text


def test_red_lines_by_meaning_say_why_and_what_follows(dialog: Dialog) -> None:
    reply = dialog.on_text("朋友没钱让我帮他刷一下卡 我转现金给他", DialogState()).reply
    assert reply.kind == "refusal" and reply.intent == "cash_out"
    assert "套现" in reply.text and "冻结" in reply.text


def test_a_greeting_read_off_a_photo_is_not_answered_as_small_talk(dialog: Dialog) -> None:
    from bot.core.screen import ScreenLine
    turn = dialog.on_screen([ScreenLine("欢迎光临", 0.99)], DialogState())
    assert turn.reply.kind == "fallback"


# ---- typed replies at a step, fallbacks, noise, typed requests for a human (real content) -----------


def at_jammed_paper(dialog: Dialog) -> Turn:
    """The printer flow's paper step: 好了，出纸了 / 还是不出纸."""
    return pick(dialog, start(dialog, "printer_problem"), "不出纸/卡纸")


@pytest.mark.parametrize("typed, picked", [
    ("搞定啦", "好了，出纸了"), ("可以了 谢谢", "好了，出纸了"), ("成功了！", "好了，出纸了"), ("出纸了", "好了，出纸了"),
    ("还是没反应", "还是不出纸"), ("没用", "还是不出纸"), ("还是不行啊", "还是不出纸"), ("还是不出纸", "还是不出纸")])
def test_a_typed_reply_at_a_step_picks_the_choice_it_means(dialog: Dialog, typed: str, picked: str) -> None:
    at = at_jammed_paper(dialog)
    assert picked in labels(at)
    expected = pick(dialog, at, picked)
    turn = dialog.on_text(typed, at.state)
    assert (turn.reply.text, turn.state.step, turn.events) == (expected.reply.text, expected.state.step, expected.events)


def test_a_new_question_at_a_step_is_not_taken_for_a_choice(dialog: Dialog) -> None:
    turn = dialog.on_text("签到失败", at_jammed_paper(dialog).state)
    assert turn.reply.intent == "signin_failure" and turn.state.flow is None


def test_the_long_fallback_is_never_shown_twice_in_a_row(dialog: Dialog) -> None:
    first = dialog.on_text("asdfgh", DialogState())
    second = dialog.on_text("qwerty", first.state)
    third = dialog.on_text("zxcvb", second.state)
    assert first.reply.text.startswith("抱歉，这个问题我没看懂") and len(first.reply.text) > 60
    assert second.reply.text == third.reply.text and len(second.reply.text) <= 40
    assert HUMAN in actions(second) and MENU in actions(second)
    assert third.state.fallbacks == 3
    assert dialog.on_action(NONE_OF_THESE, first.state).reply.text == second.reply.text


@pytest.mark.parametrize("text", ["", "   ", "\n", "😀", "👍👍", "？？？", "🙏 。"])
def test_blank_emoji_and_punctuation_are_not_misunderstandings(dialog: Dialog, text: str) -> None:
    once = dialog.on_text("asdfgh", DialogState())
    turn = dialog.on_text(text, once.state)
    assert turn.state.fallbacks == 1 and turn.reply.kind == "fallback" and "没看懂" not in turn.reply.text
    at = at_jammed_paper(dialog)
    inside = dialog.on_text(text, at.state)
    assert inside.reply.text == NUDGE and inside.state.step == at.state.step and inside.state.fallbacks == 0


@pytest.mark.parametrize("typed", ["转人工", "人工", "找客服", "我要人工客服"])
def test_typed_request_for_a_human_says_who_to_call_with_a_way_back(dialog: Dialog, typed: str) -> None:
    turn = dialog.on_text(typed, at_jammed_paper(dialog).state)
    assert turn.reply.kind == "human" and "客服" in turn.reply.text and MENU in actions(turn)
    assert turn.state.flow is None and turn.state.fallbacks == 0
    tapped = dialog.on_action(HUMAN, DialogState())
    assert tapped.reply.kind == "human" and MENU in actions(tapped)


def test_the_lexicons_replies_replace_the_built_in_words(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    lexicon = root / "intents" / "lexicon.yaml"
    lexicon.write_text(lexicon.read_text(encoding="utf-8") + "replies:\n  fixed: [妥了]\n", encoding="utf-8")
    custom = Dialog(Engine.load(root))
    at = pick(custom, start(custom, "printer_problem"), "是白纸")
    assert custom.on_text("妥了", at.state).reply.kind == "feedback"
    assert custom.on_text("还是没反应", at.state).state.step == "repair", "the not_fixed words kept their defaults"
    assert custom.content.lexicon.replies.fixed == ("妥了",)
