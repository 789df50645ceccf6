"""Multi-turn conversation cases in YAML (intents/tests/conversations/*.yaml), run turn by turn through
the turn service (bot.turn, as Telegram drives it) and through the console chat (`posbot chat`),
checked against what the merchant sees.

Admins extend them next to the content. A file holds `conversations:`, a list of

    - name: 打印机排查中打字回复       what the conversation is about (shown in problems)
      why: "issue 15"                  optional: the reason or audit item
      turns:
        - say: 打印机不出纸             a message typed by the merchant ("" or "   " for a blank one)
          must_say: ["打印"]           regular expressions that must appear in the reply
        - tap: 一步步排查               a button of the previous reply, by its label
        - say: 还是没反应
          must_not_say: ["没看懂"]     regular expressions that must not appear in the reply
          kind: step                   optional: the reply's kind (answer, step, fallback, human …)
          fallbacks: 0                 optional: misunderstandings in a row after this turn
          relayed: true                optional: whether this message went into the merchant's case
          topic: code_51               optional: the current topic after this turn (an intent id; turn service only)
        - staff: 您好，我是客服        (support only) staff reply in the case's topic

A conversation with `support: true` runs with a support group (handoff offers, cases on a real SQLite
ticket store in a temporary directory) through the turn service only: the console has no support group.

Through the console, a tap types the number the console printed next to that label, and the reply
checked is the console's text (its note on human support included). A problem names the file, the
conversation and the turn.
"""

from __future__ import annotations

import asyncio
import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar


from bot.console import ConsoleChat, MemoryStore, render
from bot.core.dialog import Dialog
from bot.core.reply import Reply
from bot.handoff.models import Merchant, Status
from bot.handoff.sql_store import SQLTicketStore
from bot.handoff.store import TicketStore
from bot.storage.db import SQLiteDatabase
from bot.turn.cases import TicketCases
from bot.turn.effects import Effect, NoteToCase, OfferHandoff, OpenCase, Relay
from bot.turn.inputs import Input, Tap, Text, Where
from bot.turn.service import Carried, Shown, TurnService
from tests.content_cases import pattern_lists, yaml_entries

T = TypeVar("T")

TURN_KEYS = frozenset({"say", "tap", "staff", "must_say", "must_not_say", "kind", "fallbacks", "relayed", "topic"})
CASE_KEYS = frozenset({"name", "why", "turns", "support"})
OPTION_LINE = re.compile(r"^  \[(\d+)\] (.+)$", re.MULTILINE)


class ConversationError(ValueError):
    """A conversation file that cannot be read: the message names the file, the conversation and the turn."""


@dataclass(frozen=True)
class Step:
    say: str | None
    tap: str | None
    must_say: tuple[str, ...] = ()
    must_not_say: tuple[str, ...] = ()
    kind: str | None = None
    fallbacks: int | None = None
    staff: str | None = None
    relayed: bool | None = None
    topic: str | None = None

    @property
    def shown(self) -> str:
        if self.staff is not None:
            return f"staff {self.staff!r}"
        return f"say {self.say!r}" if self.say is not None else f"tap {self.tap!r}"


@dataclass(frozen=True)
class Conversation:
    file: str
    name: str
    turns: tuple[Step, ...]
    why: str = ""
    support: bool = False

    @property
    def test_id(self) -> str:
        return f"{self.file}:{self.name}"


def load_conversations(directory: Path) -> list[Conversation]:
    """Every conversation of every *.yaml file in `directory`; ConversationError on a malformed one."""
    return [_conversation(file, number, raw)
            for file, number, raw in yaml_entries(
                directory, "conversations", ConversationError, "a file holds one key, conversations:, with a list")]


def _conversation(file: str, number: int, raw: Any) -> Conversation:
    where = f"{file} conversation {number}"
    if not isinstance(raw, dict) or set(raw) - CASE_KEYS or not isinstance(raw.get("name"), str):
        raise ConversationError(f"{where}: a conversation is a mapping with name: and turns: (and why:)")
    where = f"{file} “{raw['name']}”"
    turns = raw.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ConversationError(f"{where}: turns: is a non-empty list")
    support = raw.get("support", False)
    if not isinstance(support, bool):
        raise ConversationError(f"{where}: support: is true or false")
    steps = tuple(_turn(f"{where} turn {n}", t) for n, t in enumerate(turns, 1))
    if not support and any(step.staff is not None or step.relayed is not None for step in steps):
        raise ConversationError(f"{where}: staff: and relayed: need support: true")
    return Conversation(file, raw["name"], steps, why=str(raw.get("why") or ""), support=support)


