"""The posbot command line, in process and as the installed console script."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_match_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "match", "pos机显示03", "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"query", "decision", "intent", "code", "score", "candidates"}
    assert (data["decision"], data["intent"], data["code"], data["score"]) == ("answer", "code_03", "03", 1.0)
    assert 1 <= len(data["candidates"]) <= 5
    assert set(data["candidates"][0]) == {"intent", "code", "score"}


def test_match_for_admins_shows_words_candidates_and_decision(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "match", "签倒失败咋办")
    assert code == 0
    assert "words:" in out and "签到" in out
    assert "candidates:" in out
    assert "decision:" in out


def test_match_stdin_writes_one_json_line_per_question(monkeypatch, capsys) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("A0\n\n今天天气\n"))
    code, out, _ = run(capsys, "match", "-")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [line["query"] for line in lines] == ["A0", "", "今天天气"]
    assert lines[0]["code"] == "A0"
    assert lines[1]["decision"] == "fallback"


def test_intents_json_lists_everything(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "intents", "--json")
    rows = json.loads(out)
    assert code == 0
    assert len([r for r in rows if r["kind"] == "code"]) == 86
    assert {"id", "kind", "code", "name", "examples"} <= set(rows[0])


def test_validate_shipped_content_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate")
    assert (code, err) == (0, ""), out
    assert out.startswith("OK: 86 code intents, 35 symptom intents")


def test_validate_reports_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    path = root / "intents" / "codes" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("party: terminal", "party: nobody"), encoding="utf-8")
    code, _, err = run(capsys, "validate", str(root))
    assert code == 2
    assert "intents/codes/common.yaml:21: codes[1].party:" in err


def test_validate_flags_examples_that_belong_elsewhere(tmp_path: Path, capsys) -> None:
    import shutil

    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    path = root / "intents" / "symptoms" / "common.yaml"
    text = path.read_text(encoding="utf-8").replace("      - 机器签不上到\n", "      - 机器签不上到\n      - 小票打出来是白的\n")
    path.write_text(text, encoding="utf-8")
    code, out, _ = run(capsys, "validate", str(root))
    assert code == 1
    assert "signin_failure.examples[2]" in out and "is also in printer_problem" in out


def test_eval_prints_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text('- {q: "显示51", gold: "51"}\n- {q: "今天天气", gold: none}\n'
                     '- {q: "签到失败", gold: signin_failure}\n', encoding="utf-8")
    code, out, _ = run(capsys, "eval", str(cases), "--json")
    summary = json.loads(out)
    assert code == 0
    assert summary["questions"] == 3 and summary["top1"] == 1.0 and summary["fallback_recall"] == 1.0
    code, out, _ = run(capsys, "eval", str(cases))
    assert "top3" in out and "misses (0)" in out


def test_eval_rejects_unknown_gold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text('- {q: "x", gold: "no_such_intent"}\n', encoding="utf-8")
    code, _, err = run(capsys, "eval", str(cases))
    assert code == 2 and "unknown intent or code 'no_such_intent'" in err


def test_console_chat_from_a_pipe(tmp_path: Path) -> None:
    """The installed entry point, scripted line by line: a code, a clarification pick, a fallback."""
    script = "显示51\n1\n今天天气怎么样\n1\n/quit\n"
    result = subprocess.run([sys.executable, "-m", "bot", "chat", "--data-dir", str(tmp_path)], input=script,
                            capture_output=True,
                            text=True, cwd=ROOT, timeout=60, check=True)
    out = result.stdout
    assert "POS 机故障助手" in out
    assert "应答码 51：" in out
    assert "没看懂" in out
    assert "人工客服" in out  # "1" after the fallback picked 转人工
    assert result.stderr == ""


def test_flow_lists_and_prints_a_tree_and_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "flow")
    assert code == 0 and "charged_but_failed" in out and "steps" in out
    code, out, _ = run(capsys, "flow", "printer_problem")
    assert code == 0 and out.startswith("printer_problem:") and "✅ 解决" in out
    code, out, _ = run(capsys, "flow", "printer_problem", "--mermaid")
    assert code == 0 and out.startswith("flowchart TD")
    code, _, err = run(capsys, "flow", "nope")
    assert code == 2 and "no flow 'nope'" in err


def test_console_chat_walks_a_flow_and_records_the_outcome(tmp_path: Path) -> None:
    import sqlite3

    script = "打印机不出纸\n1\n1\n好了\n1\n"
    result = subprocess.run([sys.executable, "-m", "bot", "--content", str(MINI), "chat", "--data-dir", str(tmp_path)],
                            input=script, capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    assert "【排查：打印机排查】" in result.stdout
    assert "[3] 上一步" in result.stdout
    assert "这次的排查对你有帮助吗" in result.stdout
    rows = sqlite3.connect(tmp_path / "posbot.sqlite3").execute(
        "SELECT flow, kind, ending, helped FROM flow_outcomes ORDER BY id").fetchall()
    assert rows == [("printer_problem", "started", "", None), ("printer_problem", "ended", "resolved", None),
                    ("printer_problem", "feedback", "", 1)]
    questions = sqlite3.connect(tmp_path / "posbot.sqlite3").execute(
        "SELECT question, decision, intent FROM questions").fetchall()
    assert questions == [("打印机不出纸", "answer", "printer_problem")]  # 好了 picked a choice, not a question


def test_run_without_a_token_stops_with_one_line(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "bot", "run"], capture_output=True, text=True, cwd=tmp_path,
                            env={**env, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "posbot: BOT_TOKEN is not set: put it in the environment or in .env (see .env.example)"]


def test_schema_command_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--check", str(ROOT / "schemas")]) == 0
    assert main(["schema", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["intent-file.schema.json", "knowledge-file.schema.json",
                                                          "lexicon.schema.json"]
    (tmp_path / "lexicon.schema.json").write_text("{}", encoding="utf-8")
    assert main(["schema", "--check", str(tmp_path)]) == 1
    assert "lexicon.schema.json is out of date" in capsys.readouterr().err
