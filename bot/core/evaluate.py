"""Score the engine on a labelled question set: what `posbot eval`, the tests and benchmarks report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import yaml

from bot.core.decide import Decision
from bot.core.errors import ContentError, Problem
from bot.core.loader import Content
from bot.core.match import Candidate
from bot.core.models import code_intent_id, looks_like_code

NONE = "none"
REFUSE = "refuse"
"""Gold for a red-line question: any refusal is right."""
HANDLED_KINDS = frozenset({"smalltalk", "redirect"})
"""Answering an out-of-scope question with one of these kinds is handling it, not a wrong answer."""


@dataclass(frozen=True)
class Case:
    question: str
    gold: str | None
    """Intent id, or None for out-of-scope questions."""
    label: str
    """The gold as written in the file (a code, an intent id, "refuse" or "none")."""
    category: str = ""
    """The set's own grouping (`cat:`), e.g. long, dialect, pinyin; reported one by one."""
    gold_kind: str = ""
    """code | symptom | smalltalk | redirect | redline for an intent; refuse; none."""


@dataclass(frozen=True)
class Outcome:
    case: Case
    decision: Decision
    candidates: tuple[Candidate, ...]

    @property
    def top(self) -> str | None:
        return self.candidates[0].intent if self.candidates else None

    @property
    def answered_right(self) -> bool:
        return self.decision.kind == "answer" and self.decision.intent == self.case.gold

    @property
    def decided_right(self) -> bool:
        """What the merchant sees is right: the right answer, or a question with the right intent
        first; a refusal for a red line; fallback, a redirect or small talk for out of scope."""
        decision, gold = self.decision, self.case.gold
        if gold == REFUSE:
            return decision.kind == "refuse"
        if gold is None:
            return self.handled_out_of_scope
        if decision.kind == "answer":
            return decision.intent == gold
        return decision.kind == "clarify" and bool(decision.choices) and decision.choices[0].intent == gold

    @property
    def handled_out_of_scope(self) -> bool:
        if self.decision.kind == "fallback":
            return True
        return self.decision.kind == "answer" and self._answered_kind in HANDLED_KINDS

    @property
    def _answered_kind(self) -> str:
        chosen = next((c for c in self.candidates if c.intent == self.decision.intent), None)
        return chosen.kind if chosen is not None else ""

    @property
    def number_read_as_code(self) -> bool:
        """A question whose gold is not a code, answered as a code found in its text."""
        return (self.decision.kind == "answer" and self.case.gold_kind != "code"
                and any(c.via == "code" and c.intent == self.decision.intent for c in self.candidates))


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def in_scope(self) -> list[Outcome]:
        """Questions with an intent to find (red lines, which only need refusing, aside)."""
        return [o for o in self.outcomes if o.case.gold is not None and o.case.gold != REFUSE]

    @property
    def out_of_scope(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.case.gold is None]

    @property
    def top1(self) -> float:
        return _ratio(sum(o.top == o.case.gold for o in self.in_scope), len(self.in_scope))

    @property
    def top3(self) -> float:
        return _ratio(sum(o.case.gold in [c.intent for c in o.candidates[:3]] for o in self.in_scope),
                      len(self.in_scope))

    @property
    def answer_precision(self) -> float:
        """Answers that were right, over every answer given: a problem or redirect answer must be the
        gold; an out-of-scope question answered with small talk or a redirect is not wrong."""
        answered = [o for o in self.outcomes if o.decision.kind == "answer"]

        def right(o: Outcome) -> bool:
            return o.answered_right or (o.case.gold is None and o._answered_kind in HANDLED_KINDS)
        return _ratio(sum(right(o) for o in answered), len(answered))

    @property
    def answer_rate(self) -> float:
        return _ratio(sum(o.decision.kind == "answer" for o in self.in_scope), len(self.in_scope))

    @property
    def resolved_rate(self) -> float:
        """In-scope questions answered right, or clarified with the right intent among the choices."""
        def ok(o: Outcome) -> bool:
            if o.decision.kind == "answer":
                return o.answered_right
            return o.decision.kind == "clarify" and o.case.gold in [c.intent for c in o.decision.choices]
        return _ratio(sum(ok(o) for o in self.in_scope), len(self.in_scope))

    @property
    def fallback_precision(self) -> float:
        fallbacks = [o for o in self.outcomes if o.decision.kind == "fallback"]
        return _ratio(sum(o.case.gold is None for o in fallbacks), len(fallbacks))

    @property
    def fallback_recall(self) -> float:
        """Out-of-scope questions handled: fallback, or small talk / a redirect (not a problem answer)."""
        return _ratio(sum(o.handled_out_of_scope for o in self.out_of_scope), len(self.out_of_scope))

    @property
    def decided_top1(self) -> float:
        """The share of all questions whose outcome is right (Outcome.decided_right)."""
        return _ratio(sum(o.decided_right for o in self.outcomes), len(self.outcomes))

    def by_category(self) -> dict[str, "Report"]:
        groups: dict[str, Report] = {}
        for outcome in self.outcomes:
            groups.setdefault(outcome.case.category or "-", Report()).outcomes.append(outcome)
        return groups

    @property
    def problems(self) -> list[Outcome]:
        """Questions about a terminal problem (gold a code or symptom intent)."""
        return [o for o in self.outcomes if o.case.gold_kind in ("code", "symptom")]

    @property
    def fell_back_with_right_in_top3(self) -> float:
        """Problem questions posbot gave up on although the right intent was among its first three."""
        problems = self.problems
        return _ratio(sum(o.decision.kind == "fallback" and o.case.gold in [c.intent for c in o.candidates[:3]]
                          for o in problems), len(problems))

    @property
    def outside_handled(self) -> float:
        """Out of scope, small talk and someone else's job: fallback, a redirect or small talk."""
        outside = [o for o in self.outcomes if o.case.gold is None or o.case.gold_kind in HANDLED_KINDS]
        return _ratio(sum(o.handled_out_of_scope for o in outside), len(outside))

    @property
    def refused_rate(self) -> float:
        redlines = [o for o in self.outcomes if o.case.gold == REFUSE]
        return _ratio(sum(o.decision.kind == "refuse" for o in redlines), len(redlines))

    @property
    def smalltalk_rate(self) -> float:
        talk = [o for o in self.outcomes if o.case.gold_kind == "smalltalk"]
        return _ratio(sum(o.answered_right for o in talk), len(talk))

    @property
    def numbers_read_as_codes(self) -> int:
        return sum(o.number_read_as_code for o in self.outcomes)

    def misses(self) -> list[Outcome]:
        """In-scope questions whose top candidate is wrong, and out-of-scope ones not sent to fallback."""
        return [o for o in self.outcomes
                if (o.case.gold is not None and o.top != o.case.gold)
                or (o.case.gold is None and not o.handled_out_of_scope)]

    def confused_pairs(self, limit: int = 10) -> list[tuple[tuple[str, str], int]]:
        pairs = Counter((o.case.label, o.top or NONE) for o in self.misses() if o.case.gold is not None)
        return pairs.most_common(limit)

    def summary(self) -> dict[str, float | int]:
        return {
            "questions": len(self.outcomes),
            "in_scope": len(self.in_scope),
            "out_of_scope": len(self.out_of_scope),
            "top1": round(self.top1, 4),
            "top3": round(self.top3, 4),
            "answer_rate": round(self.answer_rate, 4),
            "answer_precision": round(self.answer_precision, 4),
            "resolved_rate": round(self.resolved_rate, 4),
            "fallback_precision": round(self.fallback_precision, 4),
            "fallback_recall": round(self.fallback_recall, 4),
        }


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def load_cases(path: Path | str, content: Content, *, skip_unknown: bool = False) -> list[Case]:
    """Read a YAML list of {q, gold[, cat]}; gold is an intent id, a response code, refuse or none."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ContentError([Problem(str(path), None, "", f"读不了评测文件：{error}")]) from error
    if not isinstance(data, list):
        raise ContentError([Problem(str(path), None, "", "评测文件要写成列表，每项是 {q: 问题, gold: 正确意图}")])
    cases: list[Case] = []
    problems: list[Problem] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str) or "gold" not in item:
            problems.append(Problem(str(path), None, f"[{index}]", "每一项都要有 q（问题文字）和 gold（正确意图）"))
            continue
        label = str(item["gold"])
        gold = resolve_gold(label, content)
        if gold == "":
            if not skip_unknown:
                problems.append(Problem(str(path), None, f"[{index}].gold", f"没有叫 {label!r} 的意图或应答码"))
            continue
        cases.append(Case(item["q"], gold, label, str(item.get("cat", "")), _kind_of(gold, content)))
    if problems:
        raise ContentError(problems)
    return cases


def _kind_of(gold: str | None, content: Content) -> str:
    if gold is None:
        return NONE
    if gold == REFUSE:
        return REFUSE
    return content.by_id[gold].kind


def resolve_gold(label: str, content: Content) -> str | None:
    """Intent id for a gold label; None for out-of-scope; "" when it names nothing we know."""
    if label.lower() == NONE:
        return None
    if label.lower() == REFUSE:
        return REFUSE
    if label in content.by_id:
        return label
    if looks_like_code(label.upper()) and label.upper() in content.by_code:
        return code_intent_id(label.upper())
    return ""


Understand = Callable[[str], tuple[Decision, Sequence[Candidate]]]


def evaluate(cases: Iterable[Case], understand: Understand) -> Report:
    report = Report()
    for case in cases:
        decision, candidates = understand(case.question)
        report.outcomes.append(Outcome(case, decision, tuple(candidates)))
    return report
