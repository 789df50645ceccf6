"""When a merchant wants a human, and which turns count towards offering one.

Front ends decide *how* a human is reached (a support group's case in Telegram, a phone number in the
console); these rules decide *when*, the same for every front end.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.core.normalise import fold

if TYPE_CHECKING:
    from bot.core.dialog import Turn

HUMAN_WORDS = re.compile(r"转人工|找人工|人工客服|人工服务|要人工|真人|投诉")
SHORT_HUMAN = re.compile(r"人工|客服")
SHORT = 8
"""A message this short that says 人工/客服 is a request for a human, not a question about one."""
FALLBACKS_BEFORE_HANDOFF = 2
"""Misunderstandings in a row (DialogState.fallbacks) after which a support group's handoff is offered."""
CONFIDENT_KINDS = frozenset({"answer", "redirect", "refusal"})
"""Replies that answer what the merchant asked; small talk and clarifications do not."""


def wants_human(text: str) -> bool:
    folded = fold(text).replace(" ", "")
    return bool(HUMAN_WORDS.search(folded) or (len(folded) <= SHORT and SHORT_HUMAN.search(folded)))


def is_noise(text: str) -> bool:
    """Empty, whitespace, emoji or punctuation only: nothing a merchant asked, so never a
    misunderstanding (the auto-handoff does not count it)."""
    return not any(ch.isalnum() for ch in text)


def understood(turn: Turn) -> bool:
    """A turn that answered a question confidently: it goes to the merchant even while a handoff
    offer waits for its line of detail (the offer stays open)."""
    decision = turn.understanding.decision if turn.understanding is not None else None
    return decision is not None and decision.kind in ("answer", "refuse") and turn.reply.kind in CONFIDENT_KINDS


def offers_handoff(turn: Turn) -> bool:
    """Enough misunderstandings in a row to offer a human."""
    return turn.state.fallbacks >= FALLBACKS_BEFORE_HANDOFF
