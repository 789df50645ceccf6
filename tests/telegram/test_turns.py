"""Issue 15 end to end, through the real Dispatcher and the turn service: what stays on the merchant's
screen (the answer when a flow starts, the script after feedback), old keyboards taken away, a case
waiting for staff, and what one question costs in SQL statements."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from bot.core.engine import Engine
from tests.telegram.conftest import STAFF, SUPPORT, RunningBot, relays
from tests.telegram.fake_api import FakeBotAPI, button, buttons

MERCHANT = 7801


def last_message_id(api: FakeBotAPI, chat: int) -> int:
    return max(m for c, m in api.sent if c == chat)


def keyboard_of(api: FakeBotAPI, chat: int, message_id: int) -> list[tuple[str, str]]:
    markup = api.sent[(chat, message_id)].get("reply_markup") or {}
    return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


def removed_keyboards(api: FakeBotAPI, chat: int) -> list[int]:
    return [int(c.params["message_id"]) for c in api.of("editMessageReplyMarkup", chat)
            if not c.params.get("reply_markup")]


async def test_the_answer_stays_when_a_flow_starts_and_steps_edit_the_flow_message(running: RunningBot,
                                                                                   api: FakeBotAPI) -> None:
    api.text(MERCHANT, "显示51")
    [answer] = await api.replies(MERCHANT, 1)
    answer_id = last_message_id(api, MERCHANT)
    api.tap(MERCHANT, MERCHANT, answer_id, button(answer, "一步步排查"))
    [_, step] = await api.replies(MERCHANT, 2)
    assert step.method == "sendMessage" and "排查：" in step.params["text"]
    flow_id = last_message_id(api, MERCHANT)
    assert flow_id != answer_id and "应答码 51" in api.sent[(MERCHANT, answer_id)]["text"]
    await api.wait_for(lambda: answer_id in removed_keyboards(api, MERCHANT))
    assert keyboard_of(api, MERCHANT, answer_id) == []  # its 一步步排查 no longer looks live
    api.tap(MERCHANT, MERCHANT, flow_id, button(step, "好，不刷了"))
    [*_, next_step] = await api.replies(MERCHANT, 3)
    assert next_step.method == "editMessageText" and int(next_step.params["message_id"]) == flow_id
    assert "应答码 51" in api.sent[(MERCHANT, answer_id)]["text"]


async def test_the_script_stays_after_feedback(running: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, "显示51")
    [answer] = await api.replies(MERCHANT, 1)
    api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(answer, "一步步排查"))
    step = (await api.replies(MERCHANT, 2))[-1]
    flow_id = last_message_id(api, MERCHANT)
    api.tap(MERCHANT, MERCHANT, flow_id, button(step, "好，不刷了"))
    step = (await api.replies(MERCHANT, 3))[-1]
    api.tap(MERCHANT, MERCHANT, flow_id, button(step, "看给顾客的话术"))
    script = (await api.replies(MERCHANT, 4))[-1]
    assert script.method == "sendMessage" and "对顾客这样说" in script.params["text"]
    script_id = last_message_id(api, MERCHANT)
    script_text = api.sent[(MERCHANT, script_id)]["text"]
    api.tap(MERCHANT, MERCHANT, script_id, button(script, "好了，解决了"))
    thanks = (await api.replies(MERCHANT, 5))[-1]
    assert thanks.method == "sendMessage" and "谢谢反馈" in thanks.params["text"]
    assert api.sent[(MERCHANT, script_id)]["text"] == script_text  # still there to read out
    await api.wait_for(lambda: script_id in removed_keyboards(api, MERCHANT))


async def test_a_new_question_takes_the_buttons_off_the_last_answer(running: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, "签到失败")
    await api.replies(MERCHANT, 1)
    first = last_message_id(api, MERCHANT)
    api.text(MERCHANT, "显示51")
    await api.replies(MERCHANT, 2)
    second = last_message_id(api, MERCHANT)
    await api.wait_for(lambda: first in removed_keyboards(api, MERCHANT))
    assert keyboard_of(api, MERCHANT, first) == [] and keyboard_of(api, MERCHANT, second)
    assert "签到" in api.sent[(MERCHANT, first)]["text"]  # the text stays, only the buttons go


async def test_an_old_button_still_gets_the_fresh_menu(running: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, "签到失败")
    [old] = await api.replies(MERCHANT, 1)
    old_id = last_message_id(api, MERCHANT)
    api.text(MERCHANT, "显示51")
    await api.replies(MERCHANT, 2)
    api.tap(MERCHANT, MERCHANT, old_id, button(old, "一步步排查"))  # a start button still works
    await api.replies(MERCHANT, 3)
    api.tap(MERCHANT, MERCHANT, old_id, "c:signin_failure:nowhere:0")  # a step that is not where they are
    expired = (await api.replies(MERCHANT, 4))[-1]
    assert "这个菜单已过期" in expired.params["text"] and buttons(expired)
    [*_, toast] = await api.wait_for(lambda: api.of("answerCallbackQuery"))
    assert toast.params.get("text") == "这个菜单已过期"


async def _open_case(api: FakeBotAPI, user: int) -> int:
    """转人工 -> 直接转人工; the case's topic id."""
    api.text(user, "我要转人工")
    [offer] = await api.replies(user, 1)
    offer_id = last_message_id(api, user)
    api.tap(user, user, offer_id, button(offer, "直接转人工"))
    await api.wait_for(lambda: [c for c in api.of("sendMessage", user) if "已转人工客服" in c.params["text"]])
    await api.wait_for(lambda: offer_id in removed_keyboards(api, user))  # it would only open the case again
    [topic] = await api.wait_for(lambda: api.of("createForumTopic"))
    cards = await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if c.params.get("message_thread_id")])
    return int(cards[0].params["message_thread_id"])


