"""Small things that used to end in a traceback or grow forever: forged rating buttons, the per-chat
lock table."""

from __future__ import annotations

import asyncio

import pytest

from bot.telegram.fsm import ChatLocks
from tests.telegram.conftest import RunningBot
from tests.telegram.fake_api import FakeBotAPI

MERCHANT = 7801


@pytest.mark.parametrize("data", ["rate:", "rate:1", "rate:1:1:1", "rate:x:1", "rate:1:2", "rate::"])
async def test_a_malformed_rating_button_is_an_expired_button(support_bot: RunningBot, api: FakeBotAPI,
                                                              caplog: pytest.LogCaptureFixture, data: str) -> None:
    api.text(MERCHANT, "/start")
    await api.replies(MERCHANT, 1)
    message = max(m for c, m in api.sent if c == MERCHANT)
    api.tap(MERCHANT, MERCHANT, message, data)
    [answer] = await api.wait_for(lambda: api.of("answerCallbackQuery"))
    assert answer.params.get("text") == "这个按钮已过期"
    await asyncio.sleep(0.1)
    assert "failed" not in caplog.text and len(api.of("sendMessage", MERCHANT)) == 1  # no "出了点问题"


async def test_the_per_chat_lock_table_forgets_chats_with_nothing_in_hand(running: RunningBot,
                                                                          api: FakeBotAPI) -> None:
    """aiogram's own kept ~545 bytes per merchant forever."""
    merchants = range(20_000, 20_300)
    for merchant in merchants:
        api.text(merchant, "显示51")
    await api.wait_for(lambda: len(api.of("sendMessage")) >= len(merchants), timeout=30)
    await asyncio.sleep(0.2)  # the last handlers leave their locks
    isolation = running.dispatcher.fsm.events_isolation
    assert isinstance(isolation, ChatLocks)  # really the one aiogram uses (an empty one is still truthy)
    assert len(isolation._locks) == 0  # aiogram's SimpleEventIsolation keeps its table there too


async def test_chat_locks_still_keep_one_chat_s_updates_in_order() -> None:
    locks = ChatLocks()
    order: list[str] = []

    async def update(key: str, name: str, hold: float) -> None:
        async with locks.lock(key):  # type: ignore[arg-type]
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    await asyncio.gather(update("a", "a1", 0.05), update("a", "a2", 0), update("b", "b1", 0))
    assert order.index("a1 out") < order.index("a2 in")  # same chat: one after the other
    assert order.index("b1 in") < order.index("a1 out")  # another chat: not held up
    assert locks.chats == 0



async def test_closing_the_chat_locks_mid_update_lets_the_update_finish() -> None:
    """A shutdown closes the isolation while updates are in hand: each used to end on a KeyError when it let go."""
    locks = ChatLocks()
    entered = asyncio.Event()

    async def update() -> str:
        async with locks.lock("a"):  # type: ignore[arg-type]
            entered.set()
            await asyncio.sleep(0.02)
        return "done"

    running = asyncio.create_task(update())
    await entered.wait()
    await locks.close()
    assert await running == "done"
    assert locks.chats == 0
