"""Stats on a known sequence of events, written through the real stores into a real SQLite file."""

import json
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.dialog import FlowEvent
from bot.handoff.models import CaseContext, Merchant, Status
from bot.handoff.sqlite_store import SQLiteTicketStore
from bot.storage.outcomes import SQLiteOutcomeLog
from bot.storage.questions import SQLiteQuestionLog, record_action
from bot.storage.stats import as_text, compute


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "posbot.sqlite3"
    questions = SQLiteQuestionLog(path)
    for n in range(6):
        questions.record("1", f"显示51 #{n}", "answer", intent="code_51", code="51", score=1.0,
                         candidates=[("code_51", 1.0)])
    questions.record("2", "打印机白纸", "answer", intent="printer_problem", code=None, score=0.9,
                     candidates=[("printer_problem", 0.9)])
    questions.record("2", "卡", "clarify", intent=None, code=None, score=0.6,
                     candidates=[("card_read_failure", 0.6), ("code_14", 0.58)])
    record_action(questions, "2", "i:card_read_failure")
    questions.record("3", "今天天气", "fallback", intent=None, code=None, score=None, candidates=[])
    questions.record("3", "卡号6222021234567890128扣了两次", "fallback", intent=None, code=None, score=None,
                     candidates=[])
    outcomes = SQLiteOutcomeLog(path)
    outcomes.record("2", FlowEvent("started", "printer_problem"))
    outcomes.record("2", FlowEvent("ended", "printer_problem", "resolved"))
    outcomes.record("2", FlowEvent("feedback", "printer_problem", helped=True))
    outcomes.record("3", FlowEvent("started", "signin_failure"))
    outcomes.record("3", FlowEvent("ended", "signin_failure", "escalate", helped=False))
    tickets = SQLiteTicketStore(path)
    ticket, _ = tickets.open_ticket(Merchant(3, 3, "李"), CaseContext(trigger="escalate"))
    tickets.rate(tickets.set_status(ticket.id, Status.CLOSED).id, 1)
    tickets.open_ticket(Merchant(4, 4, "王"), CaseContext(trigger="button"))
    for store in (questions, outcomes, tickets):
        store.close()
    return path


def test_stats_on_known_events(database: Path) -> None:
    stats = compute(database, days=7)
    assert stats.questions == 10
    assert stats.decisions == {"answer": 0.7, "clarify": 0.1, "fallback": 0.2}
    assert stats.top_intents[:2] == [("code_51", 6), ("printer_problem", 1)]
    assert stats.top_codes == [("51", 6)]
    assert (stats.flows_started, stats.flows_resolved, stats.flows_escalated) == (2, 1, 1)
    assert stats.flow_feedback == {"helped": 1, "not_helped": 0}
    assert (stats.handoffs, stats.handoffs_closed) == (2, 1)
    assert stats.median_resolution_hours is not None and stats.median_resolution_hours < 0.01
    assert stats.ratings == {"👍": 1, "👎": 0}
    assert sum(stats.per_day.values()) == 10
    text = as_text(stats)
    assert "问题 10 个" in text and "直接回答 70%" in text and "转人工：2 单" in text


def test_old_events_fall_outside_the_window(database: Path) -> None:
    assert compute(database, days=7, now=time.time() + 30 * 86400).questions == 0


def test_an_empty_data_dir_has_empty_stats(tmp_path: Path) -> None:
    assert compute(tmp_path / "nothing.sqlite3").questions == 0


def test_the_inbox_keeps_clarify_picks_and_masks(database: Path) -> None:
    log = SQLiteQuestionLog(database)
    inbox = log.inbox()
    assert [q.question for q in inbox] == ["卡", "今天天气", "卡号****0128扣了两次"]
    assert inbox[0].picked == "card_read_failure"
    log.mark([inbox[1].id], "ignored")
    log.record("9", "今天天气", "fallback", intent=None, code=None, score=None, candidates=[])
    assert "今天天气" not in [q.question for q in log.inbox()]  # ignored forever
    log.close()


def test_posbot_stats_cli(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--data-dir", str(database.parent), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["questions"] == 10
    assert main(["stats", "--data-dir", str(database.parent)]) == 0
    assert "问题 10 个" in capsys.readouterr().out


def test_html_report_with_charts(database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    assert main(["stats", "--data-dir", str(database.parent), "--html", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "问题 10 个" in page
    assert page.count("data:image/png;base64,") == 5