async def test_a_line_of_detail_opens_the_case_and_the_offer_loses_its_buttons(support_bot: RunningBot,
                                                                                 api: FakeBotAPI) -> None:
    user = 7804
    api.text(user, "我要转人工")
    await api.replies(user, 1)
    offer_id = last_message_id(api, user)
    api.text(user, "签到失败")  # answered; the offer stays open, and so do its buttons
    await api.replies(user, 2)
    answer_id = last_message_id(api, user)
    assert ("直接转人工", "ho") in keyboard_of(api, user, offer_id)
    api.text(user, "终端号12345678，下午三点")
    await api.wait_for(lambda: [c for c in api.of("sendMessage", user) if "已转人工客服" in c.params["text"]])
    await api.wait_for(lambda: offer_id in removed_keyboards(api, user))
    assert answer_id not in removed_keyboards(api, user)


async def test_while_a_case_waits_for_staff_a_clear_question_is_answered_and_relayed(support_bot: RunningBot,
                                                                                     api: FakeBotAPI) -> None:
    user = 7802
    topic = await _open_case(api, user)
    api.text(user, "pos机显示51")
    answer = await api.wait_for(lambda: [c for c in api.of("sendMessage", user) if "应答码 51" in c.params["text"]])
    assert "客服也会看到" in answer[0].params["text"]
    assert "转人工" not in [label for label, _ in buttons(answer[0])]  # the case is open already
    relayed = await api.wait_for(lambda: [c for c in relays(api, SUPPORT) if "pos机显示51" in c.params.get("text", "")])
    assert int(relayed[0].params["message_thread_id"]) == topic
    notes = await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if "机器人先回答了" in c.params["text"]])
    assert "51" in notes[0].params["text"] and int(notes[0].params["message_thread_id"]) == topic

    # something posbot does not understand is only relayed, as before
    before = len(api.of("sendMessage", user))
    api.text(user, "阿萨德发个")
    await api.wait_for(lambda: len(relays(api, SUPPORT)) >= 2)
    assert len(api.of("sendMessage", user)) == before


async def test_once_staff_reply_posbot_stays_quiet_and_only_relays(support_bot: RunningBot, api: FakeBotAPI) -> None:
    user = 7803
    topic = await _open_case(api, user)
    api.text(STAFF, "您好，我是客服小王", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    await api.wait_for(lambda: [c for c in api.of("sendMessage", user) if "我是客服小王" in c.params["text"]])
    api.text(user, "好的")  # the merchant answers: the case waits for staff again, but staff are talking
    await api.wait_for(lambda: len(relays(api, SUPPORT)) >= 1)
    before = len(api.of("sendMessage", user))
    api.text(user, "pos机显示51")
    await api.wait_for(lambda: len(relays(api, SUPPORT)) >= 2)
    assert len(api.of("sendMessage", user)) == before, "posbot spoke while staff were talking"


# ---- what one question costs ----------------------------------------------------------------

@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement SQLite runs on connections opened from now on (sqlite3's trace callback)."""
    seen: list[str] = []
    lock = threading.Lock()
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)

        def trace(sql: str) -> None:
            with lock:
                seen.append(sql)
        connection.set_trace_callback(trace)
        return connection

    monkeypatch.setattr(sqlite3, "connect", traced)
    return seen


@pytest.fixture
async def counted_bot(statements: list[str], api: FakeBotAPI, tmp_path: Path,
                      engine: Engine) -> AsyncIterator[RunningBot]:
    api.forums.add(SUPPORT)
    bot = RunningBot(api, tmp_path / "data", engine, support_chat_id=SUPPORT)
    await bot.start()
    yield bot
    await bot.stop()


async def test_a_question_costs_at_most_four_statements(counted_bot: RunningBot, api: FakeBotAPI,
                                                        statements: list[str]) -> None:
    api.text(MERCHANT, "签到失败")  # the chat's first turn also looks for earlier cases
    await api.replies(MERCHANT, 1)
    # a turn ends with the state write (the question log is written before the answer is sent)
    await api.wait_for(lambda: any("INSERT INTO fsm" in s for s in statements))
    for n, question in enumerate(("pos机显示51", "小票打印出来是白的"), 2):
        statements.clear()
        api.text(MERCHANT, question)
        await api.replies(MERCHANT, n)
        await api.wait_for(lambda: any("INSERT INTO fsm" in s for s in statements))
        assert any("INSERT INTO questions" in s for s in statements)
        fsm = [s for s in statements if " fsm " in s]
        assert len(statements) <= 4, statements
        assert len(fsm) == 2, "one read and one write of the chat's state"
