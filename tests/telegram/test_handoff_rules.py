"""The core's handoff rules, end to end on the fake Bot API: what counts as a misunderstanding, and a
pending handoff offer that never swallows a clear question."""

from __future__ import annotations

from tests.telegram.conftest import RunningBot
from tests.telegram.fake_api import FakeBotAPI, button

OFFER = "补充一句"


def texts(api: FakeBotAPI, chat: int) -> list[str]:
    return [c.params["text"] for c in api.calls if c.method in ("sendMessage", "editMessageText")
            and int(c.params.get("chat_id", 0)) == chat]


async def test_blank_emoji_and_stickers_do_not_count_towards_the_handoff(support_bot: RunningBot,
                                                                         api: FakeBotAPI) -> None:
    user = 7401
    api.text(user, "阿萨德发个")
    await api.replies(user, 1)
    api.text(user, "   ")
    api.text(user, "😀😀")
    api.media(user, "sticker")
    api.text(user, "🙏")
    await api.replies(user, 5)
    assert not [t for t in texts(api, user) if OFFER in t], "noise counted as a misunderstanding"
    api.text(user, "qwerty uiop")
    await api.wait_for(lambda: [t for t in texts(api, user) if OFFER in t])
    assert len(texts(api, user)) == 6


async def test_a_pending_offer_answers_a_clear_question_and_stays_open(support_bot: RunningBot,
                                                                       api: FakeBotAPI) -> None:
    user = 7402
    api.text(user, "/human")
    await api.wait_for(lambda: [t for t in texts(api, user) if OFFER in t])
    api.text(user, "签到失败")
    answer = (await api.replies(user, 2))[-1].params["text"]
    assert "签到" in answer and "已转人工" not in answer
    assert not api.of("createForumTopic"), "the clear question was taken as the line of detail"
    api.text(user, "😀")
    await api.replies(user, 3)
    assert not api.of("createForumTopic"), "an emoji was taken as the line of detail"
    api.text(user, "终端号12345678，下午三点")
    done = (await api.replies(user, 4))[-1].params["text"]
    assert "已转人工客服（工单 #" in done
    cards = await api.wait_for(lambda: [c for c in api.of("sendMessage") if c.params.get("message_thread_id")
                                        and "终端号12345678" in c.params["text"]])
    assert cards


async def test_a_pending_offer_still_opens_on_the_button_after_an_answer(support_bot: RunningBot,
                                                                         api: FakeBotAPI) -> None:
    user = 7403
    api.text(user, "我要转人工")
    [prompt] = [c for c in await api.replies(user, 1)]
    api.text(user, "pos机显示51")
    answer = (await api.replies(user, 2))[-1].params["text"]
    assert "应答码 51" in answer
    offer_id = min(m for c, m in api.sent if c == user)
    api.tap(user, user, offer_id, button(prompt, "直接转人工"))
    done = (await api.replies(user, 3))[-1].params["text"]
    assert "已转人工客服（工单 #" in done
