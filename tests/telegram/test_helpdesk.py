"""The helpdesk in the support group, end to end (real Dispatcher, fake Bot API): hints instead of
silence, labels both ways, the context card, /tickets and /info in Chinese, 认领, reminders, /kb,
/ban and /unban."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import AsyncIterator

import pytest

from bot.core.engine import Engine
from bot.handoff import desk
from bot.handoff.models import CaseContext, Merchant, Status
from bot.records import Records
from bot.telegram.handoff import Handoff
from tests.telegram.conftest import STAFF, SUPPORT, RunningBot, relays
from tests.telegram.fake_api import Call, FakeBotAPI, button, buttons
from tests.telegram.test_handoff import CARD, MERCHANT, last_message_id, open_by_button

COLLEAGUE = 8102
"""A second administrator of SUPPORT."""
IN_GROUP = {"chat_id": SUPPORT, "chat_type": "supergroup"}


@pytest.fixture
async def desk_bot(api: FakeBotAPI, tmp_path: Path, engine: Engine) -> AsyncIterator[RunningBot]:
    """A forum support group with two staff, STAFF known to merchants as 小王."""
    api.forums.add(SUPPORT)
    api.admins[SUPPORT] = {STAFF, COLLEAGUE}
    bot = RunningBot(api, tmp_path / "data", engine, support_chat_id=SUPPORT, support_staff_aliases={STAFF: "小王"})
    await bot.start()
    yield bot
    await bot.stop()


def in_topic(topic: int) -> dict:
    return IN_GROUP | {"thread_id": topic}


def said(api: FakeBotAPI, chat: int, words: str) -> list[Call]:
    return [c for c in api.calls if c.method in ("sendMessage", "editMessageText")
            and int(c.params.get("chat_id") or 0) == chat and words in c.params.get("text", "")]


def card_of(api: FakeBotAPI, ticket: int = 1) -> tuple[int, Call]:
    """The case's context card: its message id and the call that sent it."""
    [(message_id, call)] = [(m, c) for (chat, m), c in api.sent.items()
                            if chat == SUPPORT and c.get("text", "").startswith(f"<b>工单 #{ticket}</b>")]
    [sent] = [c for c in api.of("sendMessage", SUPPORT) if c.params["text"].startswith(f"<b>工单 #{ticket}</b>")]
    return message_id, sent


# ---- 1. never silence ----------------------------------------------------------------------

async def test_a_staff_message_that_answers_no_case_gets_a_hint_once(api: FakeBotAPI, tmp_path: Path,
                                                                     engine: Engine) -> None:
    bot = RunningBot(api, tmp_path / "data", engine, support_chat_id=SUPPORT)  # a group without topics
    await bot.start()
    try:
        api.text(STAFF, "大家早", **IN_GROUP)  # no case yet: staff are just talking
        await asyncio.sleep(0.5)
        assert not said(api, SUPPORT, "请回复商户的消息")
        api.text(MERCHANT, "/human")
        prompt = (await api.replies(MERCHANT, 1))[-1]
        api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(prompt, "直接转人工"))
        await api.wait_for(lambda: said(api, SUPPORT, "工单 #1"))
        lost = api.text(STAFF, "您好，请问哪里不行？", **IN_GROUP)  # meant for the merchant, not a reply
        [hint] = await api.wait_for(lambda: said(api, SUPPORT, "请回复商户的消息"))
        assert "/kb" in hint.params["text"]
        assert hint.params["reply_parameters"]["message_id"] == api.received_id(lost)
        api.text(STAFF, "在吗？", **IN_GROUP)
        api.text(STAFF, "/tickets", **IN_GROUP)
        await api.wait_for(lambda: said(api, SUPPORT, "进行中的工单"))
        assert len(said(api, SUPPORT, "请回复商户的消息")) == 1  # throttled: one hint per ten minutes
        assert not relays(api, MERCHANT)
    finally:
        await bot.stop()


async def test_a_staff_message_outside_the_cases_topics_gets_a_hint(desk_bot: RunningBot, api: FakeBotAPI) -> None:
    await open_by_button(api)
    api.text(STAFF, "请问这个怎么处理", **IN_GROUP)  # the General topic of a forum
    await api.wait_for(lambda: said(api, SUPPORT, "这里不是工单话题"))
    assert not relays(api, MERCHANT)


