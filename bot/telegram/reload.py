"""Swapping in new content while the bot runs: validate fully, then replace atomically.

Invalid content never replaces valid content: the old one keeps answering and the admin gets the
problems with file:line. Conversations continue: a flow step that still exists carries on, one that
disappeared restarts politely (the dialog engine compares content versions).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from bot.core.dialog import Dialog
from bot.core.engine import Engine
from bot.core.errors import ContentError
from bot.core.loader import load_content
from bot.telegram.deps import DialogHolder

log = logging.getLogger(__name__)

WATCHED = ("intents", "knowledge")


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    version: str
    changed: bool = False
    problems: tuple[str, ...] = ()


class Reloader:
    def __init__(self, holder: DialogHolder) -> None:
        self.holder = holder
        self._lock = asyncio.Lock()

    @property
    def root(self) -> Path:
        return self.holder.dialog.content.root

    async def reload(self) -> ReloadResult:
        """Load and validate everything off the event loop; swap only if it all loads."""
        async with self._lock:
            current = self.holder.dialog.engine.version
            try:
                engine = await asyncio.to_thread(lambda: Engine(load_content(self.root)))
            except ContentError as error:
                log.warning("reload refused: %d problem(s) in the content", len(error.problems))
                return ReloadResult(False, current, problems=tuple(str(p) for p in error.problems))
            if engine.version == current:
                return ReloadResult(True, current)
            self.holder.dialog = Dialog(engine)
            log.info("content reloaded: %s -> %s", current, engine.version)
            return ReloadResult(True, engine.version, changed=True)

    async def watch(self, on_result: Callable[[ReloadResult], Awaitable[None]]) -> None:
        """Reload whenever a file under intents/ or knowledge/ changes (posbot run --watch).
        watchfiles debounces bursts of writes, so a file saved in several steps is read once."""
        from watchfiles import awatch

        paths = [self.root / name for name in WATCHED if (self.root / name).is_dir()]
        async for _changes in awatch(*paths):
            await on_result(await self.reload())