def _turn(where: str, raw: Any) -> Step:
    if not isinstance(raw, dict):
        raise ConversationError(f"{where}: a turn is a mapping, e.g. {{say: 显示51}}")
    unknown = set(raw) - TURN_KEYS
    if unknown:
        raise ConversationError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(TURN_KEYS)}")
    if ("say" in raw) + ("tap" in raw) + ("staff" in raw) != 1:
        raise ConversationError(f"{where}: needs exactly one of say: and tap: (or staff:)")
    if "staff" in raw:
        if not isinstance(raw["staff"], str) or set(raw) != {"staff"}:
            raise ConversationError(f"{where}: staff: takes the text staff write, and nothing else")
        return Step(None, None, staff=raw["staff"])
    said, tapped = raw.get("say"), raw.get("tap")
    if said is not None and not isinstance(said, str) or tapped is not None and not isinstance(tapped, str):
        raise ConversationError(f"{where}: say: and tap: take a quoted string (\"51\", not 51)")
    if "say" in raw and said is None:
        said = ""
    patterns = pattern_lists(raw, where, ConversationError)
    fallbacks = raw.get("fallbacks")
    if fallbacks is not None and (not isinstance(fallbacks, int) or isinstance(fallbacks, bool)):
        raise ConversationError(f"{where}: fallbacks is a whole number")
    kind = raw.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise ConversationError(f"{where}: kind is a reply kind such as answer, step, fallback, human")
    relayed = raw.get("relayed")
    if relayed is not None and not isinstance(relayed, bool):
        raise ConversationError(f"{where}: relayed is true or false")
    topic = raw.get("topic")
    if topic is not None and not isinstance(topic, str):
        raise ConversationError(f"{where}: topic is an intent id such as code_51 or charged_but_failed")
    return Step(said, tapped, patterns["must_say"], patterns["must_not_say"], kind, fallbacks, relayed=relayed,
                topic=topic)


def _problems(where: str, step: Step, shown: str) -> list[str]:
    problems = [f"{where}: must say /{p}/, the reply was:\n{shown}" for p in step.must_say if not re.search(p, shown)]
    problems += [f"{where}: must not say /{p}/, the reply was:\n{shown}" for p in step.must_not_say
                 if re.search(p, shown)]
    return problems


def run_in_dialog(conversation: Conversation, dialog: Dialog) -> list[str]:
    """The conversation through the turn service (as Telegram drives it); the problems found (empty:
    it passed)."""
    return asyncio.run(_run_in_service(conversation, dialog))


class _Recorder:
    """The turn service's front end for the runner: keeps what the merchant would see, and carries
    cases out on the real ticket store."""

    def __init__(self, tickets: TicketStore | None) -> None:
        self.tickets = tickets
        self.replies: list[Reply] = []
        self.relayed = False
        self.message = 0
        self.said = ""

    async def think(self, work: Callable[[], T]) -> T:
        return work()

    async def carry_out(self, effects: Sequence[Effect]) -> Carried:
        shown: list[Shown] = []
        case = None
        for effect in effects:
            reply = getattr(effect, "reply", None)
            if isinstance(effect, OpenCase) and self.tickets is not None:
                ticket, _ = await self.tickets.open_ticket(Merchant(USER, USER, "商户"), effect.context)
                case = ticket.id
                reply = Reply(kind="info", title=f"已转人工客服（工单 #{ticket.id}）", text="接下来你发的消息都会直接转给客服。")
            elif isinstance(effect, Relay) and self.tickets is not None:
                self.relayed = True
                await self.tickets.add_transcript(effect.case.id, "merchant", self.said)
                await self.tickets.set_status(effect.case.id, Status.WAITING_SUPPORT)
            elif isinstance(effect, NoteToCase) and self.tickets is not None:
                await self.tickets.add_transcript(effect.case.id, "bot", effect.text)
            if isinstance(reply, Reply):
                self.replies.append(reply)
                self.message += 1
                role = "offer" if isinstance(effect, OfferHandoff) else getattr(effect, "role", "menu")
                shown.append(Shown(self.message, role, bool(reply.options)))
        return Carried(tuple(shown), case)


