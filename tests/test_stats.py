"""Stats on a known sequence of events, written through the real stores into each real database."""

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.dialog import FlowEvent
from bot.core.loader import load_content
from bot.handoff.models import CaseContext, Merchant, Status
from bot.storage.db import Database
from bot.storage.questions import record_action
from bot.records import Records
from bot.admin.stats import as_text, compute
from tests.databases import Backend


@pytest.fixture
async def records(database: Database) -> AsyncIterator[Records]:
    records = await Records.open(database)
    questions, outcomes, tickets = records.questions, records.outcomes, records.tickets
    for n in range(6):
        await questions.record("1", f"显示51 #{n}", "answer", intent="code_51", code="51", score=1.0,
                               candidates=[("code_51", 1.0)])
    await questions.record("2", "打印机白纸", "answer", intent="printer_problem", code=None, score=0.9,
                           candidates=[("printer_problem", 0.9)])
    await questions.record("2", "卡", "clarify", intent=None, code=None, score=0.6,
                           candidates=[("card_read_failure", 0.6), ("code_14", 0.58)])
    await record_action(questions, "2", "i:card_read_failure")
    await questions.record("3", "今天天气", "fallback", intent=None, code=None, score=None, candidates=[])
    await questions.record("3", "卡号6222021234567890128扣了两次", "fallback", intent=None, code=None, score=None,
                           candidates=[])
    await outcomes.record("2", FlowEvent("started", "printer_problem"))
    await outcomes.record("2", FlowEvent("ended", "printer_problem", "resolved"))
    await outcomes.record("2", FlowEvent("feedback", "printer_problem", helped=True))
    await outcomes.record("3", FlowEvent("started", "signin_failure"))
    await outcomes.record("3", FlowEvent("ended", "signin_failure", "escalate", helped=False))
    ticket, _ = await tickets.open_ticket(Merchant(3, 3, "李"), CaseContext(trigger="escalate"))
    await tickets.rate((await tickets.set_status(ticket.id, Status.CLOSED)).id, 1)
    await tickets.open_ticket(Merchant(4, 4, "王"), CaseContext(trigger="button"))
    yield records


async def test_stats_on_known_events(records: Records) -> None:
    stats = await compute(records.db, days=7)
    assert stats.questions == 10
    assert stats.decisions == {"answer": 0.7, "clarify": 0.1, "fallback": 0.2, "refuse": 0.0}
    assert stats.top_intents[:2] == [("code_51", 6), ("printer_problem", 1)]
    assert stats.top_codes == [("51", 6)]
    assert (stats.flows_started, stats.flows_resolved, stats.flows_escalated) == (2, 1, 1)
    assert stats.flow_feedback == {"helped": 1, "not_helped": 0}
    assert (stats.handoffs, stats.handoffs_closed) == (2, 1)
    assert stats.median_resolution_hours is not None and stats.median_resolution_hours < 0.01
    assert stats.ratings == {"up": 1, "down": 0}
    assert sum(stats.per_day.values()) == 10
    text = as_text(stats)
    assert "问题 10 个" in text and "直接回答 70%" in text and "转人工：2 单" in text
    assert "评价：满意 1 · 不满意 0" in text and "👍" not in text  # a font without emoji draws boxes
    titled = as_text(stats, load_content(None))
    assert "最常见：51 资金不足 6，打印机不出纸/空白 1" in titled and "code_51" not in titled


