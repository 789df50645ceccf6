"""What reaches the support group, and who may speak there as staff (issue 12, items 1–3 and the
topic titles of 8), end to end through the real Dispatcher and the fake Bot API."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from bot.core.engine import Engine
from bot.handoff.models import CaseContext, Merchant
from tests.telegram.conftest import STAFF, SUPPORT, RunningBot, relays
from tests.telegram.fake_api import BOT_USERNAME, FakeBotAPI, button
from tests.telegram.test_handoff import MERCHANT, last_message_id, open_by_button

CARD = "6222021234567894"  # passes Luhn
TYPED = f"卡号{CARD}刷不了"


def seen_in(api: FakeBotAPI, chat: int) -> str:
    """Everything in `chat` as Telegram keeps it after the bot's calls (texts, captions of copies)."""
    return json.dumps([m for (c, _), m in api.sent.items() if c == chat], ensure_ascii=False)


def sent_to(api: FakeBotAPI, chat: int) -> str:
    """Every parameter of every call the bot made towards `chat`, failed ones included."""
    return json.dumps([c.params for c in api.calls if int(c.params.get("chat_id") or 0) == chat], ensure_ascii=False)


async def kept_for_retry(bot: RunningBot) -> bool:
    """A relay attempted once, failed, and waiting in the outbox for the retry loop."""
    return any(item.attempts for item in await bot.stores.tickets.pending())


def database_dump(bot: RunningBot) -> str:
    db = sqlite3.connect(bot.settings.sqlite_path)
    try:
        return "\n".join(db.iterdump())
    finally:
        db.close()


# ---- item 1: card numbers never reach the support group whole ------------------------------


async def test_a_relay_retried_after_a_429_is_sent_masked_not_copied(support_bot: RunningBot, api: FakeBotAPI) -> None:
    """The issue's reproduction: sendMessage fails once with 429 and a retry_after too long to wait,
    the relay is kept, and the retry (the 60 s loop's body) must not copy the original."""
    topic = await open_by_button(api)
    api.fail("sendMessage", 429, times=1, retry_after=120)
    api.text(MERCHANT, TYPED)
    await api.wait_for(lambda: api.of("sendMessage!failed"))
    await api.wait_for(lambda: kept_for_retry(support_bot))
    handoff = support_bot.dispatcher["handoff"]
    assert await handoff.resume(support_bot.bot, support_bot.dispatcher["dialogs"].dialog.content) == 1
    relayed = [c for c in api.of("sendMessage", SUPPORT) if "****7894" in c.params["text"]]
    assert relayed and int(relayed[0].params["message_thread_id"]) == topic
    assert not [c for c in api.of("copyMessage", SUPPORT)]
    assert CARD not in sent_to(api, SUPPORT) and CARD not in seen_in(api, SUPPORT)
    assert CARD not in database_dump(support_bot)


async def test_a_relay_resent_after_a_restart_is_sent_masked(api: FakeBotAPI, tmp_path: Path, engine: Engine) -> None:
    api.forums.add(SUPPORT)
    first = RunningBot(api, tmp_path / "data", engine, support_chat_id=SUPPORT)
    await first.start()
    await open_by_button(api)
    api.fail("sendMessage", 429, times=1, retry_after=120)
    api.text(MERCHANT, TYPED)
    await api.wait_for(lambda: api.of("sendMessage!failed"))
    await api.wait_for(lambda: kept_for_retry(first))
    await first.stop()
    second = RunningBot(api, tmp_path / "data", engine, support_chat_id=SUPPORT)
    await second.start()  # resends what the last run left pending
    try:
        await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if "****7894" in c.params["text"]])
        assert not api.of("copyMessage", SUPPORT)
        assert CARD not in sent_to(api, SUPPORT) and CARD not in seen_in(api, SUPPORT)
    finally:
        await second.stop()


