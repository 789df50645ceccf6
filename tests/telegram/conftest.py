"""A running bot: the real Dispatcher polling the fake Bot API server over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import AsyncIterator

import pytest

from bot.core.dialog import Dialog
from bot.core.engine import Engine
from bot.telegram.app import Stores, create_bot, create_dispatcher, poll
from bot.settings.run import Settings
from tests.telegram.fake_api import TOKEN, Call, FakeBotAPI

ADMIN = 42
SUPPORT = -100777
"""The support group (a forum) of `support_bot`."""
STAFF = 8101
"""An administrator of SUPPORT, so staff (no SUPPORT_STAFF_IDS in these tests)."""


RELAY_LABEL = re.compile(r"^(<b>[^<\n]* · #\d+</b>(\n|$)|客服[^：\n]{1,12}：)")
"""How a relayed text begins: `<b>张三 · #12</b>` in the group, `客服小王：` to a merchant."""


def relays(api: FakeBotAPI, chat_id: int) -> list[Call]:
    """What the bot relayed into `chat_id`, oldest first: labelled texts (sendMessage) and copies
    (photos and files, copyMessage)."""
    return [c for c in api.calls if int(c.params.get("chat_id") or 0) == chat_id
            and (c.method == "copyMessage" or (c.method == "sendMessage" and RELAY_LABEL.match(c.params["text"])))]


class RunningBot:
    """Start, stop and start again (a restart) over the same data directory."""

    def __init__(self, api: FakeBotAPI, data_dir: Path, engine: Engine, **settings: object) -> None:
        self.api = api
        self.engine = engine
        self.settings = Settings(bot_token=TOKEN, telegram_api_base=api.base, data_dir=data_dir, admin_ids=(ADMIN,),
                                 request_timeout=2.0, _env_file=None, **settings)  # type: ignore[arg-type]
        self._task: asyncio.Task | None = None
        self.dispatcher_hooks: list = []
        """Called with (dispatcher, settings) before polling starts, e.g. watch_content."""

    async def start(self) -> None:
        self.stores = await Stores.open(self.settings)
        self.bot = create_bot(self.settings, self.stores)
        self.dispatcher = create_dispatcher(self.settings, self.stores, Dialog(self.engine))
        for hook in self.dispatcher_hooks:
            hook(self.dispatcher, self.settings)
        started = len(self.api.of("setMyCommands"))
        self._task = asyncio.create_task(poll(self.dispatcher, self.bot, self.settings, handle_signals=False,
                                              polling_timeout=1))
        await self.api.wait_for(lambda: len(self.api.of("setMyCommands")) > started)

    async def stop(self) -> None:
        if self._task is not None:
            await self.dispatcher.stop_polling()
            await asyncio.wait_for(self._task, timeout=10)
            self._task = None
            # handlers still in flight when polling stopped may reopen the bot's HTTP session:
            # let them finish, then close it for good before the stores go away
            pending = set(self.dispatcher._handle_update_tasks)  # aiogram keeps them; no public accessor
            if pending:
                await asyncio.wait(pending, timeout=5)
            await self.bot.session.close()
            await self.stores.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    server = FakeBotAPI()
    server.admins[SUPPORT] = {STAFF}
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def running(api: FakeBotAPI, tmp_path: Path, engine: Engine) -> AsyncIterator[RunningBot]:
    bot = RunningBot(api, tmp_path / "data", engine)
    await bot.start()
    yield bot
    await bot.stop()


@pytest.fixture
async def support_bot(api: FakeBotAPI, tmp_path: Path, engine: Engine) -> AsyncIterator[RunningBot]:
    """A running bot with human support in a forum group (SUPPORT)."""
    api.forums.add(SUPPORT)
    bot = RunningBot(api, tmp_path / "data", engine, support_chat_id=SUPPORT)
    await bot.start()
    yield bot
    await bot.stop()
