"""The embedded SQLite stores, on a real file."""

import sqlite3
from pathlib import Path

from bot.core.dialog import FlowEvent
from bot.storage.outcomes import SQLiteOutcomeLog
from bot.storage.sqlite import connect


def test_outcomes_are_recorded_and_summarised(tmp_path: Path) -> None:
    path = tmp_path / "data" / "posbot.sqlite3"
    log = SQLiteOutcomeLog(path)
    log.record("7", FlowEvent("ended", "printer_problem", "resolved", path=("printer_problem/blank",)))
    log.record("7", FlowEvent("feedback", "printer_problem", helped=True))
    log.record("8", FlowEvent("ended", "printer_problem", "escalate", helped=False))
    log.record("9", FlowEvent("ended", "printer_problem", "script:receipt"))
    log.record("9", FlowEvent("feedback", "printer_problem", helped=False))
    log.close()
    reopened = SQLiteOutcomeLog(path)  # survives a restart
    assert reopened.summary() == {"printer_problem": {"resolved": 1, "helped": 1, "escalate": 1, "script": 1,
                                                      "not_helped": 1}}
    reopened.close()


def test_migrations_run_once_and_upgrade_old_files(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    first = connect(path, ["CREATE TABLE a (x INTEGER);"])
    first.execute("INSERT INTO a VALUES (1)")
    first.close()
    upgraded = connect(path, ["CREATE TABLE a (x INTEGER);", "ALTER TABLE a ADD COLUMN y TEXT;"])
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] == 2
    assert upgraded.execute("SELECT x, y FROM a").fetchall() == [(1, None)]
    assert upgraded.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    upgraded.close()
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM a").fetchone()[0] == 1
