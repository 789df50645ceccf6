"""Stored records masked again when the masker learns more, on each database (SQLite, PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from bot.core.dialog import DialogState
from bot.storage import remask
from bot.records import Records
from bot.telegram.fsm import DatabaseStorage
from tests.databases import Backend

TYPED = "６２２５　８８１２　３４９８　７６１７"
"""What the masker before issue 12 let through (full-width digits, ideographic spaces)."""
DOTTED = "6217.0012.3456.7890.122"


async def write_as_an_older_release_did(records: Records) -> None:
    """Rows with card numbers the older masker missed, written straight into the tables."""
    db = records.db
    context = json.dumps({"trigger": "button", "detail": f"卡号{TYPED}", "last_messages": [f"卡 {DOTTED}", "还是不行"]},
                         ensure_ascii=False)
    await db.execute("INSERT INTO tickets (id, user_id, chat_id, name, status, context, created_at, updated_at)"
                     " VALUES (1, 7, 7, ?, 'open', ?, 0, 0)", (f"店主{TYPED}", context))
    await db.execute("INSERT INTO transcript (ticket_id, at, author, text) VALUES (1, 0, 'merchant', ?)",
                     (f"卡号 {DOTTED} 刷不了",))
    await db.execute("INSERT INTO outbox (ticket_id, direction, source_chat, source_message, text, last_error,"
                     " status, created_at) VALUES (1, 'to_support', 7, 10, ?, ?, 'pending', 0)",
                     (f"卡号{TYPED}", f"echo {DOTTED}"))
    await db.execute("INSERT INTO outbox (ticket_id, direction, source_chat, source_message, text, status, created_at)"
                     " VALUES (1, 'to_support', 7, 11, '还在吗', 'done', 0)")
    for text in (f"卡号{TYPED}怎么办", "刷卡失败"):
        await db.execute("INSERT INTO questions (user_id, at, question, decision) VALUES ('7', 0, ?, 'fallback')",
                         (text,))
    # two questions ignored for good that mask to the same text: one row survives
    for text in (f"卡号{TYPED}怎么办", "卡号6225 8812 3498 7617怎么办"):
        await db.execute("INSERT INTO ignored_questions (question, at) VALUES (?, 0)", (text,))
    state = DialogState(last_question=f"卡号{TYPED}", recent=(f"卡号{TYPED}", f"卡 {DOTTED}")).to_dict()
    await db.execute("INSERT INTO fsm (key, data) VALUES ('fsm:1:7:7:default:data', ?)",
                     (json.dumps({"dialog": state, "handoff": {"trigger": "media", "media": [7, 12, "photo",
                                                                                            f"小票 {DOTTED}"]}},
                                 ensure_ascii=False),))
    await db.execute("DELETE FROM schema_versions WHERE store = ?", (remask.STORE,))


async def everything(records: Records) -> str:
    rows = []
    for table in ("tickets", "transcript", "outbox", "questions", "ignored_questions", "fsm"):
        rows += [" | ".join(map(str, row)) for row in await records.db.fetchall(f"SELECT * FROM {table}")]
    return "\n".join(rows)


async def test_every_stored_text_is_masked_again(backend: Backend) -> None:
    records = await Records.open(await backend.open())
    await DatabaseStorage.open(records.db)
    await write_as_an_older_release_did(records)
    before = await everything(records)
    assert TYPED in before and DOTTED in before
    await records.close()

    records = await Records.open(await backend.open())  # the next start
    try:
        stored = await everything(records)
        assert TYPED not in stored and DOTTED not in stored, stored
        ticket = await records.tickets.get(1)
        assert ticket is not None and ticket.merchant.name == "店主****7617"
        assert ticket.context.detail == "卡号****7617" and ticket.context.last_messages == ("卡 ****0122", "还是不行")
        assert (await records.tickets.transcript(1))[0].text == "卡号 ****0122 刷不了"
        [pending] = await records.tickets.pending()
        assert (pending.text, pending.last_error, pending.held_card) == ("卡号****7617", "echo ****0122", True)
        assert await records.db.fetchall("SELECT question FROM questions ORDER BY id") == [
            ("卡号****7617怎么办",), ("刷卡失败",)]
        assert await records.db.fetchall("SELECT question FROM ignored_questions") == [("卡号****7617怎么办",)]
        assert [q.question for q in await records.questions.inbox()] == ["刷卡失败"]  # still ignored for good
        [(data,)] = await records.db.fetchall("SELECT data FROM fsm")
        saved = json.loads(data)
        assert DialogState.from_dict(saved["dialog"]).recent == ("卡号****7617", "卡 ****0122")
        assert saved["handoff"]["media"] == [7, 12, "photo", "小票 ****0122"]
        assert await remask.remask_stored(records.db) == {}  # once per masker version
    finally:
        await records.close()


async def test_a_new_masker_version_masks_again(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    records = await Records.open(await backend.open())
    try:
        await records.db.execute("INSERT INTO questions (user_id, at, question, decision) VALUES ('7', 0, ?, 'fallback')",
                                 (f"卡 {DOTTED}",))
        assert await remask.remask_stored(records.db) == {}
        monkeypatch.setattr(remask, "MASKER_VERSION", remask.MASKER_VERSION + 1)
        changed = await remask.remask_stored(records.db)
        assert changed["questions"] == 1 and changed["tickets"] == 0
        assert await records.db.fetchall("SELECT question FROM questions") == [("卡 ****0122",)]
    finally:
        await records.close()


def test_conversation_state_read_from_anywhere_is_masked() -> None:
    """Redis is not rewritten by the migration: state is masked again whenever it is read."""
    state = DialogState.from_dict({"last_question": f"卡号{TYPED}", "recent": [f"卡 {DOTTED}"]})
    assert state.last_question == "卡号****7617" and state.recent == ("卡 ****0122",)