# ---- 2. labels -----------------------------------------------------------------------------

async def test_relayed_messages_say_who_wrote_them(desk_bot: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, "显示51", first_name="王老板的便利店旗舰店第二分店")
    [answer] = await api.replies(MERCHANT, 1)
    api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(answer, "转人工"),
            first_name="王老板的便利店旗舰店第二分店")
    prompt = (await api.replies(MERCHANT, 2))[-1]
    api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(prompt, "直接转人工"),
            first_name="王老板的便利店旗舰店第二分店")
    await api.wait_for(lambda: said(api, SUPPORT, "工单 #1"))
    topic = int(card_of(api)[1].params["message_thread_id"])
    api.text(MERCHANT, f"还是不行 卡号{CARD}")
    [labelled] = await api.wait_for(lambda: relays(api, SUPPORT))
    assert labelled.params["text"] == "<b>王老板的便利店旗舰店第… · #1</b>\n还是不行 卡号****0128"  # shortened, masked
    api.text(STAFF, "您好，我看一下", first_name="Wang Wei", **in_topic(topic))
    api.text(COLLEAGUE, "我是另一位客服", first_name="李", **in_topic(topic))
    await api.wait_for(lambda: len(relays(api, MERCHANT)) == 2)
    # two staff members' messages are handled side by side: either may arrive first
    assert sorted(c.params["text"] for c in relays(api, MERCHANT)) == sorted(["客服小王：您好，我看一下", "客服李：我是另一位客服"])


# ---- 3. the context card -------------------------------------------------------------------

async def test_the_card_lists_the_buttons_pressed_and_whole_messages(desk_bot: RunningBot, api: FakeBotAPI,
                                                                     engine: Engine) -> None:
    from tests.telegram.test_handoff import walk_flow_to

    long = "机器昨天下午开始一直提示签到失败。" * 18 + "我已经重启过三次了，网线也换过，还是不行，今天一单都做不了"
    api.text(MERCHANT, long)
    await api.replies(MERCHANT, 1)
    await walk_flow_to(api, engine, MERCHANT, "escalate")
    prompt = await api.wait_for(lambda: said(api, MERCHANT, "补充一句"))
    api.text(MERCHANT, f"卡号 {CARD}")
    await api.wait_for(lambda: said(api, SUPPORT, "工单 #1"))
    _, card = card_of(api)
    text = card.params["text"]
    assert "商户点过的按钮：" in text and "开始排查：" in text and "→ 选了“" in text
    assert "（已截断）" in text and "今天一单都做不了" not in text  # cut at a sentence, said so
    assert "签到失败。…（已截断）" in text
    assert CARD not in text and "****0128" in text
    assert prompt


# ---- 4. /tickets and /info in Chinese -------------------------------------------------------

