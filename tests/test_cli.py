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


def test_match_json_decisions_and_intent_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON contract's additions: decision refuse; kinds smalltalk, redirect, redline."""
    code, out, _ = run(capsys, "match", "帮朋友刷点钱出来", "--json")
    assert code == 0 and json.loads(out)["decision"] == "refuse"
    code, out, _ = run(capsys, "intents", "--json")
    kinds = {row["kind"] for row in json.loads(out)}
    assert kinds == {"code", "symptom", "smalltalk", "redirect", "redline"}


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
    assert out.startswith("通过：应答码意图 86 个，症状意图 35 个")


def test_validate_reports_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    path = root / "intents" / "codes" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("party: terminal", "party: nobody"), encoding="utf-8")
    code, _, err = run(capsys, "validate", str(root))
    assert code == 2
    assert "intents/codes/common.yaml:22 codes[1].party：'nobody' 不是可选的值" in err
    assert err.endswith("内容里有 1 处问题；什么都没有改动。\n")


def test_validate_flags_examples_that_belong_elsewhere(tmp_path: Path, capsys) -> None:
    import shutil

    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    path = root / "intents" / "symptoms" / "common.yaml"
    text = path.read_text(encoding="utf-8").replace("      - 机器签不上到\n", "      - 机器签不上到\n      - 小票打出来是白的\n")
    path.write_text(text, encoding="utf-8")
    code, out, _ = run(capsys, "validate", str(root))
    assert code == 1
    assert "signin_failure.examples[2]：'小票打出来是白的' 在 printer_problem.examples[" in out


def test_eval_prints_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text('- {q: "显示51", gold: "51"}\n- {q: "今天天气", gold: none}\n'
                     '- {q: "签到失败", gold: signin_failure}\n', encoding="utf-8")
    code, out, _ = run(capsys, "eval", str(cases), "--json")
    summary = json.loads(out)
    assert code == 0
    assert summary["questions"] == 3 and summary["top1"] == 1.0 and summary["fallback_recall"] == 1.0
    code, out, _ = run(capsys, "eval", str(cases), "--data-dir", str(tmp_path / "data"))
    assert "top-3（对的意图在前三名里）" in out and "没答对的问题（0 道" in out


