"""Turn ranked candidates into what the bot does: answer, ask which one, or admit it does not know."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from bot.core.match import Candidate

# The three thresholds come from `python benchmarks/accuracy.py --sweep` on tests/eval/questions.yaml:
# of the settings that keep answer precision >= 0.99 (a wrong explanation costs a merchant money)
# and send >= 90% of out-of-scope questions to fallback, this one resolves the most questions
# (answered right, or the right intent offered), then answers the most outright. The held-out set
# tests/eval/holdout.yaml checks the choice generalises; both are in the README.
ANSWER_AT = 0.60
"""Top score from which the bot answers outright (if the margin rule also holds)."""
MARGIN = 0.10
"""How far the top candidate must lead the runner-up to answer without asking."""
CLARIFY_AT = 0.55
"""Below this the question is treated as not understood (fallback)."""
CLARIFY_CHOICES = 3

DecisionKind = Literal["answer", "clarify", "fallback"]


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    intent: str | None = None
    """The answered intent (answer only)."""
    choices: tuple[Candidate, ...] = ()
    """What to offer (clarify only), best first."""
    refused: bool = False
    """A fallback because the question crosses a red line, not because it was not understood."""


def decide(candidates: Sequence[Candidate], *, answer_at: float = ANSWER_AT, margin: float = MARGIN,
           clarify_at: float = CLARIFY_AT) -> Decision:
    """Answer when sure, clarify when close, fall back when nothing fits.

    A response code found in the question is certain (score 1.0, via "code"); two different codes
    in one question are asked about rather than guessed.
    """
    if not candidates:
        return Decision("fallback")
    top = candidates[0]
    codes = [c for c in candidates if c.via == "code"]
    if len(codes) > 1:
        return Decision("clarify", choices=tuple(codes[:CLARIFY_CHOICES]))
    if top.via == "code":
        return Decision("answer", intent=top.intent)
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    if top.score >= answer_at and top.score - runner_up >= margin:
        return Decision("answer", intent=top.intent)
    if top.score >= clarify_at:
        choices = tuple(c for c in candidates[:CLARIFY_CHOICES] if c.score >= clarify_at)
        return Decision("clarify", choices=choices)
    return Decision("fallback")