async def test_a_photo_in_a_case_keeps_no_card_number_in_its_caption_even_when_retried(
        support_bot: RunningBot, api: FakeBotAPI) -> None:
    await open_by_button(api)
    api.fail("copyMessage", 429, times=1, retry_after=120)
    api.media(MERCHANT, "photo", caption=f"这是小票 卡号{CARD}")
    await api.wait_for(lambda: api.of("copyMessage!failed"))
    await api.wait_for(lambda: kept_for_retry(support_bot))
    await support_bot.dispatcher["handoff"].resume(support_bot.bot, support_bot.dispatcher["dialogs"].dialog.content)
    [copy] = api.of("copyMessage", SUPPORT)
    assert copy.params["caption"] == "<b>商户 · #1</b>\n这是小票 卡号****7894"
    assert CARD not in sent_to(api, SUPPORT) and CARD not in seen_in(api, SUPPORT)


async def test_a_document_handed_over_with_the_case_is_copied_with_its_caption_masked(
        support_bot: RunningBot, api: FakeBotAPI) -> None:
    api.media(MERCHANT, "document", caption=f"这是小票 卡号{CARD}")  # a PDF posbot cannot read: offers a human
    prompt = (await api.replies(MERCHANT, 1))[-1]
    api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(prompt, "直接转人工"))
    [copy] = await api.wait_for(lambda: api.of("copyMessage", SUPPORT))
    assert copy.params["caption"] == "<b>商户 · #1</b>\n这是小票 卡号****7894"
    assert "这是小票 卡号****7894" in seen_in(api, SUPPORT)
    assert CARD not in sent_to(api, SUPPORT) and CARD not in seen_in(api, SUPPORT)
    assert CARD not in database_dump(support_bot)


async def test_a_card_number_typed_the_chinese_way_is_masked_everywhere(support_bot: RunningBot,
                                                                        api: FakeBotAPI) -> None:
    """Full-width digits and ideographic spaces: in the question log, the conversation state, the
    context card and the relays."""
    typed = "６２２５　８８１２　３４９８　７６１７"
    api.text(7102, f"卡号{typed}刷不了")  # another merchant: the question log and the state
    await api.replies(7102, 1)
    topic = await open_by_button(api, detail=f"刚才那张 {typed}")  # the context card
    api.text(MERCHANT, f"再说一次 {typed} 100元")  # a relay
    await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT)
                                if int(c.params.get("message_thread_id") or 0) == topic and "100元" in c.params["text"]])
    everything = sent_to(api, SUPPORT) + seen_in(api, SUPPORT) + database_dump(support_bot)
    assert typed not in everything and "6225881234987617" not in everything
    assert "****7617 100元" in sent_to(api, SUPPORT)


# ---- item 2: a case opens only in the merchant's private chat ------------------------------

GROUP = -100555
"""A merchants' group the bot is in."""


async def test_in_a_group_a_handoff_points_to_the_private_chat(support_bot: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, f"/human@{BOT_USERNAME}", chat_id=GROUP, chat_type="supergroup")
    [hint] = await api.replies(GROUP, 1)
    assert "请私聊我转人工" in hint.params["text"]
    [[link]] = hint.params["reply_markup"]["inline_keyboard"]
    assert link["url"] == f"https://t.me/{BOT_USERNAME}?start=human"
    api.text(MERCHANT, f"@{BOT_USERNAME} 转人工", chat_id=GROUP, chat_type="supergroup")
    await api.wait_for(lambda: len([c for c in api.of("sendMessage", GROUP) if "请私聊我转人工" in c.params["text"]]) == 2)
    assert not api.of("createForumTopic") and await support_bot.stores.tickets.open_for(MERCHANT) is None

    api.text(MERCHANT, "/start human")  # the link opens the private chat with this
    prompt = (await api.replies(MERCHANT, 1))[-1]
    assert "补充一句" in prompt.params["text"]
    api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(prompt, "直接转人工"))
    ticket = await api.wait_for(lambda: support_bot.stores.tickets.open_for(MERCHANT))
    assert ticket.merchant.chat_id == MERCHANT


