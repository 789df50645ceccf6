"""Multi-turn conversation cases in YAML (intents/tests/conversations/*.yaml), run turn by turn through
the dialog and through the console chat (`posbot chat`), checked against what the merchant sees.

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
          topic: code_51               optional: the current topic after this turn (an intent id; dialog only)

Through the console, a tap types the number the console printed next to that label, and the reply
checked is the console's text (its note on human support included). A problem names the file, the
conversation and the turn.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from bot.console import ConsoleChat, render
from bot.core.dialog import Dialog, DialogState, Turn
from tests.content_cases import yaml_entries

TURN_KEYS = frozenset({"say", "tap", "must_say", "must_not_say", "kind", "fallbacks", "topic"})
CASE_KEYS = frozenset({"name", "why", "turns"})
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
    topic: str | None = None

    @property
    def shown(self) -> str:
        return f"say {self.say!r}" if self.say is not None else f"tap {self.tap!r}"


@dataclass(frozen=True)
class Conversation:
    file: str
    name: str
    turns: tuple[Step, ...]
    why: str = ""

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
    return Conversation(file, raw["name"], tuple(_turn(f"{where} turn {n}", t) for n, t in enumerate(turns, 1)),
                        why=str(raw.get("why") or ""))


def _turn(where: str, raw: Any) -> Step:
    if not isinstance(raw, dict):
        raise ConversationError(f"{where}: a turn is a mapping, e.g. {{say: 显示51}}")
    unknown = set(raw) - TURN_KEYS
    if unknown:
        raise ConversationError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(TURN_KEYS)}")
    if ("say" in raw) == ("tap" in raw):
        raise ConversationError(f"{where}: needs exactly one of say: and tap:")
    said, tapped = raw.get("say"), raw.get("tap")
    if said is not None and not isinstance(said, str) or tapped is not None and not isinstance(tapped, str):
        raise ConversationError(f"{where}: say: and tap: take a quoted string (\"51\", not 51)")
    if "say" in raw and said is None:
        said = ""
    patterns: dict[str, tuple[str, ...]] = {}
    for key in ("must_say", "must_not_say"):
        value = raw.get(key, [])
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConversationError(f"{where}: {key} is a list of regular expressions (strings)")
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ConversationError(f"{where}: {key} {pattern!r} is not a regular expression: {error}") from None
        patterns[key] = tuple(value)
    fallbacks = raw.get("fallbacks")
    if fallbacks is not None and (not isinstance(fallbacks, int) or isinstance(fallbacks, bool)):
        raise ConversationError(f"{where}: fallbacks is a whole number")
    kind = raw.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise ConversationError(f"{where}: kind is a reply kind such as answer, step, fallback, human")
    topic = raw.get("topic")
    if topic is not None and not isinstance(topic, str):
        raise ConversationError(f"{where}: topic is an intent id such as code_51 or charged_but_failed")
    return Step(said, tapped, patterns["must_say"], patterns["must_not_say"], kind, fallbacks, topic)


def _problems(where: str, step: Step, shown: str) -> list[str]:
    problems = [f"{where}: must say /{p}/, the reply was:\n{shown}" for p in step.must_say if not re.search(p, shown)]
    problems += [f"{where}: must not say /{p}/, the reply was:\n{shown}" for p in step.must_not_say
                 if re.search(p, shown)]
    return problems


def run_in_dialog(conversation: Conversation, dialog: Dialog) -> list[str]:
    """The conversation through the dialog; the problems found (empty: it passed)."""
    state, turn = DialogState(), None
    problems: list[str] = []
    for number, step in enumerate(conversation.turns, 1):
        where = f"{conversation.file} “{conversation.name}” turn {number} ({step.shown}, dialog)"
        if step.say is not None:
            turn = dialog.on_text(step.say, state)
        else:
            action = _action(turn, step.tap or "")
            if action is None:
                return problems + [f"{where}: no button “{step.tap}” on the previous reply"]
            turn = dialog.on_action(action, state)
        state = turn.state
        problems += _problems(where, step, render(turn.reply))
        if step.kind is not None and turn.reply.kind != step.kind:
            problems.append(f"{where}: the reply is a {turn.reply.kind}, not a {step.kind}")
        if step.fallbacks is not None and state.fallbacks != step.fallbacks:
            problems.append(f"{where}: {state.fallbacks} misunderstanding(s) in a row, not {step.fallbacks}")
        if step.topic is not None and state.topic != step.topic:
            problems.append(f"{where}: the topic is {state.topic}, not {step.topic}")
    return problems


def _action(turn: Turn | None, label: str) -> str | None:
    options = turn.reply.options if turn is not None else ()
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
