"""posbot migrate-data: an existing SQLite data directory copied into a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.dialog import FlowEvent
from bot.handoff.models import CaseContext, Merchant, Status
from bot.storage.db import SQLiteDatabase
from bot.storage.postgres import PostgresDatabase
from bot.records import Records
from bot.telegram.fsm import DatabaseStorage


async def _fill(path: Path) -> dict[str, object]:
    db = SQLiteDatabase(path)
    records = await Records.open(db)
    alice, _ = await records.tickets.open_ticket(Merchant(7, 7, "李"), CaseContext(trigger="words", code="51"))
    await records.tickets.set_topic(alice.id, 500, None)
    item = await records.tickets.enqueue(alice.id, "to_support", 7, 10, text="机器还是报51")
    await records.tickets.delivered_relay(item, alice.id, "merchant", "机器还是报51", None, (7, 10), (-100, 900))
    await records.tickets.set_status(alice.id, Status.CLOSED)
    bob, _ = await records.tickets.open_ticket(Merchant(-1001234567890, 8, "王"), CaseContext(trigger="button"))
    pending = await records.tickets.enqueue(bob.id, "to_merchant", -100, 901, text="您好")
    await records.questions.record("7", "显示51", "answer", intent="code_51", code="51", score=1.0,
                                   candidates=[("code_51", 1.0)])
    await records.questions.record("7", "今天天气", "fallback", intent=None, code=None, score=None, candidates=[])
    await records.outcomes.record("7", FlowEvent("ended", "printer_problem", "resolved"))
    await records.blocked.mark(9, "forbidden")
    await DatabaseStorage.open(db)
    await db.execute("INSERT INTO fsm (key, state, data) VALUES ('k', NULL, '{\"dialog\": {\"flow\": \"x\"}}')")
    await db.close()
    return {"alice": alice.id, "bob": bob.id, "pending": pending}


async def _read(url: str) -> tuple[Records, PostgresDatabase]:
    db = await PostgresDatabase.connect(url)
    return await Records.open(db), db


def test_a_sqlite_data_dir_moves_to_postgres(tmp_path: Path, postgres_url: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    ids = asyncio.run(_fill(tmp_path / "data" / "posbot.sqlite3"))
    assert main(["migrate-data", "--data-dir", str(tmp_path / "data"), "--to", postgres_url]) == 0
    out = capsys.readouterr().out
    assert "tickets: 2" in out and "transcript: 1" in out and "fsm: 1" in out

    async def check() -> None:
        records, db = await _read(postgres_url)
        alice = await records.tickets.get(ids["alice"])  # type: ignore[arg-type]
        assert alice is not None and alice.status is Status.CLOSED and alice.topic_id == 500
        assert alice.context.code == "51"
        assert (await records.tickets.open_for(-1001234567890)).id == ids["bob"]  # type: ignore[union-attr]
        assert await records.tickets.counterpart(-100, 900) == (7, 10)
        assert [e.text for e in await records.tickets.transcript(alice.id)] == ["机器还是报51"]
        assert [i.id for i in await records.tickets.pending()] == [ids["pending"]]
        assert [q.question for q in await records.questions.inbox()] == ["今天天气"]
        assert await records.blocked.is_blocked(9)
        assert await records.outcomes.summary() == {"printer_problem": {"resolved": 1}}
        assert await db.fetchone("SELECT data FROM fsm WHERE key = 'k'") == ('{"dialog": {"flow": "x"}}',)
        # new rows get new ids, after the copied ones
        carol, created = await records.tickets.open_ticket(Merchant(10, 10, "张"), CaseContext(trigger="button"))
        assert created and carol.id > max(ids["alice"], ids["bob"])  # type: ignore[type-var]
        await db.close()

    asyncio.run(check())
    # a second run would mix two histories: refused, nothing changed
    assert main(["migrate-data", "--data-dir", str(tmp_path / "data"), "--to", postgres_url]) == 1
    assert "only fills an empty database" in capsys.readouterr().err


def test_migrate_data_explains_what_it_needs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["migrate-data", "--data-dir", str(tmp_path / "none"), "--to", "postgresql://x/y"]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "posbot.sqlite3").touch()
    assert main(["migrate-data", "--data-dir", str(tmp_path / "data")]) == 2
    assert "--to postgresql://" in capsys.readouterr().err
