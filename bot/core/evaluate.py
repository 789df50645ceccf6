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


@dataclass(frozen=True)
class Case:
    question: str
    gold: str | None
    """Intent id, or None for out-of-scope questions."""
    label: str
    """The gold as written in the file (a code, an intent id or "none")."""


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


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def in_scope(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.case.gold is not None]

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
        answered = [o for o in self.outcomes if o.decision.kind == "answer"]
        return _ratio(sum(o.answered_right for o in answered), len(answered))

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
        return _ratio(sum(o.decision.kind == "fallback" for o in self.out_of_scope), len(self.out_of_scope))

    def misses(self) -> list[Outcome]:
        """In-scope questions whose top candidate is wrong, and out-of-scope ones not sent to fallback."""
        return [o for o in self.outcomes
                if (o.case.gold is not None and o.top != o.case.gold)
                or (o.case.gold is None and o.decision.kind != "fallback")]

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


def load_cases(path: Path | str, content: Content) -> list[Case]:
    """Read a YAML list of {q, gold}; gold is an intent id, a response code, or none."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ContentError([Problem(str(path), None, "", f"cannot read evaluation file: {error}")]) from error
    if not isinstance(data, list):
        raise ContentError([Problem(str(path), None, "", "expected a YAML list of {q, gold}")])
    cases: list[Case] = []
    problems: list[Problem] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str) or "gold" not in item:
            problems.append(Problem(str(path), None, f"[{index}]", "each entry needs q (text) and gold"))
            continue
        label = str(item["gold"])
        gold = resolve_gold(label, content)
        if gold == "":
            problems.append(Problem(str(path), None, f"[{index}].gold", f"unknown intent or code {label!r}"))
            continue
        cases.append(Case(item["q"], gold, label))
    if problems:
        raise ContentError(problems)
    return cases


def resolve_gold(label: str, content: Content) -> str | None:
    """Intent id for a gold label; None for out-of-scope; "" when it names nothing we know."""
    if label.lower() == NONE:
        return None
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
