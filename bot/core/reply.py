"""What the core says back, independent of any front end (console, Telegram)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ReplyKind = Literal["welcome", "answer", "clarify", "fallback", "human", "expired", "info", "step", "script",
                    "feedback", "smalltalk", "redirect", "refusal", "followup", "details"]
"""`details` is an answer's 详细说明: a message of its own, below the answer, which stays as it was."""


@dataclass(frozen=True)
class Option:
    """A choice the merchant can tap (Telegram) or type the number of (console).

    `action` is a short ASCII id string (Telegram callback data is capped at 64 bytes), never text.
    """

    label: str
    action: str


@dataclass(frozen=True)
class Reply:
    """Plain text; renderers add markup and escaping. `title` is shown emphasised when present."""

    kind: ReplyKind
    text: str
    title: str = ""
    options: tuple[Option, ...] = ()
    intent: str | None = None
    preface: str = ""
    """A plain line shown above the title: what posbot read off a photo ("识别到：…")."""
