"""Another process holding SQLite's write lock: the merchant whose update needs a write waits for it,
the event loop and everyone else carry on."""

from __future__ import annotations

import asyncio
import sys
import time

from tests.telegram.conftest import RunningBot
from tests.telegram.fake_api import FakeBotAPI

WRITER, READER = 7601, 7602
HOLD = 3.0
"""Seconds the other process keeps the write lock, as in the red team's report."""

HOLD_LOCK = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


class LoopLag:
    """A 10 ms tick: how late the event loop ran it at worst."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - before - 0.01)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def test_a_locked_database_file_makes_one_merchant_wait_not_all(running: RunningBot, api: FakeBotAPI) -> None:
    api.text(WRITER, "显示51")  # the tables exist and the merchant has a conversation
    await api.replies(WRITER, 1)

    holder = await asyncio.create_subprocess_exec(sys.executable, "-c", HOLD_LOCK, str(running.settings.sqlite_path),
                                                  str(HOLD), stdout=asyncio.subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"locked"
        locked_at = time.perf_counter()
        with LoopLag() as lag:
            api.text(WRITER, "显示55")  # saving the conversation needs the write lock
            api.text(READER, "/help")  # reads only
            await api.replies(READER, 1, timeout=HOLD)
            helped_after = time.perf_counter() - locked_at
            answers = await api.replies(WRITER, 2, timeout=HOLD + 5)
            answered_after = time.perf_counter() - locked_at
    finally:
        await holder.wait()

    assert "应答码 55" in answers[-1].params["text"]  # waited for the lock, then answered (not "busy")
    assert answered_after >= HOLD - 0.5
    assert helped_after < 1.0, f"a merchant who needed no write waited {helped_after:.2f} s"
    assert lag.worst < 0.25, f"the event loop stalled {lag.worst:.2f} s"
