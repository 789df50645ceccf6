"""The conversation's context: what the merchant said is kept (and stored), flow steps it answers are
skipped, follow-ups are answered for the topic; and the content rules for all three."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.checks import check_knowledge
from bot.core.context import known_choice, match_followup, start_topic
from bot.core.dialog import FLOW, MAX_SKIPPED, Dialog, DialogState, action
from bot.core.engine import Engine
from bot.core.errors import ContentError
from bot.core.loader import load_content
from bot.core.models import Choice, Followup, Step, TopicAnswer
from bot.core.screen import ScreenLine


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(root: Path) -> str:
    with pytest.raises(ContentError) as caught:
        load_content(root)
    return "\n".join(str(p) for p in caught.value.problems)


# ---- the state --------------------------------------------------------------------------------


def test_a_state_stored_before_the_topic_existed_still_loads() -> None:
    old = {"version": "abc", "fallbacks": 1, "last_question": "显示51", "flow": None, "step": None, "history": [],
           "slots": {"amount": "300元"}, "recent": ["显示51"], "last_intent": "code_51", "last_score": 1.0,
           "tried": []}
    state = DialogState.from_dict(old)
    assert state.topic is None and dict(state.slots) == {"amount": "300元"} and state.last_intent == "code_51"


def test_topic_and_every_kind_of_detail_round_trip() -> None:
    slots = {"amount": "300元", "code": "96", "charged": "yes", "card_type": "信用卡", "terminal": "电签",
             "symptom": "charged_but_failed", "last4": "1234", "time": "12:03"}
    state = DialogState(topic="code_96", slots=tuple(sorted(slots.items())))
    again = DialogState.from_dict(state.to_dict())
    assert again == state and again.topic == "code_96" and dict(again.slots) == slots


def test_the_dialog_keeps_code_charge_and_topic(dialog: Dialog) -> None:
    state = dialog.on_text("电签机 扣钱了但显示96", DialogState()).state
    assert state.topic == "code_96"
    assert dict(state.slots) == {"code": "96", "charged": "yes", "terminal": "电签"}


def test_a_number_that_is_not_a_code_is_not_kept_as_one(dialog: Dialog) -> None:
    state = dialog.on_text("刷了51块钱扣款了但没出小票", DialogState()).state
    assert "code" not in dict(state.slots) and dict(state.slots)["amount"] == "51元"


def test_a_new_topic_forgets_the_old_ones_details_but_not_the_merchants(dialog: Dialog) -> None:
    state = dialog.on_text("智能pos 扣钱了但显示96 300元", DialogState()).state
    state = dialog.on_text("签到失败", state).state
    assert state.topic == "signin_failure"
    assert dict(state.slots) == {"terminal": "智能POS", "amount": "300元", "symptom": "signin_failure"}


def test_start_topic_keeps_what_was_just_said() -> None:
    old = {"code": "51", "charged": "no", "terminal": "电签", "amount": "5元"}
    assert start_topic(old, {"code": "96", "charged": "yes"}) == {
        "terminal": "电签", "amount": "5元", "code": "96", "charged": "yes"}


# ---- steps answered by what is known -------------------------------------------------------


def _step(*choices: Choice) -> Step:
    return Step(id="which", text="哪个代码？", answered_by="code", choices=choices)


def test_known_choice_picks_the_listed_value_then_the_catch_all() -> None:
    step = _step(Choice(label="51", when=("51",), next="a"), Choice(label="其他", when=("*",), next="b"),
                 Choice(label="不知道", next="c"))
    assert known_choice(step, {"code": "51"}) == 0
    assert known_choice(step, {"code": "96"}) == 1
    assert known_choice(step, {"charged": "yes"}) is None
    assert known_choice(Step(id="s", text="t", choices=(Choice(label="x", next="a"),)), {"code": "51"}) is None


def test_steps_that_answer_each_other_are_skipped_a_bounded_number_of_times(mini_copy: Path) -> None:
    flows = mini_copy / "knowledge" / "flows" / "mini.yaml"
    edit(flows, """      - id: resign
        text: 先签退，再重新签到。
        choices:""", """      - id: resign
        text: 先签退，再重新签到。
        answered_by: code
        choices:
          - label: 是A0
            when: ["A0"]
            next: again""")
    edit(flows, """  - id: card_side""", """      - id: again
        text: 再看一次代码。
        answered_by: code
        choices:
          - label: 还是A0
            when: ["A0"]
            next: resign
  - id: card_side""")
    dialog = Dialog(Engine(load_content(mini_copy)))
    turn = dialog.on_action(action(FLOW, "signin_failure"), DialogState(slots=(("code", "A0"),)))
    assert turn.state.flow == "signin_failure" and len(turn.state.history) == MAX_SKIPPED
    assert turn.reply.text.count("你说过屏幕上是 A0") == MAX_SKIPPED


@pytest.mark.parametrize("old, new, message", [
    ("        choices:\n          - label: 好了\n            end: resolved\n          - label: 还是不行\n            end: escalate",
     "        choices:\n          - label: 好了\n            end: resolved\n          - label: 还是不行\n            when: [\"A0\"]\n"
     "            end: escalate",
     "按钮写了 when，这一步就要写 answered_by"),
    ("        text: 先签退，再重新签到。\n", "        text: 先签退，再重新签到。\n        answered_by: code\n",
     "写了 answered_by，至少要有一个按钮写 when"),
    ("        text: 先签退，再重新签到。\n        choices:\n          - label: 好了\n            end: resolved",
     "        text: 先签退，再重新签到。\n        answered_by: code\n        choices:\n          - label: 好了\n"
     "            when: [\"A0\"]\n            end: resolved",
     "只有通向 next 或 flow 的按钮能自动选"),
    ("        text: 打出来是白纸吗？\n        choices:\n          - label: 是白纸\n            next: reload",
     "        text: 打出来是白纸吗？\n        answered_by: code\n        choices:\n          - label: 是白纸\n"
     "            when: [\"77\"]\n            next: reload",
     "'77' 不是 code 能有的值"),
    ("        text: 打出来是白纸吗？\n        choices:\n          - label: 是白纸\n            next: reload",
     "        text: 打出来是白纸吗？\n        answered_by: terminal\n        choices:\n          - label: 是白纸\n"
     "            when: [\"电签\"]\n            next: reload\n          - label: 白纸\n            when: [\"电签\"]\n"
     "            next: reload",
     "'电签' 写在了两个按钮的 when 里"),
])
def test_answered_by_mistakes_are_reported(mini_copy: Path, old: str, new: str, message: str) -> None:
    edit(mini_copy / "knowledge" / "flows" / "mini.yaml", old, new)
    assert message in problems(mini_copy)


# ---- follow-ups -------------------------------------------------------------------------------

FOLLOWUPS = """followups:
  - id: refund_needed
    title: 要不要退钱
    examples: [要退钱给顾客吗, 要不要退钱, 需要退款吗]
    not_examples: [退货怎么操作]
    answers:
      - topics: ["51"]
        answer: 不用退。
      - topics: [charged_but_failed]
        known: {charged: "yes"}
        answer: 你说过扣款了，等冲正。
      - topics: [charged_but_failed]
        answer: 先查有没有扣款。