USER = 1


async def _run_in_service(conversation: Conversation, dialog: Dialog) -> list[str]:
    with tempfile.TemporaryDirectory() as data_dir:
        db = SQLiteDatabase(Path(data_dir) / "posbot.sqlite3") if conversation.support else None
        try:
            tickets = await SQLTicketStore.open(db) if db is not None else None
            return await _walk(conversation, dialog, tickets)
        finally:
            if db is not None:
                await db.close()


async def _walk(conversation: Conversation, dialog: Dialog, tickets: TicketStore | None) -> list[str]:
    service = TurnService(lambda: dialog, cases=TicketCases(tickets) if tickets is not None else None)
    store, front = MemoryStore(), _Recorder(tickets)
    replies: list[Reply] = []
    problems: list[str] = []
    for number, step in enumerate(conversation.turns, 1):
        where = f"{conversation.file} “{conversation.name}” turn {number} ({step.shown}, turn service)"
        if step.staff is not None:
            ticket = await tickets.open_for(USER) if tickets is not None else None
            if ticket is None:
                return problems + [f"{where}: no case is open for staff to reply in"]
            await tickets.add_transcript(ticket.id, "staff", step.staff)  # type: ignore[union-attr]
            await tickets.set_status(ticket.id, Status.WAITING_MERCHANT)  # type: ignore[union-attr]
            continue
        event: Input
        if step.say is not None:
            event, front.said = Text(step.say), step.say
        else:
            action = _action(replies[-1] if replies else None, step.tap or "")
            if action is None:
                return problems + [f"{where}: no button “{step.tap}” on the previous reply"]
            event = Tap(action)
        front.replies, front.relayed = [], False
        outcome = await service.handle(event, Where(chat=USER, user=USER, message=front.message or None), front, store)
        replies = front.replies or replies
        shown = "\n".join(render(reply) for reply in front.replies)
        problems += _problems(where, step, shown)
        kinds = [reply.kind for reply in front.replies]
        if step.kind is not None and step.kind not in kinds:
            problems.append(f"{where}: the reply is a {'/'.join(kinds) or 'nothing'}, not a {step.kind}")
        fallbacks = outcome.state.dialog.fallbacks
        if step.fallbacks is not None and fallbacks != step.fallbacks:
            problems.append(f"{where}: {fallbacks} misunderstanding(s) in a row, not {step.fallbacks}")
        if step.relayed is not None and front.relayed != step.relayed:
            problems.append(f"{where}: the message was {'' if front.relayed else 'not '}relayed into the case")
        if step.topic is not None and outcome.state.dialog.topic != step.topic:
            problems.append(f"{where}: the topic is {outcome.state.dialog.topic}, not {step.topic}")
    return problems


def _action(reply: Reply | None, label: str) -> str | None:
    options = reply.options if reply is not None else ()
    return next((option.action for option in options if option.label == label), None)


def run_in_console(conversation: Conversation, dialog: Dialog) -> list[str]:
    """The conversation typed into the console chat, as `posbot chat` runs it; the problems found."""
    out = io.StringIO()
    chat = ConsoleChat(dialog, out=out)
    chat.show(dialog.welcome())
    shown = out.getvalue()
    problems: list[str] = []
    for number, step in enumerate(conversation.turns, 1):
        where = f"{conversation.file} “{conversation.name}” turn {number} ({step.shown}, console)"
        line = step.say
        if line is None:
            numbers = {label: n for n, label in OPTION_LINE.findall(shown)}
            if step.tap not in numbers:
                return problems + [f"{where}: the console shows no option “{step.tap}”:\n{shown}"]
            line = numbers[step.tap]
        start = len(out.getvalue())
        chat.handle(line)
        shown = out.getvalue()[start:]
        problems += _problems(where, step, shown)
    return problems
