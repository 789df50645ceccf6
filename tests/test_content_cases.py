"""The content cases in intents/tests/*.yaml, each through the real engine and the real dialog; and the
runner itself, on the fixture content, so that a case that should fail does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.dialog import Dialog
from bot.core.engine import Engine
from tests.content_cases import Case, CaseError, check_case, load_cases

ROOT = Path(__file__).resolve().parents[1]
CASES_DIR = ROOT / "intents" / "tests"
HIGH_HARM = ("H1", "H2", "H3", "H4", "H6")
"""Audit findings (shared/domain/AUDIT.md) a merchant loses money or breaks a rule on: each keeps at
least one case, so the content cannot quietly slide back. (H5, scams, is guarded with its topics.)"""


def _collect() -> tuple[list, str | None]:
    try:
        return [pytest.param(case, id=case.test_id) for case in load_cases(CASES_DIR)], None
    except CaseError as error:
        return [], str(error)


PARAMS, LOAD_ERROR = _collect()


def test_case_files_load_and_guard_every_high_harm_finding() -> None:
    assert LOAD_ERROR is None, LOAD_ERROR
    whys = [param.values[0].why for param in PARAMS]
    for item in HIGH_HARM:
        assert any(re.search(rf"\b{item}\b", why) for why in whys), f"no content case says why: {item}"


@pytest.mark.parametrize("case", PARAMS)
def test_content_case(case: Case, dialog: Dialog) -> None:
    problems = check_case(case, dialog)
    assert not problems, "\n".join(problems)


# ---- the runner, on the fixture content ------------------------------------------------------


def run(tmp_path: Path, mini_engine: Engine, text: str) -> list[str]:
    (tmp_path / "cases.yaml").write_text(text, encoding="utf-8")
    problems: list[str] = []
    for case in load_cases(tmp_path):
        problems += check_case(case, Dialog(mini_engine))
    return problems


def test_a_case_that_holds_reports_nothing(tmp_path: Path, mini_engine: Engine) -> None:
    assert run(tmp_path, mini_engine, """
cases:
  - ask: "刷卡显示51"
    expect: "51"
    expect_not: "A0"
    must_say: ["换.{0,4}卡"]
    must_not_say: ["没收"]
  - flow: printer_problem
    must_say: ["白纸", "交易成功没出票"]
    must_not_say: ["再刷一次"]
  - script: receipt
    must_say: ["补打"]
  - intent: "03"
    must_say: ["以上仅供参考"]
""") == []


def test_wrong_answers_and_forbidden_words_are_reported_with_file_case_and_text(tmp_path: Path,
                                                                                mini_engine: Engine) -> None:
    problems = run(tmp_path, mini_engine, """
cases:
  - ask: "刷卡显示51"
    expect: "A0"
    why: H9
  - ask: "刷卡显示51"
    expect_not: "51"
  - ask: "刷卡显示51"
    expect: "51"
    must_not_say: ["余额不够"]
  - flow: printer_problem
    must_not_say: ["服务商维修"]
  - script: receipt
    must_not_say: ["随时找我"]
  - intent: code_a0
    must_say: ["冲正"]
""")
    assert len(problems) == 6, problems
    assert problems[0].startswith("cases.yaml case 1 (ask: 刷卡显示51): should answer code_a0, but answers code_51")
    assert problems[0].endswith("(why: H9)")
    assert problems[1] == "cases.yaml case 2 (ask: 刷卡显示51): must not answer code_51, but does"
    assert "case 3" in problems[2] and "【余额不够】" in problems[2] and "tell" not in problems[2]
    assert "case 4" in problems[3] and "step repair" in problems[3] and "【服务商维修】" in problems[3]
    assert "case 5" in problems[4] and "the script shows" in problems[4]
    assert "case 6" in problems[5] and "must say /冲正/" in problems[5] and "MAC鉴别失败" in problems[5]


def test_a_clarification_that_offers_the_expected_intent_is_followed(tmp_path: Path, mini_engine: Engine) -> None:
    text = """
cases:
  - ask: "显示51又显示A0"
    expect: "A0"
    must_say: ["签到"]
    must_not_say: ["余额"]
"""
    assert run(tmp_path, mini_engine, text) == []
    problems = run(tmp_path, mini_engine, text.replace('"A0"', '"03"'))
    assert problems == ["cases.yaml case 1 (ask: 显示51又显示A0): should answer code_03, but asks which of "
                        "code_51, code_a0"]


def test_references_to_missing_content_are_problems(tmp_path: Path, mini_engine: Engine) -> None:
    problems = run(tmp_path, mini_engine, """
cases:
  - ask: "刷卡显示51"
    expect: fee_scam
  - flow: reversal_failed
    must_say: ["冲正"]
  - script: nope
    must_say: ["x"]
  - intent: "Y9"
    must_say: ["x"]
""")
    assert [p.split("): ", 1)[1] for p in problems] == [
        "expect names no intent: 'fee_scam'", "no flow 'reversal_failed', nor an intent that leads to one",
        "no script 'nope', nor an intent that offers one", "no intent 'Y9'"]


def test_flow_and_script_cases_may_name_the_intent_that_leads_there(tmp_path: Path, mini_engine: Engine) -> None:
    problems = run(tmp_path, mini_engine, """
cases:
  - flow: "A0"
    must_not_say: ["签退"]
  - script: "51"
    must_not_say: ["补打"]
""")
    assert len(problems) == 2
    assert "case 1 (flow: A0)" in problems[0] and "step resign" in problems[0]
    assert "case 2 (script: 51)" in problems[1] and "【补打】" in problems[1]


def test_the_longer_version_of_a_script_is_checked_too(tmp_path: Path, mini_copy: Path) -> None:
    scripts = mini_copy / "knowledge" / "scripts" / "mini.yaml"
    text = scripts.read_text(encoding="utf-8")
    scripts.write_text(text.replace("    apologise:", "    short: 小票马上补打。\n    apologise:", 1), encoding="utf-8")
    problems = run(tmp_path, Engine.load(mini_copy), """
cases:
  - script: receipt
    must_say: ["补打"]
    must_not_say: ["随时找我"]
""")
    assert len(problems) == 1 and "the longer script shows “有问题【随时找我】。”" in problems[0]


@pytest.mark.parametrize(("text", "message"), [
    ("cases:\n  - ask: 显示51\n    expect: 51\n", 'expect must be a quoted string (codes too: "03", not 03), got 51'),
    ("cases:\n  - ask: 显示51\n    must_sya: [x]\n", "unknown key(s) ['must_sya']"),
    ("cases:\n  - ask: 显示51\n    flow: x\n    must_say: [x]\n", "needs exactly one of ask, flow, script, intent (has ask, flow)"),
    ("cases:\n  - flow: x\n    expect: \"51\"\n", "expect and expect_not belong to ask cases"),
    ("cases:\n  - script: x\n", "a script case needs must_say or must_not_say"),
    ("cases:\n  - ask: 显示51\n", "an ask case needs expect, expect_not, must_say or must_not_say"),
    ("cases:\n  - ask: 显示51\n    must_say: [\"(\"]\n", "is not a regular expression"),
    ("- ask: 显示51\n", "a case file holds one key, cases:"),
])
def test_malformed_cases_are_refused_with_file_and_case(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CaseError) as caught:
        load_cases(tmp_path)
    assert message in str(caught.value) and str(caught.value).startswith("bad.yaml")
