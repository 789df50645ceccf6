"""Every question merchants ask, as the bot decided it: the source of stats and the review inbox.

Questions are masked (card numbers) on the way in, and again on the way out (a row stored before
the masker knew a way of typing a card must not be shown whole in the review inbox, nor written into
the content from it). For clarifications, what the merchant picked afterwards is recorded: a
labelled example an admin can add to the content.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from bot.core.actions import NoneOfThese, Show, decode
from bot.core.cards import mask_card_numbers
from bot.storage.db import SQLStore

if TYPE_CHECKING:
    from bot.core.dialog import DialogState
    from bot.core.engine import Understanding

MIGRATIONS = (
    """
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        at REAL NOT NULL,
        question TEXT NOT NULL,
        decision TEXT NOT NULL,          -- answer | clarify | fallback | refuse (red line)
        intent TEXT,                     -- answered intent
        code TEXT,
        score REAL,
        candidates TEXT NOT NULL DEFAULT '[]',
        picked TEXT,                     -- intent chosen after a clarification ('none' for 都不是)
        reviewed TEXT                    -- NULL, 'added', 'ignored', 'new'
    );
    CREATE INDEX questions_at ON questions (at);
    CREATE INDEX questions_inbox ON questions (decision, reviewed);
    CREATE TABLE ignored_questions (question TEXT PRIMARY KEY, at REAL NOT NULL);
    """,
    # the flow the merchant was in when they typed it: a fallback there was read as a reply to the
    # step (the dialog nudged them back to its buttons), not as a question for the review inbox
    "ALTER TABLE questions ADD COLUMN flow TEXT",
)
COLUMNS = "id, user_id, at, question, decision, intent, code, score, candidates, picked, flow"


@dataclass(frozen=True)
class LoggedQuestion:
    id: int
    user_id: str
    at: float
    question: str
    decision: str
    intent: str | None
    code: str | None
    score: float | None
    candidates: tuple[tuple[str, float], ...]
    picked: str | None
    flow: str | None = None
    """The flow the merchant was in when they typed it, if any."""


class QuestionLog(Protocol):
    async def record(self, user_id: str, question: str, decision: str, *, intent: str | None, code: str | None,
                     score: float | None, candidates: Sequence[tuple[str, float]], flow: str | None = None) -> int: ...

    async def picked(self, user_id: str, intent: str) -> None: ...

    async def inbox(self) -> Sequence[LoggedQuestion]: ...

    async def mark(self, ids: Sequence[int], how: str) -> None: ...


class SQLQuestionLog(SQLStore):
    STORE = "questions"
    MIGRATIONS = MIGRATIONS

    async def record(self, user_id: str, question: str, decision: str, *, intent: str | None, code: str | None,
                     score: float | None, candidates: Sequence[tuple[str, float]], flow: str | None = None) -> int:
        row = await self._db.fetchone(
            "INSERT INTO questions (user_id, at, question, decision, intent, code, score, candidates, flow)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (user_id, time.time(), mask_card_numbers(question)[:500], decision, intent, code, score,
             json.dumps([[i, round(s, 4)] for i, s in candidates]), flow))
        assert row is not None
        return int(row[0])

    async def picked(self, user_id: str, intent: str) -> None:
        """The merchant's choice after their latest clarification (within the last ten minutes)."""
        await self._db.execute(
            "UPDATE questions SET picked = ? WHERE id = (SELECT id FROM questions WHERE user_id = ?"
            " AND decision = 'clarify' AND picked IS NULL AND at > ? ORDER BY id DESC LIMIT 1)",
            (intent, user_id, time.time() - 600))

    async def inbox(self) -> list[LoggedQuestion]:
        """Fallbacks and clarifications not reviewed yet, minus questions ignored forever and
        fallbacks typed inside a flow (replies to its step, not questions)."""
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM questions WHERE decision IN ('fallback', 'clarify') AND reviewed IS NULL"
            " AND NOT (decision = 'fallback' AND flow IS NOT NULL)"
            " AND question != '' AND question NOT IN (SELECT question FROM ignored_questions) ORDER BY id")
        return [_row(r) for r in rows]

    async def mark(self, ids: Sequence[int], how: str) -> None:
        """added | ignored | new. Ignored questions stay ignored: the text itself is remembered."""
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        async with self._db.transaction() as session:
            await session.execute(f"UPDATE questions SET reviewed = ? WHERE id IN ({marks})", (how, *ids))
            if how == "ignored":
                await session.execute(
                    f"INSERT INTO ignored_questions (question, at) SELECT DISTINCT question, ? FROM questions"
                    f" WHERE id IN ({marks}) ON CONFLICT DO NOTHING", (time.time(), *ids))


def _row(row: tuple[Any, ...]) -> LoggedQuestion:
    (id_, user_id, at, question, decision, intent, code, score, candidates, picked, flow) = row
    pairs = tuple((str(i), float(s)) for i, s in json.loads(candidates))
    return LoggedQuestion(id_, user_id, at, mask_card_numbers(question), decision, intent, code, score, pairs, picked,
                          flow)


async def record_turn(log: QuestionLog, user_id: str, question: str, understanding: Understanding | None, *,
                      flow: str | None = None) -> None:
    """Log a typed question with the bot's decision (bot.core.engine.Understanding); `flow`: the
    flow the merchant was in before this turn. A refused question is logged as `refuse`, so it
    never reaches the review inbox (there is nothing to teach posbot from it)."""
    if understanding is None:
        return
    decision, analysis = understanding.decision, understanding.analysis
    top = analysis.candidates[0] if analysis.candidates else None
    intent = decision.intent if decision.kind == "answer" else None
    code = next((c.code for c in analysis.candidates if c.intent == intent), None) if intent else None
    await log.record(user_id, question, "refuse" if decision.refused else decision.kind, intent=intent, code=code,
                     score=top.score if top else None, candidates=[(c.intent, c.score) for c in analysis.candidates],
                     flow=flow)


def in_flow(state: DialogState) -> str | None:
    """The flow whose step the merchant had in front of them (after its end, waiting for 有帮助 /
    没帮上, the flow is kept but there is no step: what they type then is a question again)."""
    return state.flow if state.flow is not None and state.step is not None else None


async def record_action(log: QuestionLog, user_id: str, action: str) -> None:
    """A tapped answer (Show) or 都不是 (NoneOfThese) completes the merchant's latest clarification."""
    tapped = decode(action)
    if isinstance(tapped, Show):
        await log.picked(user_id, tapped.intent)
    elif isinstance(tapped, NoneOfThese):
        await log.picked(user_id, "none")