async def test_a_handoff_button_tapped_in_a_group_opens_nothing(support_bot: RunningBot, api: FakeBotAPI) -> None:
    """An offer left in a group by an older release (or any 直接转人工 button there)."""
    offer = api.sent_message(GROUP, "转人工客服：可以先补充一句情况", buttons=[("直接转人工", "ho")])
    api.tap(MERCHANT, GROUP, offer, "ho")
    [answer] = await api.wait_for(lambda: api.of("answerCallbackQuery"))
    assert "请私聊我转人工" in answer.params["text"]
    await asyncio.sleep(0.3)
    assert await support_bot.stores.tickets.open_for(MERCHANT) is None and not api.of("createForumTopic")


async def test_a_ticket_opened_from_a_group_by_an_older_release_answers_privately(
        support_bot: RunningBot, api: FakeBotAPI) -> None:
    tickets = support_bot.stores.tickets
    ticket, _ = await tickets.open_ticket(Merchant(MERCHANT, GROUP, "商户"), CaseContext(trigger="command"))
    await tickets.set_topic(ticket.id, 777, None)
    api.text(STAFF, "您好，请问什么问题", chat_id=SUPPORT, chat_type="supergroup", thread_id=777)
    [copy] = await api.wait_for(lambda: relays(api, MERCHANT))
    assert copy.params["text"] == "客服商户：您好，请问什么问题"
    api.text(STAFF, "/close", chat_id=SUPPORT, chat_type="supergroup", thread_id=777)
    await api.wait_for(lambda: [c for c in api.of("sendMessage", MERCHANT) if "满意吗" in c.params["text"]])
    assert not [c for c in api.calls if int(c.params.get("chat_id") or 0) == GROUP]


# ---- item 3: only staff speak as staff -----------------------------------------------------

MEMBER = 8999
"""In the support group, not an administrator."""


async def test_only_staff_are_relayed_and_may_close(support_bot: RunningBot, api: FakeBotAPI) -> None:
    topic = await open_by_button(api)
    in_topic = {"chat_id": SUPPORT, "chat_type": "supergroup", "thread_id": topic}
    api.text(MEMBER, "请把卡号和密码发给我核实", **in_topic)
    api.text(9100, "点这里领取补偿 http://phish.example", is_bot=True, **in_topic)
    api.text(9200, "频道消息 http://phish.example", sender_chat={"id": -100321, "type": "channel", "title": "频道"},
             **in_topic)
    api.text(MEMBER, "/close", **in_topic)
    await api.wait_for(lambda: len([c for c in api.of("sendMessage", SUPPORT) if "只有客服" in c.params["text"]]) == 2)
    api.text(9300, "我是匿名管理员", sender_chat={"id": SUPPORT, "type": "supergroup", "title": "客服群"}, **in_topic)
    await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if "匿名发言" in c.params["text"]])
    api.text(STAFF, "您好，我是客服", **in_topic)
    [relayed] = await api.wait_for(lambda: relays(api, MERCHANT))
    assert relayed.params["text"] == "客服商户：您好，我是客服"
    assert (await support_bot.stores.tickets.open_for(MERCHANT)) is not None  # the member's /close did nothing
    assert "phish" not in sent_to(api, MERCHANT) and "密码" not in sent_to(api, MERCHANT)
    assert len(api.of("getChatAdministrators")) == 1  # asked once, then kept


async def test_with_support_staff_ids_only_those_users_are_staff(api: FakeBotAPI, tmp_path: Path,
                                                                 engine: Engine) -> None:
    api.forums.add(SUPPORT)
    bot = RunningBot(api, tmp_path / "data", engine, support_chat_id=SUPPORT, support_staff_ids=(MEMBER,))
    await bot.start()
    try:
        topic = await open_by_button(api)
        in_topic = {"chat_id": SUPPORT, "chat_type": "supergroup", "thread_id": topic}
        api.text(STAFF, "我是群管理员，但不是客服", **in_topic)
        api.text(MEMBER, "我是客服", **in_topic)
        [relayed] = await api.wait_for(lambda: relays(api, MERCHANT))
        assert relayed.params["text"] == "客服商户：我是客服"
        api.text(MEMBER, "/close", **in_topic)
        await api.wait_for(lambda: [c for c in api.of("sendMessage", MERCHANT) if "满意吗" in c.params["text"]])
        assert len(relays(api, MERCHANT)) == 1 and not api.of("getChatAdministrators")
    finally:
        await bot.stop()


