"""The console front end: renders Replies as text and reads questions or option numbers."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from typing import Any, Callable, Mapping, Sequence, TextIO, TypeVar

from bot.core.dialog import Dialog, DialogState
from bot.core.reply import Reply
from bot.storage.outcomes import OutcomeLog
from bot.storage.questions import QuestionLog
from bot.turn.effects import Edit, Effect, Send
from bot.turn.inputs import Cancel, Input, Start, Tap, Text, Where
from bot.turn.service import Carried, Outcome, Shown, TurnService
from bot.turn.state import ChatState

T = TypeVar("T")

QUIT = {"/quit", "/exit", "/q", "退出"}
NO_SUPPORT_HERE = "（控制台里没有接人工客服群。在 Telegram 上配置了客服群时，这里会把对话连同前面的记录转给客服；这里请按下面的方式联系。）"


def render(reply: Reply) -> str:
    """A Reply as console text; options are numbered so typing the number picks one."""
    parts: list[str] = [reply.preface] if reply.preface else []
    if reply.title:
        parts.append(f"【{reply.title}】")
    if reply.text and reply.kind == "script":
        parts.extend(f"  “{line}”" for line in reply.text.splitlines())
    elif reply.text:
        parts.append(reply.text)
    for number, option in enumerate(reply.options, 1):
        parts.append(f"  [{number}] {option.label}")
    return "\n".join(parts)


class MemoryStore:
    """The console's one conversation state, kept in memory for the session."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    async def load(self) -> Mapping[str, Any]:
        return self.data

    async def save(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)


class ConsoleChat:
    """One merchant's conversation in a terminal or from a pipe, through the same turn service as
    Telegram (bot.turn), with no support group."""

    USER_ID = 0
    """The console's merchant, in the question log and flow outcomes as "0"."""

    def __init__(self, dialog: Dialog, out: TextIO | None = None, outcomes: OutcomeLog | None = None,
                 questions: QuestionLog | None = None, runner: asyncio.Runner | None = None) -> None:
        """`runner`: the event loop the (async) stores were opened on; the chat itself is synchronous."""
        if runner is None and (outcomes is not None or questions is not None):
            raise RuntimeError("ConsoleChat was given stores without the runner they were opened on")
        self.dialog = dialog
        self.out = out if out is not None else sys.stdout  # at call time: a default would keep the stream of import time
        self.runner = runner
        self.turns = TurnService(lambda: dialog, questions=questions, outcomes=outcomes)
        self.store = MemoryStore()
        self.options: tuple[str, ...] = ()
        self.shown = 0

    @property
    def state(self) -> DialogState:
        return ChatState.from_dict(self.store.data).dialog

    def show(self, reply: Reply) -> None:
        if reply.kind == "human":
            reply = replace(reply, preface=NO_SUPPORT_HERE)
        self.options = tuple(option.action for option in reply.options)
        print(render(reply), file=self.out, flush=True)

    def handle(self, line: str) -> Outcome:
        """A typed line: an option number when options are showing, a command, or a question."""
        text = line.strip()
        event: Input
        if text in {"/start", "/menu"}:
            event = Start()
        elif text == "/cancel":
            event = Cancel()
        elif text.isdigit() and len(text) == 1 and 1 <= int(text) <= len(self.options):
            event = Tap(self.options[int(text) - 1])
        else:
            event = Text(text)
        work = self.turns.handle(event, Where(chat=self.USER_ID, user=self.USER_ID), self, self.store)
        return self.runner.run(work) if self.runner is not None else asyncio.run(work)

    async def think(self, work: Callable[[], T]) -> T:
        return work()

    async def carry_out(self, effects: Sequence[Effect]) -> Carried:
        """Print what a chat would show; a message is never edited here, each reply is printed anew."""
        shown: list[Shown] = []
        for effect in effects:
            if isinstance(effect, (Send, Edit)):
                self.shown += 1
                self.show(effect.reply)
                shown.append(Shown(self.shown, effect.role, bool(effect.reply.options)))
        return Carried(tuple(shown))

    def run(self, source: TextIO = sys.stdin) -> int:
        interactive = source.isatty()
        if interactive:
            try:  # line editing and history for input(); absent on some platforms
                import readline  # noqa: F401
            except ImportError:
                pass
        self.show(self.dialog.welcome())
        while True:
            if interactive:
                try:
                    line = input("\n你> ")
                except (EOFError, KeyboardInterrupt):
                    print(file=self.out)
                    return 0
            else:
                line = source.readline()
                if not line:
                    return 0
                line = line.rstrip("\n")
                print(f"\n你> {line}", file=self.out)
            if line.strip() in QUIT:
                return 0
            self.handle(line)
