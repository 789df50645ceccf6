"""Everything posbot keeps about one chat between turns, as one value read and written once a turn."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from bot.core.cards import mask_card_numbers
from bot.core.dialog import DialogState

DIALOG, PENDING, LOOK, CASE = "dialog", "handoff", "look", "case"
"""Keys of the stored form; `dialog` and `handoff` are the keys older releases kept in FSM data, so
conversations saved by them load unchanged."""


@dataclass(frozen=True)
class Pending:
    """A handoff offered and waiting for the merchant's optional line of detail."""

    trigger: str
    media: tuple[Any, ...] | None = None
    """(chat, message, kind, masked caption) of a photo or file that goes along with the case."""
    offer: int | None = None
    """The message the offer was shown in (its buttons go once the case is open)."""


@dataclass(frozen=True)
class Look:
    """Which of the chat's messages are what, so a turn knows what to edit and what to leave alone."""

    flow: int | None = None
    """The message a flow runs in, edited in place step by step."""
    answer: int | None = None
    """The last answer or script: never overwritten, the merchant reads it at the counter."""
    live: int | None = None
    """The one message whose buttons are current; any older keyboard was removed."""


@dataclass(frozen=True)
class ChatState:
    dialog: DialogState = field(default_factory=DialogState)
    pending: Pending | None = None
    look: Look = field(default_factory=Look)
    case: int | None = None
    """The merchant's latest ticket, open or closed (a closed one can be reopened by staff)."""
    cases_known: bool = False
    """`case` is known: False for a state saved before it was kept, so the ticket store is asked once."""

    def to_dict(self) -> dict[str, Any]:
        pending = None
        if self.pending is not None:
            pending = {"trigger": self.pending.trigger,
                       "media": list(self.pending.media) if self.pending.media is not None else None,
                       "offer": self.pending.offer}
        look = {k: v for k, v in (("flow", self.look.flow), ("answer", self.look.answer), ("live", self.look.live))
                if v is not None}
        return {DIALOG: self.dialog.to_dict(), PENDING: pending, LOOK: look,
                CASE: {"id": self.case} if self.cases_known else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "ChatState":
        """Tolerant of missing and unknown keys (older releases kept only `dialog` and `handoff`)."""
        data = data or {}
        raw = data.get(PENDING)
        pending = None
        if isinstance(raw, Mapping) and raw.get("trigger"):
            media = raw.get("media")
            if media:  # [chat, message] from before captions were kept
                chat, message, kind, caption = (list(media) + ["media", ""])[:4]
                media = (int(chat), int(message), str(kind), mask_card_numbers(str(caption)))
            offer = raw.get("offer")
            pending = Pending(str(raw["trigger"]), tuple(media) if media else None,
                              int(offer) if offer is not None else None)
        look = data.get(LOOK) or {}
        case = data.get(CASE)
        return cls(dialog=DialogState.from_dict(data.get(DIALOG)), pending=pending,
                   look=Look(**{k: int(look[k]) for k in ("flow", "answer", "live") if look.get(k) is not None}),
                   case=int(case["id"]) if isinstance(case, Mapping) and case.get("id") is not None else None,
                   cases_known=isinstance(case, Mapping))
