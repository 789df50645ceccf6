"""Handoff to human support, end to end: merchant chat <-> support group topics via the fake Bot API."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from pathlib import Path


from bot.core.engine import Engine
from tests.telegram.conftest import STAFF, SUPPORT, RunningBot, relays
from tests.telegram.fake_api import FakeBotAPI, button, buttons

MERCHANT = 7101
CARD = "6222021234567890128"  # passes the Luhn check


def last_message_id(api: FakeBotAPI, chat: int) -> int:
    return max(m for c, m in api.sent if c == chat)


def to_support(api: FakeBotAPI) -> list:
    return [c for c in api.calls if c.method in ("sendMessage", "copyMessage") and int(c.params["chat_id"]) == SUPPORT]


async def open_by_button(api: FakeBotAPI, detail: str | None = None) -> int:
    """显示51 -> 转人工 -> (detail | 直接转人工); returns the topic id."""
    api.text(MERCHANT, "显示51")
    [answer] = await api.replies(MERCHANT, 1)
    api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(answer, "转人工"))
    prompt = (await api.replies(MERCHANT, 2))[-1]
    assert "补充一句" in prompt.params["text"]
    if detail is None:
        api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(prompt, "直接转人工"))
    else:
        api.text(MERCHANT, detail)
    done = (await api.replies(MERCHANT, 3))[-1]
    assert "已转人工客服（工单 #" in done.params["text"]
    assert len(api.of("createForumTopic")) == 1
    cards = await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if c.params.get("message_thread_id")])
    return int(cards[0].params["message_thread_id"])


async def test_button_handoff_opens_a_topic_with_the_context_card(support_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api, detail=f"终端号12345678 下午3点 300元 卡号{CARD}")
    [created] = api.of("createForumTopic")
    assert "商户" in created.params["name"] and "51" in created.params["name"]
    card = [c for c in api.of("sendMessage", SUPPORT) if int(c.params.get("message_thread_id") or 0) == topic][0]
    text = card.params["text"]
    for expected in ("工单 #1", "商户点了“转人工”", "code_51", "终端号12345678", "显示51", "****0128"):
        assert expected in text, expected
    assert CARD not in text
    db = sqlite3.connect(support_bot.settings.sqlite_path)
    dump = "\n".join(db.iterdump())
    db.close()
    assert CARD not in dump


async def test_relay_both_ways_with_text_and_photo(support_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    api.text(MERCHANT, "机器还是报51")
    relayed = await api.wait_for(lambda: relays(api, SUPPORT))
    assert int(relayed[0].params["message_thread_id"]) == topic
    api.media(MERCHANT, "photo")
    await api.wait_for(lambda: len(relays(api, SUPPORT)) == 2)
    own = lambda: [c for c in api.of("sendMessage", MERCHANT) if c not in relays(api, MERCHANT)]  # noqa: E731
    quiet = len(own())
    api.text(STAFF, "您好，请换一张卡试试", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    api.media(STAFF, "photo", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    to_merchant = await api.wait_for(
        lambda: len(c := relays(api, MERCHANT)) == 2 and c)
    text, photo = to_merchant
    assert text.params["text"] == "客服商户：您好，请换一张卡试试"  # labelled: a person, not posbot
    assert int(photo.params["from_chat_id"]) == SUPPORT and photo.params["caption"] == "客服商户"
    assert len(own()) == quiet  # the bot itself stayed quiet


async def copy_of(bot: RunningBot, original: tuple[int, int], *, timeout: float = 5.0) -> int:
    """The id of the copy the bot made of `original` (a labelled message or a copy), once the relay
    store knows it: the pair is written down just after the copy is sent (off the event loop)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (pair := await bot.stores.tickets.counterpart(*original)) is None:
        assert asyncio.get_running_loop().time() < deadline, "the relayed message was never linked"
        await asyncio.sleep(0.02)
    return pair[1]