"""


def _with_followups(root: Path, text: str = FOLLOWUPS) -> Path:
    (root / "knowledge" / "followups").mkdir(parents=True, exist_ok=True)
    (root / "knowledge" / "followups" / "mini.yaml").write_text(text, encoding="utf-8")
    return root


def test_followups_load_and_answer_by_topic_and_known_details(mini_copy: Path) -> None:
    content = load_content(_with_followups(mini_copy))
    [followup] = content.followups
    assert followup.answer_for(("code_51", "51"), {}) == "不用退。"
    assert followup.answer_for(("charged_but_failed",), {"charged": "yes"}) == "你说过扣款了，等冲正。"
    assert followup.answer_for(("charged_but_failed",), {}) == "先查有没有扣款。"
    assert followup.answer_for(("printer_problem",), {}) is None, "no default: taken as a new question"
    assert check_knowledge(content) == []


def test_a_followup_without_an_answer_for_the_topic_is_a_new_question(mini_copy: Path) -> None:
    dialog = Dialog(Engine(load_content(_with_followups(mini_copy))))
    state = dialog.on_text("显示51", DialogState()).state
    assert dialog.on_text("那我要退钱给顾客吗", state).reply.text == "不用退。"
    state = dialog.on_text("打印机不出纸", state).state
    assert dialog.on_text("那我要退钱给顾客吗", state).reply.kind != "followup"


def test_followup_topics_and_known_values_must_exist(mini_copy: Path) -> None:
    text = FOLLOWUPS.replace('topics: ["51"]', 'topics: ["77", nothing_here]').replace(
        'known: {charged: "yes"}', 'known: {charged: "maybe"}')
    message = problems(_with_followups(mini_copy, text))
    assert "refund_needed.answers[0].topics[0]：没有叫 '77' 的意图或应答码" in message
    assert "没有叫 'nothing_here' 的意图或应答码" in message
    assert "'maybe' 不是 charged 能有的值" in message
    assert "knowledge/followups/mini.yaml:" in message


def test_an_example_taken_for_another_followup_is_reported(mini_copy: Path) -> None:
    text = FOLLOWUPS + """  - id: refund_again
    title: 退钱
    examples: [要不要退钱, 退钱吗退钱吗, 退不退]
"""
    [problem] = check_knowledge(load_content(_with_followups(mini_copy, text)))
    assert problem.file == "knowledge/followups/mini.yaml" and "要不要退钱" in str(problem)


def test_followups_match_with_fillers_and_not_new_questions(engine: Engine) -> None:
    followups = engine.content.followups
    hit = match_followup("那我要退钱给顾客吗？", followups)
    assert hit is not None and hit.followup.id == "refund_needed"
    leaving = match_followup("顾客急着要走", followups)
    assert leaving is not None and leaving.followup.id == "customer_leaving"
    for question in ("签到失败", "显示51", "打印机不出纸", "退货怎么操作", "刷卡没反应"):
        assert match_followup(question, followups) is None, question


def test_a_followup_answer_is_phone_sized() -> None:
    with pytest.raises(ValueError, match="最多 200 个字"):
        TopicAnswer(topics=("51",), answer="很长" * 101)
    with pytest.raises(ValueError, match="最多 200 个字"):
        Followup(id="x", title="x", examples=("a", "b", "c"), default="很长" * 101)


def test_text_read_off_a_photo_is_never_a_followup(dialog: Dialog) -> None:
    state = dialog.on_text("显示51", DialogState()).state
    assert dialog.on_text("还是失败", state).reply.kind == "followup"
    assert dialog.on_screen([ScreenLine("还是失败", 0.99)], state).reply.kind != "followup"
