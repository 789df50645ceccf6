"""End to end: 详细说明 under a phone-sized answer arrives as its own message, and the answer the
merchant needs at the counter stays as it was (issue 15)."""

from __future__ import annotations

from tests.telegram.conftest import RunningBot
from tests.telegram.fake_api import FakeBotAPI, button, buttons

MERCHANT = 7015


async def test_details_arrive_below_the_answer_which_is_left_alone(running: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, "pos机显示51")
    [answer] = await api.replies(MERCHANT, 1)
    lines = answer.params["text"].splitlines()
    assert lines[0] == "<b>应答码 51：资金不足</b>" and lines[1] == "请顾客换卡或改扫码，别重刷同一张卡"
    assert len(lines) <= 8 and "谁来处理" not in answer.params["text"]
    assert [label for label, _ in buttons(answer)] == ["一步步排查", "对顾客怎么说", "详细说明", "转人工"]
    message_id = max(m for c, m in api.sent if c == MERCHANT)
    api.tap(MERCHANT, MERCHANT, message_id, button(answer, "详细说明"))
    details = (await api.replies(MERCHANT, 2))[-1]
    assert details.method == "sendMessage"
    assert "<b>详细说明 · 应答码 51：资金不足</b>" in details.params["text"]
    assert "谁来处理：持卡人（顾客）" in details.params["text"]
    assert api.of("editMessageText", MERCHANT) == []  # the answer was not replaced
    assert "详细说明" not in [label for label, _ in buttons(details)]