async def test_handoffs_are_counted_where_flows_end_in_them(database: Database) -> None:
    """转人工 0 although flows had ended in a handoff: a case opened from inside a flow (转人工 tapped
    mid-flow, 没帮上 after it) counts, and a flow's escalate ending counts once with its case."""
    records = await Records.open(database)
    await records.outcomes.record("1", FlowEvent("started", "printer_problem"))
    await records.outcomes.record("1", FlowEvent("ended", "printer_problem", "escalate", helped=False))
    await records.tickets.open_ticket(Merchant(1, 1, "张"), CaseContext(
        trigger="escalate", flow_path=("printer_problem/blank", "printer_problem/repair")))
    await records.outcomes.record("2", FlowEvent("started", "signin_failure"))
    await records.tickets.open_ticket(Merchant(2, 2, "李"), CaseContext(
        trigger="button", flow_path=("signin_failure/start",)))
    await records.outcomes.record("3", FlowEvent("started", "printer_problem"))
    await records.outcomes.record("3", FlowEvent("ended", "printer_problem", "resolved"))
    await records.outcomes.record("3", FlowEvent("feedback", "printer_problem", helped=False))
    await records.tickets.open_ticket(Merchant(3, 3, "王"), CaseContext(
        trigger="not_helped", flow_path=("printer_problem/blank",)))
    await records.tickets.open_ticket(Merchant(4, 4, "赵"), CaseContext(trigger="words"))  # no flow
    stats = await compute(records.db, days=7)
    assert (stats.flows_started, stats.flows_escalated, stats.handoffs) == (3, 3, 4)
    assert "转人工 3" in as_text(stats)


async def test_old_events_fall_outside_the_window(records: Records) -> None:
    assert (await compute(records.db, days=7, now=time.time() + 30 * 86400)).questions == 0


def test_a_data_dir_that_does_not_exist_is_an_error_not_zeros(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--data-dir", str(tmp_path / "nothing"), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"posbot: 没有记录：{tmp_path / 'nothing'} 不存在")
    assert not (tmp_path / "nothing").exists()  # a read-only command creates nothing
    (tmp_path / "empty").mkdir()
    assert main(["stats", "--data-dir", str(tmp_path / "empty")]) == 2
    assert "empty/posbot.sqlite3 不存在" in capsys.readouterr().err


async def test_stats_reads_the_settings_posbot_run_reads_dotenv_included(
        records: Records, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """DATABASE_URL (or DATA_DIR) written in .env, as for `posbot run`, and no BOT_TOKEN needed."""
    for name in ("DATABASE_URL", "DATA_DIR", "REDIS_URL", "BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    setting = (f"DATABASE_URL={backend.url}" if backend.url is not None
               else f"DATA_DIR={backend.sqlite_path.parent}")  # type: ignore[union-attr]
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / ".env").write_text(setting + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "cwd")
    assert await _in_thread(main, ["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["questions"] == 10


async def test_the_inbox_keeps_clarify_picks_and_masks(records: Records) -> None:
    log = records.questions
    inbox = await log.inbox()
    assert [q.question for q in inbox] == ["卡", "今天天气", "卡号****0128扣了两次"]
    assert inbox[0].picked == "card_read_failure"
    await log.mark([inbox[1].id], "ignored")
    await log.record("9", "今天天气", "fallback", intent=None, code=None, score=None, candidates=[])
    assert "今天天气" not in [q.question for q in await log.inbox()]  # ignored forever


def _cli_source(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """How an admin points the CLI at this backend: --data-dir, or DATABASE_URL."""
    if backend.url is not None:
        monkeypatch.setenv("DATABASE_URL", backend.url)
        return []
    assert backend.sqlite_path is not None
    return ["--data-dir", str(backend.sqlite_path.parent)]


async def test_posbot_stats_cli(records: Records, backend: Backend, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    source = _cli_source(backend, monkeypatch)
    assert await _in_thread(main, ["stats", *source, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["questions"] == 10
    assert await _in_thread(main, ["stats", *source]) == 0
    assert "问题 10 个" in capsys.readouterr().out


async def test_html_report_with_charts(records: Records, backend: Backend, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report.html"
    assert await _in_thread(main, ["stats", *_cli_source(backend, monkeypatch), "--html", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "问题 10 个" in page
    assert page.count("<svg") == 5 and "<img" not in page  # labels are text in the page's font, not pixels
    assert '"Noto Sans CJK SC"' in page and "PingFang SC" in page and "Microsoft YaHei" in page
    assert "51 资金不足" in page and "code_51" not in page and "满意" in page
    assert not any(ch in page for ch in "👍👎")


async def _in_thread(function, *args):  # the CLI runs its own event loop, as it does from a shell
    import asyncio

    return await asyncio.to_thread(function, *args)
