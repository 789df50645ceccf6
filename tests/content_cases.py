"""Content cases in YAML (intents/tests/*.yaml), checked against what the merchant sees.

Admins write the cases next to the content; `tests/test_content_cases.py` runs every one through the
real engine and the real dialog. A case is one of:

    - ask: "刷卡显示51"          a question, typed by a merchant
      expect: "51"               the intent id or quoted code the decision must answer (a clarification
                                 that offers it counts: the merchant taps it and sees that answer)
      expect_not: code_13        the decision must not answer this
    - flow: charged_but_failed   every step text and choice label of that flow, as shown; an intent
                                 id or quoted code instead of a flow id: the flow that intent leads to
    - script: wrong_pin          every line of the script, the short form and the longer version; an
                                 intent id or quoted code: the script that intent offers ("03")
    - intent: "16"               the intent's own answer, as shown (first line, steps, tell_customer), and
                                 its 详细说明 (meaning, party, details): what the merchant reaches from it

and may carry `must_say` / `must_not_say` (regular expressions that must / must not appear in what
is shown; a flow's or script's `must_not_say` is checked line by line, `must_say` anywhere in it) and
`why` (the audit item or reason, e.g. "H1"). A problem names the file, the case and the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import yaml

from bot.core.dialog import CHOOSE, DETAILS, FLOW, FULL, SCRIPT, SHOW, Dialog, DialogState, action

KINDS = ("ask", "flow", "script", "intent")
KEYS = frozenset(KINDS) | {"expect", "expect_not", "must_say", "must_not_say", "why"}
CONTEXT = 30
"""Characters shown either side of a forbidden match in a problem message."""


class CaseError(ValueError):
    """A case file that cannot be read as cases: the message names the file and the case."""


@dataclass(frozen=True)
class Case:
    file: str
    number: int
    """1-based position in its file."""
    kind: str
    target: str
    expect: str | None = None
    expect_not: str | None = None
    must_say: tuple[str, ...] = ()
    must_not_say: tuple[str, ...] = ()
    why: str = ""

    @property
    def name(self) -> str:
        return f"{self.file} case {self.number} ({self.kind}: {self.target})"

    @property
    def test_id(self) -> str:
        return f"{self.file}#{self.number}:{self.kind}={self.target[:24]}"


def yaml_entries(directory: Path, key: str, error: type[ValueError], shape: str) -> Iterator[tuple[str, int, Any]]:
    """(file name, number from 1, raw entry) for each entry of the one list `key:` of every *.yaml file
    in `directory`, in file order; a file holding anything else raises `error`: "<file>: <shape>"."""
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or set(data) - {key} or not isinstance(data.get(key, []), list):
            raise error(f"{path.name}: {shape}")
        for number, raw in enumerate(data.get(key) or [], 1):
            yield path.name, number, raw


def load_cases(directory: Path) -> list[Case]:
    """Every case of every *.yaml file in `directory`, in file order; CaseError on a malformed one."""
    return [_case(file, number, raw) for file, number, raw in yaml_entries(
        directory, "cases", CaseError, "a case file holds one key, cases:, with a list of cases")]


def _case(file: str, number: int, raw: Any) -> Case:
    where = f"{file} case {number}"
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: a case is a mapping, e.g. {{ask: ..., expect: ...}}")
    unknown = set(raw) - KEYS
    if unknown:
        raise CaseError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(KEYS)}")
    kinds = [kind for kind in KINDS if kind in raw]
    if len(kinds) != 1:
        raise CaseError(f"{where}: needs exactly one of {', '.join(KINDS)} (has {', '.join(kinds) or 'none'})")
    kind = kinds[0]
    for key in (kind, "expect", "expect_not", "why"):
        if key in raw and not isinstance(raw[key], str):
            raise CaseError(f"{where}: {key} must be a quoted string (codes too: \"03\", not 03), got {raw[key]!r}")
    if kind != "ask" and ("expect" in raw or "expect_not" in raw):
        raise CaseError(f"{where}: expect and expect_not belong to ask cases")
    lists = pattern_lists(raw, where, CaseError)
    if kind != "ask" and not (lists["must_say"] or lists["must_not_say"]):
        raise CaseError(f"{where}: a {kind} case needs must_say or must_not_say")
    if kind == "ask" and not (raw.get("expect") or raw.get("expect_not") or lists["must_say"] or lists["must_not_say"]):
        raise CaseError(f"{where}: an ask case needs expect, expect_not, must_say or must_not_say")
    return Case(file, number, kind, raw[kind], raw.get("expect"), raw.get("expect_not"), lists["must_say"],
                lists["must_not_say"], raw.get("why", ""))


def check_case(case: Case, dialog: Dialog) -> list[str]:
    """What is wrong with the content for this case; [] when it holds."""
    problems = _problems(case, dialog)
    return [f"{problem}\n  (why: {case.why})" for problem in problems] if case.why else problems


def _problems(case: Case, dialog: Dialog) -> list[str]:
    content = dialog.content
    problems: list[str] = []
    if case.kind == "ask":
        shown = _ask(case, dialog, problems)
    elif case.kind == "intent":
        intent_id = content.intent_id(case.target)
        if intent_id is None:
            return [f"{case.name}: no intent {case.target!r}"]
        shown = _with_details(dialog, dialog.on_action(action(SHOW, intent_id), DialogState()), "the answer")
    elif case.kind == "flow":
        flow = _flow_or_intents(content, case.target)
        if flow is None:
            return [f"{case.name}: no flow {case.target!r}, nor an intent that leads to one"]
        shown = _flow_lines(dialog, flow.id)
    else:
        script = _script_or_intents(content, case.target)
        if script is None:
            return [f"{case.name}: no script {case.target!r}, nor an intent that offers one"]
        shown = _script_lines(dialog, script.id)
    if shown is None:
        return problems
    whole = "\n".join(text for _, text in shown)
    for pattern in case.must_say:
        if not re.search(pattern, whole):
            problems.append(f"{case.name}: must say /{pattern}/ but shows:\n{_indent(_cut(whole))}")
    for pattern in case.must_not_say:
        for where, text in shown:
            found = re.search(pattern, text)
            if found:
                start, end = max(0, found.start() - CONTEXT), found.end() + CONTEXT
                problems.append(f"{case.name}: must not say /{pattern}/ but {where} shows "
                                f"“{text[start:found.start()]}【{found.group()}】{text[found.end():end]}”")
    return problems


Shown = list[tuple[str, str]]
"""What the merchant sees, piece by piece: (where it is shown, the text)."""


def _ask(case: Case, dialog: Dialog, problems: list[str]) -> Shown | None:
    content = dialog.content
    turn = dialog.on_text(case.target, DialogState())
    decision = turn.understanding.decision if turn.understanding is not None else None
    seen = _decision_text(decision)
    if case.expect_not is not None:
        unwanted = content.intent_id(case.expect_not)
        if unwanted is None:
            problems.append(f"{case.name}: expect_not names no intent: {case.expect_not!r}")
        elif decision is not None and decision.kind in ("answer", "refuse") and decision.intent == unwanted:
            problems.append(f"{case.name}: must not answer {unwanted}, but does")
    if case.expect == "refuse":  # any refusal: a red-line word, pattern or intent
        if decision is None or decision.kind != "refuse":
            problems.append(f"{case.name}: should be refused, but {seen}")
            return None
        return [("the reply", _answer_text(turn.reply))]
    if case.expect is not None:
        wanted = content.intent_id(case.expect)
        if wanted is None:
            problems.append(f"{case.name}: expect names no intent: {case.expect!r}")
            return None
        if decision is not None and decision.kind == "clarify" and wanted in [c.intent for c in decision.choices]:
            turn = dialog.on_action(action(SHOW, wanted), turn.state)  # the merchant taps the right choice
        elif decision is None or decision.kind not in ("answer", "refuse") or decision.intent != wanted:
            problems.append(f"{case.name}: should answer {wanted}, but {seen}")
            return None
    return _with_details(dialog, turn, "the reply")


def _with_details(dialog: Dialog, turn, where: str) -> Shown:
    """The reply, and the 详细说明 it offers: one tap away, so what it says is held to the same case."""
    shown = [(where, _answer_text(turn.reply))]
    for option in turn.reply.options:
        if option.action.startswith(DETAILS + ":"):
            details = dialog.on_action(option.action, turn.state).reply
            shown.append((f"{where}'s 详细说明", _answer_text(details)))
    return shown


def _flow_or_intents(content, target: str):
    """A flow by id, or the flow an intent (id or code) leads to."""
    if target in content.flows_by_id:
        return content.flows_by_id[target]
    intent_id = content.intent_id(target)
    return content.flow_for(intent_id) if intent_id is not None else None


def _script_or_intents(content, target: str):
    """A script by id, or the script an intent (id or code) offers."""
    if target in content.scripts_by_id:
        return content.scripts_by_id[target]
    intent_id = content.intent_id(target)
    return content.script_for(intent_id) if intent_id is not None else None


def _decision_text(decision) -> str:
    if decision is None:
        return "nothing was understood"
    if decision.kind == "answer":
        return f"answers {decision.intent}"
    if decision.kind == "clarify":
        return "asks which of " + ", ".join(c.intent for c in decision.choices)
    return "refuses" if decision.refused else "falls back (not understood)"


def _answer_text(reply) -> str:
    return "\n".join(part for part in (reply.preface, reply.title, reply.text) if part)


def _flow_lines(dialog: Dialog, flow_id: str) -> Shown:
    """Every step of the flow as the merchant sees it: its text and its choice labels, walked with
    the real dialog from the first step (steps no path reaches are not shown, so not checked)."""
    flow = dialog.content.flows_by_id[flow_id]
    turn = dialog.on_action(action(FLOW, flow_id), DialogState())
    at = {flow.start.id: turn}
    todo = [flow.start.id]
    lines: Shown = []
    while todo:
        step = flow.step(todo.pop(0))
        turn = at[step.id]
        lines.append((f"step {step.id}", turn.reply.text))
        for index, choice in enumerate(step.choices):
            lines.append((f"a button of step {step.id}", choice.label))
            kind, target = choice.target
            if kind == "next" and target not in at:
                at[target] = dialog.on_action(action(CHOOSE, flow_id, step.id, str(index)), turn.state)
                todo.append(target)
    return lines


def _script_lines(dialog: Dialog, script_id: str) -> Shown:
    short = dialog.on_action(action(SCRIPT, script_id), DialogState()).reply
    full = dialog.on_action(action(SCRIPT, script_id, FULL), DialogState()).reply
    lines = [("the script", line) for line in short.text.splitlines()]
    return lines + [("the longer script", line) for line in full.text.splitlines() if ("the script", line) not in lines]


def _cut(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + f"…（另有 {len(text) - limit} 字）"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def pattern_lists(raw: dict, where: str, error: type[Exception]) -> dict[str, tuple[str, ...]]:
    """`must_say` and `must_not_say` of a case or a conversation turn: a regular expression or a list
    of them, each checked to compile; `error` is raised (with `where`) for anything else."""
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("must_say", "must_not_say"):
        value = raw.get(key, [])
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise error(f"{where}: {key} is a list of regular expressions (strings)")
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as problem:
                raise error(f"{where}: {key} {pattern!r} is not a regular expression: {problem}") from None
        lists[key] = tuple(value)
    return lists