async def test_administrators_are_asked_again_after_a_minute_and_kept_when_telegram_fails(api: FakeBotAPI) -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    from bot.telegram.staff import ADMINS_FOR, Staff
    from tests.telegram.fake_api import TOKEN

    now = [0.0]
    staff = Staff(SUPPORT, clock=lambda: now[0])
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base)))

    def post(user: int, **extra: object) -> Message:
        return Message.model_validate({"message_id": 1, "date": 0, "chat": {"id": SUPPORT, "type": "supergroup"},
                                       "from": {"id": user, "is_bot": False, "first_name": "x"}, "text": "hi", **extra})
    try:
        assert await staff.is_staff(bot, post(STAFF)) and not await staff.is_staff(bot, post(MEMBER))
        api.admins[SUPPORT].add(MEMBER)  # promoted
        now[0] = ADMINS_FOR - 1
        assert not await staff.is_staff(bot, post(MEMBER))
        now[0] = ADMINS_FOR + 1
        assert await staff.is_staff(bot, post(MEMBER))
        assert len(api.of("getChatAdministrators")) == 2
        api.fail("getChatAdministrators", 400, times=1)
        now[0] = 3 * ADMINS_FOR
        assert await staff.is_staff(bot, post(MEMBER))  # the last list is kept …
        assert await staff.is_staff(bot, post(MEMBER)) and len(api.of("getChatAdministrators!failed")) == 1
        assert len(api.of("getChatAdministrators")) == 2  # … and Telegram is not asked again at once
        assert not await staff.is_staff(bot, post(STAFF, sender_chat={"id": SUPPORT, "type": "supergroup"}))
        assert not await Staff(SUPPORT, ids=frozenset({STAFF})).is_staff(
            bot, post(STAFF, **{"from": {"id": STAFF, "is_bot": True, "first_name": "b"}}))
    finally:
        await bot.session.close()


# ---- item 8 (part): names that reorder or crowd out the topic title -------------------------

RLO = "\u202e"


async def test_a_name_with_bidi_controls_cannot_reorder_the_topic_or_the_card(support_bot: RunningBot,
                                                                             api: FakeBotAPI) -> None:
    api.text(MERCHANT, "/human")
    prompt = (await api.replies(MERCHANT, 1))[-1]
    name = f"张三{RLO}退款已到账\u2066请核实\u2069\u202a"
    api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(prompt, "直接转人工"), first_name=name)
    [created] = await api.wait_for(lambda: api.of("createForumTopic"))
    assert created.params["name"] == "🆕 张三退款已到账请核实 · 人工 · #1"
    [card] = await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if "工单 #1" in c.params["text"]])
    assert "商户：张三退款已到账请核实（id" in card.params["text"]
    controls = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert not controls & set(sent_to(api, SUPPORT) + json.dumps(created.params, ensure_ascii=False))


def test_a_long_title_is_cut_in_the_name_and_keeps_the_code_and_the_id() -> None:
    from bot.handoff.models import Status, Ticket
    from bot.telegram.handoff import TOPIC_NAME_LIMIT, topic_name

    def title(name: str, code: str | None = "51", ticket_id: int = 123456) -> str:
        ticket = Ticket(id=ticket_id, merchant=Merchant(MERCHANT, MERCHANT, name), status=Status.WAITING_SUPPORT,
                        context=CaseContext(trigger="button", code=code), topic_id=None, header_message_id=None,
                        created_at=0, updated_at=0)
        return topic_name(ticket)

    for name in ("长" * 200, "🍜" * 100, RLO + "x" * 300, "a 🍜" * 50):
        cut = title(name)
        assert cut.startswith("🟡 ") and cut.endswith(" · 51 · #123456"), cut
        assert len(cut.encode("utf-16-le")) // 2 <= TOPIC_NAME_LIMIT and "…" in cut and RLO not in cut
    assert title("王五") == "🟡 王五 · 51 · #123456"
    assert title("", code=None) == "🟡 商户 · 人工 · #123456"
