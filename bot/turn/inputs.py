"""What a front end hands the turn service: what happened, and where."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bot.core.reply import Reply
from bot.core.screen import ScreenLine


@dataclass(frozen=True)
class Where:
    """Who and where. The ids are the front end's own (Telegram's chat, user and message ids; the
    console uses fixed ones)."""

    chat: int
    user: int
    private: bool = True
    message: int | None = None
    """The message the turn is about: the one whose button was tapped (for a tap)."""


@dataclass(frozen=True)
class Text:
    text: str
    edited: bool = False


@dataclass(frozen=True)
class Screen:
    """Lines read off a photo of the screen or slip (OCR), with what the merchant wrote under it."""

    lines: Sequence[ScreenLine]
    caption: str = ""
    media: tuple[int, int, str, str] | None = None
    """The photo, to go along with a handoff: (chat, message, kind, masked caption)."""
    refused: Reply | None = None
    """The picture could not be read (too large, corrupt, not received …): this says so, unless a
    handoff offer is waiting, which the photo then goes along with."""


@dataclass(frozen=True)
class Tap:
    data: str
    """The button's callback data (bot.core.actions encoding)."""


@dataclass(frozen=True)
class Start:
    """/start: the menu, and a fresh conversation."""


@dataclass(frozen=True)
class Cancel:
    """/cancel: leave the current flow."""


@dataclass(frozen=True)
class Unreadable:
    """Media posbot cannot read: a voice note, a video, a document, a photo without OCR, a location …"""

    kind: str
    media: tuple[int, int, str, str] | None = None


@dataclass(frozen=True)
class Sticker:
    """A sticker: nothing asked, so never a misunderstanding."""


@dataclass(frozen=True)
class Human:
    """/human, or the link from a group's 请私聊我转人工: offer the handoff."""


Input = Human | Text | Screen | Tap | Start | Cancel | Unreadable | Sticker
