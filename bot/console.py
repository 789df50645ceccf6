"""The console front end: renders Replies as text and reads questions or option numbers."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from typing import Any, Coroutine, TextIO

from bot.core.dialog import Dialog, DialogState, StaleChoice, Turn
from bot.core.reply import Reply
from bot.storage.outcomes import OutcomeLog
from bot.storage.questions import QuestionLog, in_flow, record_action, record_turn

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


class ConsoleChat:
    """One merchant's conversation in a terminal or from a pipe, with the real engine."""

    USER_ID = "console"

    def __init__(self, dialog: Dialog, out: TextIO | None = None, outcomes: OutcomeLog | None = None,
                 questions: QuestionLog | None = None, runner: asyncio.Runner | None = None) -> None:
        """`runner`: the event loop the (async) stores were opened on; the chat itself is synchronous."""
        self.dialog = dialog
        self.out = out if out is not None else sys.stdout  # at call time: a default would keep the stream of import time
        self.outcomes = outcomes
        self.questions = questions
        self.runner = runner
        self.state = DialogState()
        self.options: tuple[str, ...] = ()

    def show(self, reply: Reply) -> None:
        if reply.kind == "human":
            reply = replace(reply, preface=NO_SUPPORT_HERE)
        self.options = tuple(option.action for option in reply.options)
        print(render(reply), file=self.out, flush=True)

    def handle(self, line: str) -> None:
        """A typed line: an option number when options are showing, a command, or a question."""
        text = line.strip()
        if text in {"/start", "/menu"}:
            self.show(self.dialog.welcome())
            return
        if text.isdigit() and len(text) == 1 and 1 <= int(text) <= len(self.options):
            action = self.options[int(text) - 1]
            try:
                turn: Turn = self.dialog.on_action(action, self.state)
            except StaleChoice:
                self.show(self.dialog.expired())
                return
            if self.questions is not None:
                self._wait(record_action(self.questions, self.USER_ID, action))
        else:
            turn = self.dialog.on_text(text, self.state)
            if self.questions is not None:
                self._wait(record_turn(self.questions, self.USER_ID, text, turn.understanding,
                                       flow=in_flow(self.state)))
        self.state = turn.state
        if self.outcomes is not None:
            for event in turn.events:
                self._wait(self.outcomes.record(self.USER_ID, event))
        self.show(turn.reply)

    def _wait(self, work: Coroutine[Any, Any, None]) -> None:
        if self.runner is None:
            work.close()
            raise RuntimeError("ConsoleChat was given stores without the runner they were opened on")
        self.runner.run(work)

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