async def test_a_reply_stays_a_reply_on_the_other_side(support_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    asked = api.text(MERCHANT, "终端号在哪看")
    asked_id = api.received_id(asked)
    await api.wait_for(lambda: relays(api, SUPPORT))
    # a person answers seconds later, the test at once: wait for the link first, or the reply
    # cannot be threaded
    in_topic = await copy_of(support_bot, (MERCHANT, asked_id))

    answer = api.text(STAFF, "在机器背面的标签上", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic,
                      reply_to=in_topic)  # staff answer that exact message
    [relayed] = await api.wait_for(lambda: [c for c in relays(api, MERCHANT)])
    assert relayed.params["reply_parameters"]["message_id"] == asked_id
    plain = api.text(STAFF, "还有别的问题吗", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    await api.wait_for(lambda: len(relays(api, MERCHANT)) == 2)
    assert "reply_parameters" not in relays(api, MERCHANT)[1].params  # not a reply: not threaded

    with_merchant = await copy_of(support_bot, (SUPPORT, api.received_id(answer)))
    api.text(MERCHANT, "找到了，谢谢", reply_to=with_merchant)  # and the merchant answers staff
    back = await api.wait_for(lambda: [c for c in relays(api, SUPPORT) if c.params.get("reply_parameters")])
    assert back[0].params["reply_parameters"]["message_id"] == api.received_id(answer)
    assert int(back[0].params["message_thread_id"]) == topic
    assert plain


async def test_close_rating_and_reopen(support_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    api.text(STAFF, "/close", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    rating = await api.wait_for(lambda: [c for c in api.of("sendMessage", MERCHANT) if "满意吗" in c.params["text"]])
    assert [label for label, _ in buttons(rating[0])] == ["👍 满意", "👎 不满意"]
    renamed = await api.wait_for(lambda: [c for c in api.of("editForumTopic") if c.params["name"].startswith("✅")])
    assert renamed
    api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(rating[0], "👍 满意"))
    await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if "商户评价：👍" in c.params["text"]])
    assert (await support_bot.stores.tickets.get(1)).rating == 1
    # a closed case: the bot answers the merchant again
    api.text(MERCHANT, "显示55")
    await api.wait_for(lambda: [c for c in api.of("sendMessage", MERCHANT) if "应答码 55" in c.params["text"]])
    api.text(STAFF, "/reopen", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    await api.wait_for(lambda: [c for c in api.of("sendMessage", MERCHANT) if "重新打开" in c.params["text"]])
    assert (await support_bot.stores.tickets.open_for(MERCHANT)) is not None


async def test_note_info_and_tickets(support_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    api.text(STAFF, "/note 商户脾气急", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if "已记下" in c.params["text"]])
    api.text(STAFF, "/info", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if "状态：" in c.params["text"]])
    api.text(STAFF, "/tickets", chat_id=SUPPORT, chat_type="supergroup")
    listing = await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if "进行中的工单" in c.params["text"]])
    assert "#1" in listing[0].params["text"]
    assert not [c for c in api.calls if c.method in ("copyMessage", "sendMessage")
                and int(c.params["chat_id"]) == MERCHANT and "脾气" in str(c.params)]


async def test_each_trigger_offers_the_handoff(support_bot: RunningBot, api: FakeBotAPI) -> None:
    users = iter(range(7200, 7300))

    async def prompted(user: int) -> None:
        await api.wait_for(lambda: [c for c in api.calls if c.method in ("sendMessage", "editMessageText")
                                    and int(c.params.get("chat_id", 0)) == user and "补充一句" in c.params["text"]])

    user = next(users)
    api.text(user, "/human")
    await prompted(user)
    user = next(users)
    api.text(user, "我要投诉")
    await prompted(user)
    user = next(users)
    api.text(user, "阿萨德发个")
    api.text(user, "qwerty uiop")
    await prompted(user)
    user = next(users)
    api.media(user, "voice")
    await prompted(user)
    prompt = [c for c in api.of("sendMessage", user) if "补充一句" in c.params["text"]][0]
    api.tap(user, user, last_message_id(api, user), button(prompt, "直接转人工"))
    await api.wait_for(lambda: [c for c in api.of("copyMessage") if int(c.params["from_chat_id"]) == user])
    for ending in ("escalate", "not_helped"):
        user = next(users)
        await walk_flow_to(api, support_bot.engine, user, ending)
        await prompted(user)


