"""What reaches the support group, and who may speak there as staff (issue 12, items 1–3 and the
topic titles of 8), end to end through the real Dispatcher and the fake Bot API."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bot.core.engine import Engine
from tests.telegram.conftest import SUPPORT, RunningBot
from tests.telegram.fake_api import FakeBotAPI, button
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
    assert copy.params["caption"] == "这是小票 卡号****7894"
    assert CARD not in sent_to(api, SUPPORT) and CARD not in seen_in(api, SUPPORT)


async def test_a_document_handed_over_with_the_case_is_copied_with_its_caption_masked(
        support_bot: RunningBot, api: FakeBotAPI) -> None:
    api.media(MERCHANT, "document", caption=f"这是小票 卡号{CARD}")  # a PDF posbot cannot read: offers a human
    prompt = (await api.replies(MERCHANT, 1))[-1]
    api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(prompt, "直接转人工"))
    [copy] = await api.wait_for(lambda: api.of("copyMessage", SUPPORT))
    assert copy.params["caption"] == "这是小票 卡号****7894"
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
