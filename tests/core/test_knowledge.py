"""Checks on flows and scripts, and the admin views of a flow."""

from pathlib import Path

import pytest

from bot.core.checks import check_knowledge
from bot.core.errors import ContentError
from bot.core.flowview import as_mermaid, as_tree
from bot.core.loader import load_content


def flows_file(root: Path) -> Path:
    return root / "knowledge" / "flows" / "mini.yaml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_fixture_knowledge_is_clean(mini_copy: Path) -> None:
    assert check_knowledge(load_content(mini_copy)) == []


def test_dangling_references_fail_to_load(mini_copy: Path) -> None:
    edit(flows_file(mini_copy), "next: repair", "next: repiar")
    edit(flows_file(mini_copy), "script: receipt", "script: nope")
    edit(flows_file(mini_copy), "flow: signin_failure", "flow: nowhere")
    with pytest.raises(ContentError) as caught:
        load_content(mini_copy)
    messages = [str(p) for p in caught.value.problems]
    assert any("printer_problem.reload.choices[1].next：没有 id 为 'repiar' 的步骤" in m for m in messages)
    assert any("没有 id 为 'nope' 的话术" in m for m in messages)
    assert any("没有 id 为 'nowhere' 的流程" in m for m in messages)
    assert all(m.startswith("knowledge/flows/mini.yaml:") for m in messages)


def test_unknown_intent_and_double_naming_fail_to_load(mini_copy: Path) -> None:
    edit(flows_file(mini_copy), 'intents: [signin_failure, "A0"]', 'intents: [signin_failure, "A0", "99", printer_problem]')
    with pytest.raises(ContentError) as caught:
        load_content(mini_copy)
    messages = " ".join(str(p) for p in caught.value.problems)
    assert "没有叫 '99' 的意图或应答码" in messages
    assert "printer_problem 已经写在流程 'printer_problem' 里了：一个意图只能对应一个流程" in messages


def test_choice_needs_exactly_one_target(mini_copy: Path) -> None:
    edit(flows_file(mini_copy), "            end: escalate\n  - id: signin_failure",
         "            end: escalate\n            next: blank\n  - id: signin_failure")
    with pytest.raises(ContentError) as caught:
        load_content(mini_copy)
    assert "一个按钮只能通向一处：next、end、script、flow 四个里恰好写一个（现在写了 next、end）" in str(caught.value)


def test_long_labels_and_texts_are_refused(mini_copy: Path) -> None:
    edit(flows_file(mini_copy), "label: 是白纸", "label: 是白纸而且上面一个字也没有打出来呢")
    with pytest.raises(ContentError) as caught:
        load_content(mini_copy)
    assert "choices[0].label：太长了：最多 14 个字，现在有 17 个" in str(caught.value)


def test_unreachable_steps_dead_ends_and_intents_without_flow(mini_copy: Path) -> None:
    edit(flows_file(mini_copy), "          - label: 还是不行\n            next: repair",
         "          - label: 还是不行\n            next: reload")
    edit(flows_file(mini_copy), "intents: [charged_but_failed, unknown_decline]", "intents: [charged_but_failed]")
    problems = [str(p) for p in check_knowledge(load_content(mini_copy))]
    assert any("printer_problem.repair：从第一步走不到这一步" in p for p in problems)
    assert any(p.startswith("intents/symptoms/common.yaml:") and "unknown_decline：没有对应的排查流程" in p
               for p in problems)

    edit(flows_file(mini_copy), "          - label: 好了，能打出字\n            end: resolved",
         "          - label: 好了，能打出字\n            next: blank")
    edit(flows_file(mini_copy), "          - label: 交易成功没出票\n            script: receipt",
         "          - label: 交易成功没出票\n            next: reload")
    edit(flows_file(mini_copy), "          - label: 签到也不行\n            flow: signin_failure",
         "          - label: 签到也不行\n            next: blank")
    problems = [str(p) for p in check_knowledge(load_content(mini_copy))]
    assert any("printer_problem.blank：死胡同" in p for p in problems)
    assert any("printer_problem.reload：死胡同" in p for p in problems)


def test_scripts_never_hold_card_numbers_or_unknown_placeholders(mini_copy: Path) -> None:
    scripts = mini_copy / "knowledge" / "scripts" / "mini.yaml"
    edit(scripts, "我马上给您补打一张。", "卡号6222021234567890128，{customer}您好。")
    problems = [str(p) for p in check_knowledge(load_content(mini_copy))]
    assert any("不认识的占位符 ['customer']" in p for p in problems)
    assert any("话术里不能出现卡号" in p for p in problems)


def test_a_card_number_typed_in_groups_in_a_script_is_found(mini_copy: Path) -> None:
    scripts = mini_copy / "knowledge" / "scripts" / "mini.yaml"
    edit(scripts, "我马上给您补打一张。", "您的卡 6222 0212 3456 7894 我马上给您补打一张。")
    problems = [str(p) for p in check_knowledge(load_content(mini_copy))]
    assert any("话术里不能出现卡号" in p for p in problems)


def test_tree_and_mermaid_show_every_step_and_end(mini_copy: Path) -> None:
    flow = load_content(mini_copy).flows_by_id["printer_problem"]
    tree = as_tree(flow)
    for text in ("[blank]", "[reload]", "[repair]", "✅ 解决", "🙋 转人工", "💬 话术 receipt", "↪ 流程 signin_failure"):
        assert text in tree
    mermaid = as_mermaid(flow)
    assert mermaid.startswith("flowchart TD")
    assert 'reload -->|"还是不行"| repair' in mermaid


def test_a_short_script_form_holds_at_most_three_sentences(mini_copy: Path) -> None:
    scripts = mini_copy / "knowledge" / "scripts" / "mini.yaml"
    edit(scripts, "    apologise:", "    short: 不好意思。小票没打出来。我给您补打。您看行吗？\n    apologise:")
    with pytest.raises(ContentError) as caught:
        load_content(mini_copy)
    message = str(caught.value)
    assert "short：简短话术是当着顾客念的：最多 3 句（以。！？结尾），现在有 4 句" in message


def test_short_script_forms_are_checked_like_the_moves(mini_copy: Path) -> None:
    scripts = mini_copy / "knowledge" / "scripts" / "mini.yaml"
    edit(scripts, "    apologise:", "    short: 您好{customer}，小票马上补打。\n    apologise:")
    problems = [str(p) for p in check_knowledge(load_content(mini_copy))]
    assert any("receipt.short：不认识的占位符 ['customer']" in p for p in problems)
