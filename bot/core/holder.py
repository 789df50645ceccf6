"""What handlers receive through Dispatcher data, by parameter name."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.dialog import Dialog


@dataclass
class DialogHolder:
    """The dialog over the current content; replaced as a whole when content is reloaded, so a
    handler that already holds the old one finishes with it consistently."""

    dialog: Dialog
