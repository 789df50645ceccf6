"""The understanding pipeline in one call: content -> matcher -> decision."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bot.core.decide import Decision, decide, second_opinion
from bot.core.contentcache import cached_content
from bot.core.loader import Content
from bot.core.match import Analysis, Matcher


@dataclass(frozen=True)
class Understanding:
    analysis: Analysis
    decision: Decision

    def as_json(self) -> dict[str, object]:
        """The shape `posbot match --json` prints (documented in the README)."""
        top = self.analysis.candidates[0] if self.analysis.candidates else None
        answered = self.decision.kind == "answer"
        chosen = next((c for c in self.analysis.candidates if c.intent == self.decision.intent), None)
        return {
            "query": self.analysis.query,
            "decision": self.decision.kind,
            "intent": self.decision.intent if answered else None,
            "code": chosen.code if answered and chosen else None,
            "score": round(top.score, 4) if top else 0.0,
            "candidates": [{"intent": c.intent, "code": c.code, "score": round(c.score, 4)}
                           for c in self.analysis.candidates],
        }


class Engine:
    """Holds one content version and its matcher; build a new Engine to change content."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self.matcher = Matcher(content)

    @classmethod
    def load(cls, root: Path | str | None = None) -> "Engine":
        """The content under `root` (validated, or as validated at an earlier start of the same files and
        code: bot/core/contentcache.py) and its matcher."""
        return cls(cached_content(root))

    @property
    def version(self) -> str:
        return self.content.version

    def understand(self, text: str) -> Understanding:
        analysis = self.matcher.analyse(text)
        if analysis.refused:
            redline = next((c.intent for c in analysis.candidates if c.kind == "redline"), None)
            return Understanding(analysis, Decision("refuse", intent=redline))
        decision = decide(analysis.candidates, specific=analysis.specific)
        return Understanding(analysis, second_opinion(decision, partial(self.matcher.redline_verdict, analysis),
                                                      analysis.normalised, analysis.candidates, analysis.query))
