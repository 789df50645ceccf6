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


def test_migrations_run_once_per_store_and_upgrade_old_files(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    first = connect(path, "a", ["CREATE TABLE a (x INTEGER);"])
    first.execute("INSERT INTO a VALUES (1)")
    first.close()
    other = connect(path, "b", ["CREATE TABLE b (z INTEGER); CREATE INDEX b_z ON b (z);"])
    other.close()
    upgraded = connect(path, "a", ["CREATE TABLE a (x INTEGER);", "ALTER TABLE a ADD COLUMN y TEXT;"])
    versions = dict(upgraded.execute("SELECT store, version FROM schema_versions").fetchall())
    assert versions == {"a": 2, "b": 1}
    assert upgraded.execute("SELECT x, y FROM a").fetchall() == [(1, None)]
    assert upgraded.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    upgraded.close()
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM a").fetchone()[0] == 1


def test_a_failed_migration_changes_nothing(tmp_path: Path) -> None:
    import pytest

    path = tmp_path / "x.sqlite3"
    with pytest.raises(sqlite3.OperationalError):
        connect(path, "a", ["CREATE TABLE a (x INTEGER); CREATE TABLE a (x INTEGER);"])
    db = sqlite3.connect(path)
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'a'").fetchall() == []