async def test_tickets_and_info_speak_chinese(desk_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    api.text(MERCHANT, "还在吗")

    async def waiting() -> bool:
        return (await desk_bot.stores.tickets.get(1)).status is Status.WAITING_SUPPORT

    await api.wait_for(waiting)
    api.text(STAFF, "/tickets", **IN_GROUP)
    [listing] = await api.wait_for(lambda: said(api, SUPPORT, "进行中的工单"))
    line = listing.params["text"].splitlines()[1]
    assert line.startswith("#1 🟡 等待客服 · 商户 · 应答码 51 资金不足 · 开单 刚刚 · 已等 1分钟 · 未认领"), line
    assert "waiting_support" not in listing.params["text"] and "code_51" not in listing.params["text"]
    api.text(STAFF, "/info", **in_topic(topic))
    [info] = await api.wait_for(lambda: said(api, SUPPORT, "状态："))
    assert "状态：等待客服；开单 刚刚；" in info.params["text"] and "评价：未评价" in info.params["text"]
    assert "机器人理解：应答码 51 资金不足" in info.params["text"]


def test_ages_and_statuses_read_as_staff_say_them() -> None:
    assert [desk.age(s) for s in (5, 180, 7200, 3 * 86400)] == ["刚刚", "3分钟前", "2小时前", "3天前"]
    assert set(desk.STATUS_WORDS.values()) == {"新工单", "等待客服", "客服处理中", "已关闭"}
    assert desk.whole("短消息") == "短消息"
    assert desk.whole("abc defgh " * 40).endswith(" defgh…（已截断）")  # at a space, never mid-word


# ---- 5. 认领 --------------------------------------------------------------------------------

async def test_claim_shows_who_has_the_case(desk_bot: RunningBot, api: FakeBotAPI) -> None:
    await open_by_button(api)
    card_id, card = card_of(api)
    claim = button(card, "🙋 认领")
    api.tap(STAFF, SUPPORT, card_id, claim, first_name="Wang")
    edited = await api.wait_for(lambda: [c for c in api.of("editMessageText", SUPPORT)
                                         if int(c.params["message_id"]) == card_id])
    assert "认领：小王 已认领" in edited[-1].params["text"]
    assert buttons(edited[-1])[0][0] == "✋ 小王 已认领（再点取消）"
    assert (await desk_bot.stores.tickets.get(1)).claimed_by == STAFF
    api.tap(COLLEAGUE, SUPPORT, card_id, claim, first_name="李")
    refused = await api.wait_for(lambda: [c for c in api.of("answerCallbackQuery") if "已由 小王 认领" in
                                          c.params.get("text", "")])
    assert refused[0].params["show_alert"] in (True, "true")
    assert (await desk_bot.stores.tickets.get(1)).claimed_by == STAFF
    api.tap(8999, SUPPORT, card_id, claim)  # not staff
    await api.wait_for(lambda: [c for c in api.of("answerCallbackQuery") if "只有客服" in c.params.get("text", "")])
    api.tap(STAFF, SUPPORT, card_id, claim, first_name="Wang")  # given back
    await api.wait_for(lambda: len([c for c in api.of("editMessageText", SUPPORT)
                                    if int(c.params["message_id"]) == card_id]) == 2)
    assert (await desk_bot.stores.tickets.get(1)).claimed_by is None
    api.text(STAFF, "/tickets", **IN_GROUP)
    await api.wait_for(lambda: said(api, SUPPORT, "未认领"))


# ---- 6. reminders --------------------------------------------------------------------------

async def test_a_waiting_case_is_reminded_of_once_even_across_a_restart(api: FakeBotAPI, tmp_path: Path,
                                                                          engine: Engine) -> None:
    api.forums.add(SUPPORT)
    settings = {"support_chat_id": SUPPORT, "support_remind_after": 0.02}  # 1.2 s
    first = RunningBot(api, tmp_path / "data", engine, **settings)
    await first.start()
    try:
        topic = await open_by_button(api)
        [reminder] = await api.wait_for(lambda: said(api, SUPPORT, "⏰"), timeout=6)
        assert int(reminder.params["message_thread_id"]) == topic
        assert "工单 #1" in reminder.params["text"] and "已等待客服" in reminder.params["text"]
        await asyncio.sleep(1.5)  # several more looks
    finally:
        await first.stop()
    second = RunningBot(api, tmp_path / "data", engine, **settings)
    await second.start()
    try:
        await asyncio.sleep(1.5)
        assert len(said(api, SUPPORT, "⏰")) == 1
    finally:
        await second.stop()


async def test_two_workers_send_one_reminder(support_bot: RunningBot, api: FakeBotAPI, engine: Engine) -> None:
    """Two workers (each its own store connection) looking at the same moment: one reminder."""
    ticket, _ = await support_bot.stores.tickets.open_ticket(Merchant(7300, 7300, "商户"), CaseContext(trigger="button"))
    await support_bot.stores.tickets.set_topic(ticket.id, 600, None)
    other = await Records.at(data_dir=support_bot.settings.data_dir)
    try:
        workers = [Handoff(store=store, support_chat_id=SUPPORT, blocked=support_bot.stores.blocked,
                           shared=support_bot.stores.shared, remind_after=60)
                   for store in (support_bot.stores.tickets, other.tickets)]
        later = time.time() + 120
        sent = await asyncio.gather(*(w.remind_due(support_bot.bot, engine.content, now=later) for w in workers * 3))
        assert sum(sent) == 1
        assert len(said(api, SUPPORT, "⏰")) == 1
    finally:
        await other.close()


# ---- 7. /kb --------------------------------------------------------------------------------

async def test_kb_sends_posbots_answer_in_one_step(desk_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    api.text(STAFF, "/kb 签到失败", **in_topic(topic))
    [answer] = await api.wait_for(lambda: said(api, MERCHANT, "posbot 自动解答"))
    assert answer.params["text"].startswith("🤖 posbot 自动解答（客服小王发送）")
    assert "签到" in answer.params["text"] and "reply_markup" not in answer.params
    await api.wait_for(lambda: said(api, SUPPORT, "小王 把 posbot 的解答"))
    _, card = card_of(api)
    api.tap(STAFF, SUPPORT, card_of(api)[0], button(card, "🤖 发送自动解答：应答码 51 资金不足"))
    await api.wait_for(lambda: len(said(api, MERCHANT, "posbot 自动解答")) == 2)
    assert "应答码 51" in said(api, MERCHANT, "posbot 自动解答")[1].params["text"]
    api.text(STAFF, "/kb 51", **in_topic(topic))
    await api.wait_for(lambda: len(said(api, MERCHANT, "posbot 自动解答")) == 3)
    api.text(STAFF, "/kb 火星文问题", **in_topic(topic))
    await api.wait_for(lambda: said(api, SUPPORT, "没找到“火星文问题”"))
    transcript = await desk_bot.stores.tickets.transcript(1, 50)
    assert len([e for e in transcript if "发送自动解答" in e.text]) == 3
    assert len(said(api, MERCHANT, "posbot 自动解答")) == 3


# ---- 8. /ban and /unban --------------------------------------------------------------------

async def test_a_banned_merchant_is_told_once_then_not_heard(desk_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    api.text(STAFF, "/ban 辱骂客服", **in_topic(topic))
    await api.wait_for(lambda: said(api, SUPPORT, "已封禁商户"))
    [notice] = await api.wait_for(lambda: said(api, MERCHANT, "无法转给客服"))
    quiet = len(api.calls)
    api.text(MERCHANT, "你们都是骗子")
    api.text(MERCHANT, "显示51")
    await asyncio.sleep(1.0)
    assert not [c for c in api.calls[quiet:] if int(c.params.get("chat_id") or 0) in (MERCHANT, SUPPORT)]
    assert not (await desk_bot.stores.tickets.open_for(MERCHANT))  # the case was closed, without a rating
    assert not said(api, MERCHANT, "满意吗")
    api.text(STAFF, "/bans", **IN_GROUP)
    [listing] = await api.wait_for(lambda: said(api, SUPPORT, "已封禁的商户"))
    assert f"id {MERCHANT}" in listing.params["text"] and "辱骂客服" in listing.params["text"]
    db = sqlite3.connect(desk_bot.settings.sqlite_path)
    assert db.execute("SELECT chat_id FROM banned_chats").fetchall() == [(MERCHANT,)]
    db.close()
    api.text(STAFF, f"/unban {MERCHANT}", **IN_GROUP)
    await api.wait_for(lambda: said(api, SUPPORT, "已解除封禁"))
    api.text(MERCHANT, "显示55")
    await api.wait_for(lambda: said(api, MERCHANT, "应答码 55"))
    assert len(said(api, MERCHANT, "无法转给客服")) == 1 and notice


async def test_the_support_group_menu_lists_the_ticket_commands(desk_bot: RunningBot, api: FakeBotAPI) -> None:
    [menu] = await api.wait_for(lambda: [c for c in api.of("setMyCommands")
                                         if int(c.params.get("scope", {}).get("chat_id") or 0) == SUPPORT])
    assert {"tickets", "info", "kb", "ban", "unban", "bans"} <= {c["command"] for c in menu.params["commands"]}


def test_staff_aliases_and_the_reminder_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings.run import ConfigError, load_settings

    monkeypatch.setenv("BOT_TOKEN", "1:abcdefghijkl")
    monkeypatch.setenv("SUPPORT_STAFF_ALIASES", "8101：小王，8102:小李")  # typed with a Chinese keyboard
    settings = load_settings(_env_file=None)
    assert settings.support_staff_aliases == {8101: "小王", 8102: "小李"}
    assert settings.support_remind_after == desk.REMIND_AFTER_MINUTES
    monkeypatch.setenv("SUPPORT_STAFF_ALIASES", "8101小王")
    with pytest.raises(ConfigError, match="SUPPORT_STAFF_ALIASES"):
        load_settings(_env_file=None)
