"""What the turn service asks a front end to do; the front end carries these out in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.core.reply import Reply
from bot.handoff.models import CaseContext
from bot.turn.cases import CaseView

Role = Literal["answer", "flow", "menu", "offer"]
"""What a message is to the conversation: an answer or script (kept, never overwritten), the flow's
message (edited in place step by step), a menu / note (replaced when one of its buttons is tapped), or
the handoff offer (its buttons go once the case is open)."""


@dataclass(frozen=True)
class Send:
    """Send `reply` as a new message."""

    reply: Reply
    role: Role = "menu"


@dataclass(frozen=True)
class Edit:
    """Replace the text and buttons of message `message` (the flow message, or a tapped menu)."""

    message: int
    reply: Reply
    role: Role = "menu"


@dataclass(frozen=True)
class RemoveKeyboard:
    """A message superseded by a newer one: take its buttons away so they do not look live."""

    message: int


@dataclass(frozen=True)
class OfferHandoff:
    """Offer a human (support group only): `reply` is the offer, sent anew or over `edit`."""

    reply: Reply
    edit: int | None = None


@dataclass(frozen=True)
class OpenCase:
    """Open (or continue) the merchant's case with what posbot knows, then confirm it to them."""

    context: CaseContext
    """Why, what posbot understood, what was tried, the merchant's line of detail (masked)."""
    media: tuple[Any, ...] | None = None
    """A photo or file that goes along: (chat, message, kind, masked caption)."""


@dataclass(frozen=True)
class Relay:
    """Copy the merchant's message (the one the turn is about) into their case's topic."""

    case: CaseView


@dataclass(frozen=True)
class NoteToCase:
    """A line for staff in the case's topic: what posbot answered meanwhile."""

    case: CaseView
    text: str


@dataclass(frozen=True)
class AskPrivately:
    """In a group: a case opens only in the private chat; say so with a link to it."""


Effect = Send | Edit | RemoveKeyboard | OfferHandoff | OpenCase | Relay | NoteToCase | AskPrivately
