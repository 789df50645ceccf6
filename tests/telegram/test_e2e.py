"""End to end: scripted updates in, real HTTP calls out, through the real Dispatcher and engine."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.core.engine import Engine
from tests.telegram.conftest import ADMIN, RunningBot
from tests.telegram.fake_api import BOT_USERNAME, FakeBotAPI, button, buttons

MERCHANT = 7001


async def test_start_shows_the_menu_and_commands_are_registered(running: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, "/start")
    [reply] = await api.replies(MERCHANT, 1)
    assert "POS 机故障助手" in reply.params["text"] and reply.params["parse_mode"] == "HTML"
    assert ("转人工", "h") in buttons(reply)
    scopes = [c.params.get("scope", {}).get("type") for c in api.of("setMyCommands")]
    assert scopes == ["default", "chat"]
    admin_call = api.of("setMyCommands")[1]
    assert admin_call.params["scope"]["chat_id"] == ADMIN
    assert "version" in [c["command"] for c in admin_call.params["commands"]]


async def test_a_code_gets_an_answer_with_flow_and_script_buttons(running: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, "pos机显示51")
    [reply] = await api.replies(MERCHANT, 1)
    assert "<b>应答码 51：" in reply.params["text"]
    labels = [label for label, _ in buttons(reply)]
    assert labels[:2] == ["一步步排查", "对顾客怎么说"]


async def test_a_symptom_walked_through_its_flow_to_the_end(running: RunningBot, api: FakeBotAPI,
                                                            tmp_path: Path) -> None:
    api.text(MERCHANT, "小票打印出来是白的")
    [answer] = await api.replies(MERCHANT, 1)
    assert "打印" in answer.params["text"]
    message_id = max(m for c, m in api.sent if c == MERCHANT)
    api.tap(MERCHANT, MERCHANT, message_id, button(answer, "一步步排查"))
    step = (await api.replies(MERCHANT, 2))[-1]
    # issue 15: the flow runs in a message of its own, so the answer above stays readable
    assert step.method == "sendMessage" and "排查：" in step.params["text"]
    assert "打印" in api.sent[(MERCHANT, message_id)]["text"]
    assert [label for label, _ in buttons(step)][-1] == "转人工"
    message_id = max(m for c, m in api.sent if c == MERCHANT)
    # keep taking the first choice until the flow ends (feedback, human or script)
    for _ in range(15):
        current = api.sent[(MERCHANT, message_id)]
        choices = [(label, data) for label, data in buttons_of(current) if data.startswith("c:")]
        if not choices:
            break
        count = len(api.of("editMessageText", MERCHANT)) + len(api.of("sendMessage", MERCHANT))
        api.tap(MERCHANT, MERCHANT, message_id, choices[0][1])
        await api.replies(MERCHANT, count + 1)
        message_id = max(m for c, m in api.sent if c == MERCHANT)
    assert len(api.of("answerCallbackQuery")) >= 3
    assert len(api.of("editMessageText", MERCHANT)) >= 2  # the flow ran as edits of one message
    final = api.sent[(MERCHANT, message_id)]["text"]
    assert any(end in final for end in ("对你有帮助吗", "人工客服", "对顾客这样说")), final
    db = sqlite3.connect(tmp_path / "data" / "posbot.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM flow_outcomes WHERE user_id = ?", (str(MERCHANT),)).fetchone()[0] >= 1


def buttons_of(message: dict) -> list[tuple[str, str]]:
    markup = message.get("reply_markup") or {}
    return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


async def test_a_double_tapped_button_gets_a_fresh_menu(running: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, "签到失败")
    [answer] = await api.replies(MERCHANT, 1)
    message_id = max(m for c, m in api.sent if c == MERCHANT)
    start = button(answer, "一步步排查")
    api.tap(MERCHANT, MERCHANT, message_id, start)
    step = (await api.replies(MERCHANT, 2))[-1]
    first_choice = [d for _, d in buttons(step) if d.startswith("c:")][0]
    api.tap(MERCHANT, MERCHANT, message_id, first_choice)
    await api.replies(MERCHANT, 3)
    api.tap(MERCHANT, MERCHANT, message_id, first_choice)  # the same button again
    expired = (await api.replies(MERCHANT, 4))[-1]
    assert "这个菜单已过期" in expired.params["text"]
    assert any(c.params.get("text") == "这个菜单已过期" for c in api.of("answerCallbackQuery"))


async def test_garbage_callback_data_is_answered_not_crashed(running: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, "/start")
    await api.replies(MERCHANT, 1)
    message_id = max(m for c, m in api.sent if c == MERCHANT)
    api.tap(MERCHANT, MERCHANT, message_id, "c:../../etc:x:99")
    expired = (await api.replies(MERCHANT, 2))[-1]
    assert "已过期" in expired.params["text"]


async def test_voice_stickers_documents_locations_get_a_polite_reply(running: RunningBot, api: FakeBotAPI) -> None:
    kinds = ("voice", "sticker", "document", "location")  # photos are read: tests/telegram/test_photos.py
    for kind in kinds:
        api.media(MERCHANT, kind)
    replies = await api.replies(MERCHANT, len(kinds))
    assert all("这个我看不了" in r.params["text"] for r in replies)


async def test_an_edited_message_is_a_new_question(running: RunningBot, api: FakeBotAPI) -> None:
    api.edited(MERCHANT, "显示A0")
    [reply] = await api.replies(MERCHANT, 1)
    assert "应答码 A0" in reply.params["text"]


async def test_429_is_waited_out_and_500_retried(running: RunningBot, api: FakeBotAPI) -> None:
    api.fail("sendMessage", 429, retry_after=1)
    api.text(MERCHANT, "显示51")
    [reply] = await api.replies(MERCHANT, 1)
    assert "应答码 51" in reply.params["text"]
    api.fail("sendMessage", 500, times=2)
    api.text(MERCHANT, "显示55")
    replies = await api.replies(MERCHANT, 2)
    assert "应答码 55" in replies[-1].params["text"]
    assert [c.method for c in api.calls if c.method.startswith("sendMessage!")] == ["sendMessage!failed"] * 3


async def test_a_timeout_is_retried(running: RunningBot, api: FakeBotAPI) -> None:
    api.fail("sendMessage", 500, delay=3.0)  # longer than the bot's 2 s request timeout
    api.text(MERCHANT, "显示96")
    replies = await api.replies(MERCHANT, 1, timeout=15)
    assert "应答码 96" in replies[0].params["text"]


async def test_a_merchant_who_blocked_the_bot_is_recorded_not_retried(running: RunningBot, api: FakeBotAPI,
                                                                      tmp_path: Path) -> None:
    api.fail("sendMessage", 403)
    api.text(MERCHANT, "显示51")
    await api.wait_for(lambda: api.of("sendMessage!failed"))
    await api.wait_for(lambda: running.stores.blocked.is_blocked(MERCHANT))
    assert len(api.of("sendMessage!failed")) == 1
    api.text(MERCHANT, "/start")  # they came back
    await api.replies(MERCHANT, 1)
    assert not (await running.stores.blocked.is_blocked(MERCHANT))


async def test_a_tap_too_old_to_answer_is_still_handled(running: RunningBot, api: FakeBotAPI) -> None:
    """Telegram refuses answerCallbackQuery for a query older than ~15 s (a tap sent again after an
    outage); the spinner cannot be stopped, but the tap still moves the flow on."""
    api.text(MERCHANT, "显示51")
    [answer] = await api.replies(MERCHANT, 1)
    message_id = max(m for c, m in api.sent if c == MERCHANT)
    api.fail("answerCallbackQuery", 400)
    api.tap(MERCHANT, MERCHANT, message_id, button(answer, "一步步排查"))
    # issue 15: the flow starts in a message of its own (the answer above stays)
    step = (await api.replies(MERCHANT, 2))[-1]
    assert step.method == "sendMessage" and "排查：" in step.params["text"]
    assert api.of("answerCallbackQuery!failed")


async def test_restart_in_the_middle_of_a_flow_resumes(api: FakeBotAPI, tmp_path: Path, engine: Engine) -> None:
    first = RunningBot(api, tmp_path / "data", engine)
    await first.start()
    api.text(MERCHANT, "扣钱了但是没出小票")
    [answer] = await api.replies(MERCHANT, 1)
    message_id = max(m for c, m in api.sent if c == MERCHANT)
    api.tap(MERCHANT, MERCHANT, message_id, button(answer, "一步步排查"))
    step = (await api.replies(MERCHANT, 2))[-1]
    await first.stop()

    second = RunningBot(api, tmp_path / "data", engine)
    await second.start()
    try:
        choice_label, choice = [(label, d) for label, d in buttons(step) if d.startswith("c:")][0]
        api.tap(MERCHANT, MERCHANT, message_id, choice)
        resumed = (await api.replies(MERCHANT, 3))[-1]
        assert "已过期" not in resumed.params["text"], choice_label
        assert resumed.params["text"] != step.params["text"]
    finally:
        await second.stop()


async def test_groups_answer_only_when_addressed(running: RunningBot, api: FakeBotAPI) -> None:
    group = -100123
    api.text(MERCHANT, "显示51", chat_id=group, chat_type="supergroup")
    api.text(MERCHANT, f"@{BOT_USERNAME} 显示55", chat_id=group, chat_type="supergroup")
    replies = await api.replies(group, 1)
    api.text(MERCHANT, "显示A0", chat_id=group, chat_type="supergroup", reply_to_bot=True)
    replies = await api.replies(group, 2)
    assert "应答码 55" in replies[0].params["text"]
    assert "应答码 A0" in replies[1].params["text"]
    assert not any("应答码 51" in r.params["text"] for r in api.of("sendMessage", group))


async def test_one_merchant_flooding_does_not_starve_another(running: RunningBot, api: FakeBotAPI) -> None:
    for n in range(30):
        api.text(MERCHANT, f"显示51 第{n}次")
    other = 7002
    api.text(other, "显示A0")
    [reply] = await api.replies(other, 1)
    assert "应答码 A0" in reply.params["text"]
    await api.wait_for(lambda: any("消息有点多" in c.params.get("text", "") for c in api.of("sendMessage", MERCHANT)))
    answered = [c for c in api.of("sendMessage", MERCHANT) if "应答码 51" in c.params["text"]]
    assert 1 <= len(answered) < 30
    notices = [c for c in api.of("sendMessage", MERCHANT) if "消息有点多" in c.params["text"]]
    assert len(notices) == 1


async def test_admin_sees_the_content_version(running: RunningBot, api: FakeBotAPI, engine: Engine) -> None:
    api.text(ADMIN, "/version")
    [reply] = await api.replies(ADMIN, 1)
    assert engine.version in reply.params["text"]
    api.text(MERCHANT, "/version")  # not an admin: treated as an unknown question, never the admin answer
    [other] = await api.replies(MERCHANT, 1)
    assert engine.version not in other.params["text"]