def test_eval_report_shows_floors_and_the_last_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Floors come from a test_eval.py beside the file, read not run; 上次 from the data directory."""
    sets = tmp_path / "sets"
    sets.mkdir()
    cases = sets / "mine.yaml"
    cases.write_text('- {q: "显示51", gold: "51", cat: codes}\n- {q: "今天天气", gold: none, cat: outside}\n'
                     '- {q: "签到失败", gold: signin_failure, cat: codes}\n- {q: "打印机坏了", gold: "03", cat: codes}\n',
                     encoding="utf-8")
    (sets / "test_eval.py").write_text(
        'raise SystemExit("read, never run")\n'
        'BLIND_FLOORS = {"mine.yaml": {"overall": 0.5, "codes": 0.9, "outside": 0.5}}\n'
        "def mine(engine):\n    return report_for(engine, 'mine.yaml')\n"
        "def test_mine(engine, mine):\n    assert mine.top1 >= 0.99\n    assert mine.fallback_recall >= 0.5\n"
        "    assert len(mine.outcomes) >= 2\n"
        "def test_other(engine):\n    report = report_for(engine, 'other.yaml')\n    assert report.top3 >= 0.1\n"
        "@parametrize('name', sorted(BLIND_FLOORS))\n"
        "def test_blind(engine, name):\n    report = report_for(engine, name)\n"
        "    assert report.decided_top1 >= BLIND_FLOORS[name]['overall']\n    assert report.numbers_read_as_codes <= 3\n",
        encoding="utf-8")
    data = ["--data-dir", str(tmp_path / "data")]
    code, out, _ = run(capsys, "eval", str(cases), *data)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "题目 4 道：范围内 3，范围外 1"
    assert lines[1].startswith("上次：没有记录")
    top1 = next(line for line in lines if line.startswith("top-1"))
    assert top1.split()[1:] == ["0.667", "⚠", "≥", "0.99", "—"]
    assert next(line for line in lines if line.startswith("top-3")).split()[-1] == "—"  # other.yaml's floor is not ours
    assert next(line for line in lines if line.startswith("把普通数字当成应答码")).split()[1:] == ["0", "≤", "3", "—"]
    assert next(line for line in lines if line.startswith("codes（3 道）")).split()[2:5] == ["0.667", "⚠", "≥"]
    assert "⚠ 有 2 项低于底线：top-1（第一名就是对的意图）、分类 codes" in out
    assert "  应为 03 " in out and "打印机坏了" in out  # the miss, listed

    cases.write_text(cases.read_text(encoding="utf-8").replace('gold: "03"', "gold: printer_problem"), encoding="utf-8")
    code, out, _ = run(capsys, "eval", str(cases), *data)
    lines = out.splitlines()
    assert lines[1].startswith("上次：20") and "内容版本" in lines[1]
    top1 = next(line for line in lines if line.startswith("top-1"))
    assert top1.split()[-1] == "0.667" and top1.split()[1] != "0.667"  # now, and the run before


def test_eval_rejects_unknown_gold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text('- {q: "x", gold: "no_such_intent"}\n', encoding="utf-8")
    code, _, err = run(capsys, "eval", str(cases))
    assert code == 2 and "没有叫 'no_such_intent' 的意图或应答码" in err


def test_console_chat_from_a_pipe(tmp_path: Path) -> None:
    """The installed entry point, scripted line by line: a fallback, an option picked by number, a code.
    (A fallback right after an answer is the short nudge with that answer's buttons, so it comes first.)"""
    script = "今天天气怎么样\n1\n显示51\n/quit\n"
    result = subprocess.run([sys.executable, "-m", "bot", "chat", "--data-dir", str(tmp_path)], input=script,
                            capture_output=True,
                            text=True, cwd=ROOT, timeout=60, check=True)
    out = result.stdout
    assert "POS 机故障助手" in out
    assert "应答码 51：" in out
    assert "没看懂" in out
    assert "人工客服" in out  # "1" after the fallback picked 转人工
    assert result.stderr == ""


def test_console_chat_understands_a_typed_request_for_a_human(tmp_path: Path) -> None:
    """转人工 typed: what would happen (no support group in the console), who to call, and the menu as the way on."""
    result = subprocess.run([sys.executable, "-m", "bot", "chat", "--data-dir", str(tmp_path)],
                            input="转人工\n1\n找客服\n", capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    first, menu, again = result.stdout.split("\n你> ")[1:]
    assert "没看懂" not in first and "没有接人工客服群" in first and "收单机构或服务商客服" in first
    assert "[1] 常见问题" in first
    assert "POS 机故障助手" in menu
    assert "没有接人工客服群" in again


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


def _posbot(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGV` from an empty directory, with only these posbot settings."""
    import os

    clean = {k: v for k, v in os.environ.items()
             if k not in ("BOT_TOKEN", "DATA_DIR", "DATABASE_URL", "REDIS_URL", "TELEGRAM_API_BASE")}
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "bot", *argv], capture_output=True, text=True, cwd=cwd,
                          env={**clean, "PYTHONPATH": str(ROOT), **env}, timeout=120)


TOKEN = "123456789:AAbbCCddEEffGGhhIIjj"


def test_a_corrupt_database_file_stops_every_command_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "posbot.sqlite3").write_bytes(b"this is not a database, it was half-copied" * 100)
    for argv in (["run"], ["stats"]):
        result = _posbot(tmp_path, *argv, BOT_TOKEN=TOKEN, DATA_DIR=str(data))
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines()[-1] == (
            f"posbot: {data / 'posbot.sqlite3'} is not a usable SQLite database (file is not a database): "
            "restore it from a backup, or move it away to start with an empty one")


def test_an_unreachable_bot_api_at_start_up_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _posbot(tmp_path, "run", BOT_TOKEN=TOKEN, DATA_DIR=str(tmp_path / "data"),
                     TELEGRAM_API_BASE=f"http://127.0.0.1:{port}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"posbot: cannot reach the Telegram Bot API at http://127.0.0.1:{port}: ")


def test_a_malformed_database_url_in_dotenv_is_one_line_without_the_password(tmp_path: Path) -> None:
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / ".env").write_text("DATABASE_URL=postgresql://posbot:p@ss w%rd@127.0.0.1:1/db\n",
                                           encoding="utf-8")
    result = _posbot(tmp_path, "stats")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "posbot: DATABASE_URL is invalid: holds a space: write it as %20 (percent-encode the password)"]
    assert "ss w" not in result.stderr and "w%rd" not in result.stderr


def test_rollback_needs_no_token_and_says_when_there_is_nothing_to_roll_back(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    result = _posbot(tmp_path, "--content", str(MINI), "rollback", DATA_DIR=str(tmp_path / "data"))
    assert (result.returncode, result.stdout.strip()) == (1, f"没有可以回滚的上传：{tmp_path / 'data' / 'backups'} 里没有备份")
    assert result.stderr == ""


def test_eval_finds_the_floors_ci_holds_the_shipped_sets_to() -> None:
    """The shapes floors.py reads are the ones tests/eval/test_eval.py is written in (values move, names stay)."""
    from bot.core.floors import floors_for

    assert {"top1", "top3", "answer_precision", "fallback_recall"} <= set(floors_for(ROOT / "tests/eval/questions.yaml").metrics)
    assert {"top1", "top3"} <= set(floors_for(ROOT / "tests/eval/holdout.yaml").metrics)
    blind = floors_for(ROOT / "tests/eval/blind_holdout.yaml")
    assert "decided_top1" in blind.metrics and blind.categories
