"""Who speaks as staff in the support group: what they write reaches merchants, and only they may
use the ticket commands.

With SUPPORT_STAFF_IDS set, exactly those users. Without it, the group's administrators, as
Telegram's getChatAdministrators lists them, asked again at most once a minute. Bots, and posts on
behalf of a chat (a channel, or an administrator posting anonymously as the group), are never staff:
nobody can tell who wrote them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import BaseFilter
from aiogram.types import Message, User

log = logging.getLogger(__name__)

ADMINS_FOR = 60.0
"""Seconds the list of administrators is trusted: a new administrator is staff, and one removed no
longer is, within a minute, at the cost of one getChatAdministrators call a minute per worker."""


ASK_AGAIN_AFTER_FAILURE = 10.0
"""Seconds before asking again when Telegram could not list them (the last list serves meanwhile)."""


class Staff:
    def __init__(self, support_chat_id: int, *, ids: frozenset[int] | None = None, keep_for: float = ADMINS_FOR,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.support_chat_id = support_chat_id
        self.ids = ids or None
        """SUPPORT_STAFF_IDS; None: the group's administrators."""
        self.keep_for = keep_for
        self._clock = clock
        self._admins: frozenset[int] | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def is_staff(self, bot: Bot, message: Message) -> bool:
        """Whether this message in the support group comes from a person on staff."""
        if message.sender_chat is not None:
            return False
        return await self.is_staff_user(bot, message.from_user)

    async def is_staff_user(self, bot: Bot, user: User | None) -> bool:
        """Whether this person is on staff (a tapped button in the support group has no message of theirs)."""
        if user is None or user.is_bot:
            return False
        if self.ids is not None:
            return user.id in self.ids
        return user.id in await self._administrators(bot)

    async def _administrators(self, bot: Bot) -> frozenset[int]:
        async with self._lock:
            if self._admins is None or self._clock() - self._fetched_at >= self.keep_for:
                try:
                    members = await bot.get_chat_administrators(self.support_chat_id)
                except TelegramAPIError as error:  # keep the last list a little longer; none yet: nobody
                    log.warning("could not list the support group's administrators: %s", error.message)
                    if self._admins is None:
                        return frozenset()
                    self._fetched_at = self._clock() - self.keep_for + ASK_AGAIN_AFTER_FAILURE
                    return self._admins
                self._admins = frozenset(m.user.id for m in members if not m.user.is_bot)
                self._fetched_at = self._clock()
            return self._admins


class IsStaff(BaseFilter):
    """Support-group messages from staff (`staff` from the dispatcher data)."""

    async def __call__(self, message: Message, bot: Bot, staff: Staff | None = None, **_: Any) -> bool:
        return staff is not None and await staff.is_staff(bot, message)