async def walk_flow_to(api: FakeBotAPI, engine: Engine, user: int, ending: str) -> None:
    """Tap through the printer flow along the shortest path to an escalate end (or to resolved,
    then 👎), as a merchant would."""
    flow = engine.content.flows_by_id["printer_problem"]
    target = ("end", "escalate") if ending == "escalate" else ("end", "resolved")
    paths = deque([(flow.start, [])])
    route = None
    while paths and route is None:
        step, taken = paths.popleft()
        for index, choice in enumerate(step.choices):
            if choice.target == target:
                route = taken + [(step.id, index)]
                break
            if choice.target[0] == "next":
                paths.append((flow.step(choice.target[1]), taken + [(step.id, index)]))
    assert route is not None
    api.text(user, "打印出来是白纸")
    await api.replies(user, 1)
    message = last_message_id(api, user)
    count = 1
    for data in ["f:printer_problem"] + [f"c:printer_problem:{s}:{i}" for s, i in route]:
        api.tap(user, user, message, data)
        count += 1
        await api.replies(user, count)
    if ending == "not_helped":
        api.tap(user, user, message, "n:printer_problem")
        await api.replies(user, count + 1)


async def test_a_deleted_topic_is_recreated(support_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    api.deleted_topics.add(topic)
    api.text(MERCHANT, "还在吗")
    await api.wait_for(lambda: len(api.of("createForumTopic")) == 2)
    copies = await api.wait_for(lambda: relays(api, SUPPORT))
    assert int(copies[-1].params["message_thread_id"]) != topic


async def test_two_quick_requests_open_one_topic(support_bot: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, "/human")
    prompt = (await api.replies(MERCHANT, 1))[-1]
    message = last_message_id(api, MERCHANT)
    api.tap(MERCHANT, MERCHANT, message, button(prompt, "直接转人工"))
    api.tap(MERCHANT, MERCHANT, message, button(prompt, "直接转人工"))
    await api.wait_for(lambda: len([c for c in api.of("sendMessage", MERCHANT) if "已转人工" in c.params["text"]]) == 2)
    await asyncio.sleep(0.3)
    assert len(api.of("createForumTopic")) == 1


async def test_a_group_that_is_not_a_forum_threads_on_a_header(api: FakeBotAPI, tmp_path: Path,
                                                                engine: Engine) -> None:
    bot = RunningBot(api, tmp_path / "data", engine, support_chat_id=SUPPORT)  # SUPPORT is not a forum here
    await bot.start()
    try:
        api.text(MERCHANT, "/human")
        prompt = (await api.replies(MERCHANT, 1))[-1]
        api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(prompt, "直接转人工"))
        header = await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if "工单 #1" in c.params["text"]])
        header_id = last_message_id(api, SUPPORT)
        assert "message_thread_id" not in header[0].params
        api.text(MERCHANT, "在吗")
        copy = await api.wait_for(lambda: relays(api, SUPPORT))
        assert copy[0].params["reply_parameters"]["message_id"] == header_id
        api.text(STAFF, "在的，请说", chat_id=SUPPORT, chat_type="supergroup", reply_to=header_id)
        await api.wait_for(lambda: relays(api, MERCHANT))
    finally:
        await bot.stop()


async def test_a_restart_between_merchant_and_staff_loses_nothing(api: FakeBotAPI, tmp_path: Path,
                                                                  engine: Engine) -> None:
    api.forums.add(SUPPORT)
    first = RunningBot(api, tmp_path / "data", engine, support_chat_id=SUPPORT)
    await first.start()
    topic = await open_by_button(api)
    api.fail("sendMessage", 500, times=5)  # the relay cannot get through before the stop
    api.text(MERCHANT, "我等着呢")
    await api.wait_for(lambda: len(api.of("sendMessage!failed")) == 5)
    await first.stop()
    second = RunningBot(api, tmp_path / "data", engine, support_chat_id=SUPPORT)
    await second.start()
    try:
        await api.wait_for(lambda: relays(api, SUPPORT))
        api.text(STAFF, "好的，马上处理", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
        await api.wait_for(lambda: relays(api, MERCHANT))
    finally:
        await second.stop()


async def test_staff_messages_from_other_chats_are_never_relayed(support_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    api.text(STAFF, "我不是客服", chat_id=-100999, chat_type="supergroup", thread_id=topic)
    api.text(STAFF, "/close", chat_id=-100999, chat_type="supergroup", thread_id=topic)
    await asyncio.sleep(1.0)
    assert not relays(api, MERCHANT)
    assert (await support_bot.stores.tickets.open_for(MERCHANT)) is not None


async def test_card_numbers_are_masked_when_relayed(support_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    api.text(MERCHANT, f"卡号 {CARD} 扣了两次")
    masked = await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT)
                                         if int(c.params.get("message_thread_id") or 0) == topic
                                         and "****0128" in c.params["text"]])
    assert CARD not in masked[0].params["text"]
    assert not api.of("copyMessage", SUPPORT)


