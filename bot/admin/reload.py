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

from bot.admin.changes import Changes, compare
from bot.core.dialog import Dialog
from bot.core.engine import Engine
from bot.core.errors import ContentError
from bot.core.loader import load_content
from bot.coordination import LocalShared, Shared
from bot.core.holder import DialogHolder

log = logging.getLogger(__name__)

WATCHED = ("intents", "knowledge")


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    version: str
    changed: bool = False
    problems: tuple[str, ...] = ()
    changes: Changes = Changes()
    """What the new content added, removed or changed, by name (empty when nothing changed)."""


class Reloader:
    def __init__(self, holder: DialogHolder, shared: Shared | None = None) -> None:
        self.holder = holder
        self.shared = shared or LocalShared()
        """Where other workers hear about a reload (bot.coordination)."""
        self._lock = asyncio.Lock()

    @property
    def root(self) -> Path:
        return self.holder.dialog.content.root

    async def reload(self) -> ReloadResult:
        """Load and validate everything off the event loop; swap only if it all loads, then tell
        the other workers (which read the same intents/ and knowledge/) to do the same."""
        result = await self._reload()
        if result.changed:
            await self.shared.announce_content(result.version)
        return result

    async def follow(self) -> None:
        """Reload whenever another worker announces content this one does not run yet. A version
        this worker cannot load from its own files is tried once, not at every announcement."""
        unreachable: set[str] = set()

        async def on_version(version: str) -> None:
            if version == self.holder.dialog.engine.version or version in unreachable:
                return
            result = await self._reload()
            if result.version != version:
                unreachable.add(version)
                log.warning("another worker runs content %s but this one loaded %s: is the content directory "
                            "shared by all workers?", version, result.version)

        await self.shared.watch_content(on_version)

    async def _reload(self) -> ReloadResult:
        async with self._lock:
            current = self.holder.dialog.engine.version
            try:
                engine = await asyncio.to_thread(lambda: Engine(load_content(self.root)))
            except ContentError as error:
                log.warning("reload refused: %d problem(s) in the content", len(error.problems))
                return ReloadResult(False, current, problems=tuple(str(p) for p in error.problems))
            if engine.version == current:
                return ReloadResult(True, current)
            old = self.holder.dialog.content
            self.holder.dialog = Dialog(engine)
            log.info("content reloaded: %s -> %s", current, engine.version)
            return ReloadResult(True, engine.version, changed=True, changes=compare(old, engine.content))

    async def watch(self, on_result: Callable[[ReloadResult], Awaitable[None]]) -> None:
        """Reload whenever a file under intents/ or knowledge/ changes (posbot run --watch).
        watchfiles debounces bursts of writes, so a file saved in several steps is read once."""
        from watchfiles import awatch

        paths = [self.root / name for name in WATCHED if (self.root / name).is_dir()]
        async for _changes in awatch(*paths):
            await on_result(await self.reload())