async def test_an_edited_merchant_message_edits_its_copy(support_bot: RunningBot, api: FakeBotAPI) -> None:
    await open_by_button(api)
    api.text(MERCHANT, "金额是300")
    original = max(m for c, m in api.received if c == MERCHANT)
    await api.wait_for(lambda: relays(api, SUPPORT))
    api.edited(MERCHANT, "金额是350", message_id=original)
    edited = await api.wait_for(lambda: [c for c in api.of("editMessageText", SUPPORT) if c.params["text"] == "<b>商户 · #1</b>\n金额是350"])
    assert edited


def test_support_hours_wrap_around_midnight() -> None:
    from datetime import datetime

    from bot.telegram.handoff import CHINA, Handoff, parse_hours

    day = Handoff(store=None, support_chat_id=SUPPORT, blocked=None, shared=None,  # type: ignore[arg-type]
                  hours=parse_hours("09:00-21:00"))
    night = Handoff(store=None, support_chat_id=SUPPORT, blocked=None, shared=None,  # type: ignore[arg-type]
                    hours=parse_hours("20:00-02:00"))
    at = lambda h: datetime(2026, 11, 25, h, 30, tzinfo=CHINA)  # noqa: E731
    assert [day.staffed(at(h)) for h in (8, 9, 20, 21)] == [False, True, True, False]
    assert [night.staffed(at(h)) for h in (19, 20, 1, 2)] == [False, True, True, False]
    assert Handoff(store=None, support_chat_id=SUPPORT, blocked=None, shared=None).staffed()  # type: ignore[arg-type]


async def test_outside_support_hours_the_merchant_is_told_when(api: FakeBotAPI, tmp_path: Path,
                                                              engine: Engine) -> None:
    from datetime import datetime, timedelta

    from bot.telegram.handoff import CHINA

    now = datetime.now(CHINA)
    closed = f"{(now + timedelta(hours=2)):%H}:00-{(now + timedelta(hours=3)):%H}:00"
    api.forums.add(SUPPORT)
    bot = RunningBot(api, tmp_path / "data", engine, support_chat_id=SUPPORT, support_hours=closed)
    await bot.start()
    try:
        api.text(MERCHANT, "/human")
        prompt = (await api.replies(MERCHANT, 1))[-1]
        api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(prompt, "直接转人工"))
        done = (await api.replies(MERCHANT, 2))[-1]
        assert "不在客服工作时间" in done.params["text"] and "排队" in done.params["text"]
        await api.wait_for(lambda: api.of("createForumTopic"))  # the case is queued in the group anyway
    finally:
        await bot.stop()


async def test_a_merchant_keeps_one_topic_across_cases(support_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    api.text(STAFF, "/close", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    await api.wait_for(lambda: [c for c in api.of("sendMessage", MERCHANT) if "满意吗" in c.params["text"]])
    api.text(MERCHANT, "/human")
    await api.wait_for(lambda: [c for c in api.of("sendMessage", MERCHANT) if "补充一句" in c.params.get("text", "")])
    api.text(MERCHANT, "又坏了")
    await api.wait_for(lambda: [c for c in api.of("sendMessage", MERCHANT) if "工单 #2" in c.params["text"]])
    assert len(api.of("createForumTopic")) == 1
    card = [c for c in api.of("sendMessage", SUPPORT) if "工单 #2" in c.params["text"]][0]
    assert int(card.params["message_thread_id"]) == topic
    assert (await support_bot.stores.tickets.by_topic(topic)).id == 2


async def test_staff_edits_reach_the_merchant_and_staff_are_never_throttled(support_bot: RunningBot,
                                                                              api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    for n in range(12):  # more than a merchant's burst
        api.text(STAFF, f"第{n}条说明", chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    await api.wait_for(lambda: len(relays(api, MERCHANT)) == 12)
    assert not [c for c in api.of("sendMessage", SUPPORT) if "消息有点多" in c.params["text"]]
    first = min(m for c, m in api.received if c == SUPPORT and api.received[(c, m)].get("text") == "第0条说明")
    api.edited(STAFF, "第0条说明（已更正）", message_id=first, chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    await api.wait_for(lambda: [c for c in api.of("editMessageText", MERCHANT) if "已更正" in c.params["text"]])
