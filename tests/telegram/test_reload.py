"""Changing content while the bot runs: /reload, --watch, and who may do it."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from pathlib import Path
from typing import AsyncIterator

import pytest

from bot.core.engine import Engine
from bot.telegram.app import watch_content
from tests.telegram.conftest import ADMIN, RunningBot
from tests.telegram.fake_api import Call, FakeBotAPI, button, buttons

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini"
MERCHANT = 7301


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    return root


@pytest.fixture
async def mini_bot(api: FakeBotAPI, tmp_path: Path, content: Path) -> AsyncIterator[RunningBot]:
    bot = RunningBot(api, tmp_path / "data", Engine.load(content))
    await bot.start()
    yield bot
    await bot.stop()


def add_example(content: Path, example: str) -> None:
    path = content / "intents" / "symptoms" / "common.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("      - 不出纸咋回事\n", f"      - 不出纸咋回事\n      - {example}\n"), encoding="utf-8")


async def admin_reload(api: FakeBotAPI) -> str:
    before = len(api.of("sendMessage", ADMIN))
    api.text(ADMIN, "/reload")
    return (await api.replies(ADMIN, before + 1, methods=("sendMessage",)))[-1].params["text"]


async def test_reload_valid_content(mini_bot: RunningBot, api: FakeBotAPI, content: Path) -> None:
    old = mini_bot.dispatcher["dialogs"].dialog.engine.version
    assert "内容没有变化" in await admin_reload(api)
    add_example(content, "热敏纸卷子卡住出不来")
    reply = await admin_reload(api)
    new = mini_bot.dispatcher["dialogs"].dialog.engine.version
    assert "已加载新内容" in reply and new in reply and new != old
    assert "意图：修改 1 个（打印机不出纸）" in reply  # what changed, not only a version hash
    api.text(MERCHANT, "热敏纸卷子卡住出不来")
    [answer] = await api.replies(MERCHANT, 1)
    assert "打印机不出纸" in answer.params["text"]


@pytest.mark.parametrize("breakage", ["invalid", "half-written"])
async def test_invalid_content_keeps_the_old_running(mini_bot: RunningBot, api: FakeBotAPI, content: Path,
                                                     breakage: str) -> None:
    old = mini_bot.dispatcher["dialogs"].dialog.engine.version
    path = content / "intents" / "codes" / "common.yaml"
    text = path.read_text(encoding="utf-8")
    if breakage == "invalid":
        path.write_text(text.replace("party: terminal", "party: nobody"), encoding="utf-8")
    else:
        path.write_text(text[: len(text) // 3] + "\n  - id: [", encoding="utf-8")
    reply = await admin_reload(api)
    assert "仍在使用旧内容" in reply and "intents/codes/common.yaml:" in reply
    assert mini_bot.dispatcher["dialogs"].dialog.engine.version == old
    api.text(MERCHANT, "显示a0")
    [answer] = await api.replies(MERCHANT, 1)
    assert "应答码 A0" in answer.params["text"]


async def test_a_merchant_mid_flow_during_a_reload(mini_bot: RunningBot, api: FakeBotAPI, content: Path) -> None:
    api.text(MERCHANT, "打印机不出纸")
    [answer] = await api.replies(MERCHANT, 1)
    message = max(m for c, m in api.sent if c == MERCHANT)
    api.tap(MERCHANT, MERCHANT, message, button(answer, "一步步排查"))
    step = (await api.replies(MERCHANT, 2))[-1]
    api.tap(MERCHANT, MERCHANT, message, button(step, "是白纸"))
    reload_step = (await api.replies(MERCHANT, 3))[-1]
    assert "翻过来" in reload_step.params["text"]
    flows = content / "knowledge" / "flows" / "mini.yaml"
    flows.write_text(flows.read_text(encoding="utf-8").replace("id: reload", "id: reload_v2")
                     .replace("next: reload", "next: reload_v2"), encoding="utf-8")
    assert "已加载新内容" in await admin_reload(api)
    api.tap(MERCHANT, MERCHANT, message, button(reload_step, "还是不行"))
    restarted = (await api.replies(MERCHANT, 4))[-1]
    assert "从第一步重新开始" in restarted.params["text"]
    assert [label for label, _ in buttons(restarted)][0] == "是白纸"


async def test_non_admins_are_refused_and_logged(mini_bot: RunningBot, api: FakeBotAPI,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    from bot.telegram.handlers.admin import ADMIN_COMMANDS

    caplog.set_level(logging.WARNING)
    for command, _ in ADMIN_COMMANDS:
        api.text(MERCHANT, f"/{command}")
    replies = await api.replies(MERCHANT, len(ADMIN_COMMANDS))
    assert all("只有管理员" in r.params["text"] for r in replies)
    for command, _ in ADMIN_COMMANDS:
        assert f"user 7301 tried admin command '/{command}'" in caplog.text


async def test_watch_reloads_on_change_and_reports_invalid_content(api: FakeBotAPI, tmp_path: Path,
                                                                   content: Path) -> None:
    bot = RunningBot(api, tmp_path / "data", Engine.load(content))
    bot.dispatcher_hooks = [watch_content]
    await bot.start()
    try:
        holder = bot.dispatcher["dialogs"]
        old = holder.dialog.engine.version
        await asyncio.sleep(0.5)  # let the watcher start
        add_example(content, "打印头好像坏了")
        for _ in range(100):
            if holder.dialog.engine.version != old:
                break
            await asyncio.sleep(0.1)
        assert holder.dialog.engine.version != old
        path = content / "intents" / "lexicon.yaml"
        path.write_text("words: [", encoding="utf-8")
        await api.wait_for(lambda: [c for c in api.of("sendMessage", ADMIN) if "仍在使用旧内容" in c.params["text"]])
    finally:
        await bot.stop()


async def test_admin_stats(mini_bot: RunningBot, api: FakeBotAPI) -> None:
    api.text(MERCHANT, "显示a0")
    await api.replies(MERCHANT, 1)
    api.text(ADMIN, "/stats")
    [reply] = await api.replies(ADMIN, 1)
    assert "问题 1 个" in reply.params["text"] and "最常见：A0 MAC鉴别失败 1" in reply.params["text"]  # its title, not code_a0


async def test_upload_diff_confirm_and_rollback(mini_bot: RunningBot, api: FakeBotAPI, content: Path) -> None:
    path = content / "intents" / "symptoms" / "common.yaml"
    original = path.read_text(encoding="utf-8")
    edited = original.replace("      - 不出纸咋回事\n", "      - 不出纸咋回事\n      - 出纸口卡住了\n")
    api.upload(ADMIN, "common.yaml", edited.encode(), caption="intents/symptoms/common.yaml")
    [diff] = await api.replies(ADMIN, 1)
    assert "+      - 出纸口卡住了" in diff.params["text"]
    assert path.read_text(encoding="utf-8") == original  # nothing applied before confirmation
    api.tap(ADMIN, ADMIN, max(m for c, m in api.sent if c == ADMIN), button(diff, "确认应用"))
    applied = (await api.replies(ADMIN, 2, methods=("sendMessage",)))[-1]
    assert "已写入 intents/symptoms/common.yaml；已加载新内容" in applied.params["text"]
    assert "出纸口卡住了" in path.read_text(encoding="utf-8")
    assert "出纸口卡住了" in mini_bot.dispatcher["dialogs"].dialog.content.by_id["printer_problem"].examples
    api.text(ADMIN, "/rollback")
    rolled = (await api.replies(ADMIN, 3, methods=("sendMessage",)))[-1]
    assert "已恢复 intents/symptoms/common.yaml" in rolled.params["text"]
    assert path.read_text(encoding="utf-8") == original
    assert "出纸口卡住了" not in mini_bot.dispatcher["dialogs"].dialog.content.by_id["printer_problem"].examples


async def test_an_upload_that_fails_validation_changes_nothing(mini_bot: RunningBot, api: FakeBotAPI,
                                                                content: Path) -> None:
    before = {p: p.read_text(encoding="utf-8") for p in content.rglob("*.yaml")}
    api.upload(ADMIN, "common.yaml", b"symptoms:\n  - id: printer_problem\n    title: x\n",
               caption="intents/symptoms/common.yaml")
    [reply] = await api.replies(ADMIN, 1)
    assert "没有通过检查" in reply.params["text"] and "intents/symptoms/common.yaml:" in reply.params["text"]
    assert {p: p.read_text(encoding="utf-8") for p in content.rglob("*.yaml")} == before
    api.upload(MERCHANT, "common.yaml", b"x: 1\n")  # not an admin: never treated as an upload
    [other] = await api.replies(MERCHANT, 1)
    assert "这个我看不了" in other.params["text"]


async def _review_message(api: FakeBotAPI) -> tuple[int, Call]:
    """/review: one message; its id and the call that sent it."""
    before = len(api.of("sendMessage", ADMIN))
    api.text(ADMIN, "/review")
    sent = (await api.replies(ADMIN, before + 1, methods=("sendMessage",)))[-1]
    await asyncio.sleep(0.2)
    assert len(api.of("sendMessage", ADMIN)) == before + 1  # one message, not one per group
    return max(m for c, m in api.sent if c == ADMIN), sent


async def _tap(api: FakeBotAPI, message_id: int, data: str) -> Call:
    """Tap a button of the review message; the edit of that same message that follows."""
    before = len(api.of("editMessageText", ADMIN))
    api.tap(ADMIN, ADMIN, message_id, data)
    edit = (await api.replies(ADMIN, before + 1, methods=("editMessageText",)))[-1]
    assert int(edit.params["message_id"]) == message_id
    return edit


async def test_review_in_telegram_round_trip(mini_bot: RunningBot, api: FakeBotAPI, content: Path) -> None:
    question = "收银小票上面的字看不清楚"
    api.text(MERCHANT, question)
    await api.replies(MERCHANT, 1)
    api.text(MERCHANT, "今天天气怎么样")
    await api.replies(MERCHANT, 2)
    message_id, card = await _review_message(api)
    if question not in card.params["text"]:
        card = await _tap(api, message_id, button(card, "下一组 ›"))
    assert question in card.params["text"] and "第 " in card.params["text"]
    adds = [data for label, data in buttons(card) if label.startswith("加为例句")]
    assert 1 <= len(adds) <= 3 and adds[0].endswith(":printer_problem")  # the suggestion comes first
    after_add = await _tap(api, message_id, adds[0])
    assert "已把 1 个问题加为“打印机不出纸”的例句" in after_add.params["text"]
    assert f"      - {question}\n" in (content / "intents" / "symptoms" / "common.yaml").read_text(encoding="utf-8")
    assert "今天天气" in after_add.params["text"] and adds[0] not in [d for _, d in buttons(after_add)]
    after_ignore = await _tap(api, message_id, button(after_add, "忽略"))
    assert "已忽略" in after_ignore.params["text"] and "收件箱是空的" in after_ignore.params["text"]
    assert buttons(after_ignore) == []  # nothing left to tap
    api.tap(ADMIN, ADMIN, message_id, adds[0])  # a stale button (say, in an old copy of the message)
    await api.wait_for(lambda: [c for c in api.of("answerCallbackQuery") if "已经处理过" in c.params.get("text", "")])
    api.text(MERCHANT, question)
    answer = (await api.replies(MERCHANT, 3))[-1]
    assert answer.params["text"].startswith("<b>打印机不出纸</b>")  # now understood


async def test_review_can_add_to_any_intent(mini_bot: RunningBot, api: FakeBotAPI, content: Path) -> None:
    """Not only the three suggestions: 其他意图 → a kind → a page of titles → the intent."""
    api.text(MERCHANT, "机器上的时间跟手机不一样")
    await api.replies(MERCHANT, 1)
    message_id, card = await _review_message(api)
    kinds = await _tap(api, message_id, button(card, "其他意图…"))
    labels = [label for label, _ in buttons(kinds)]
    assert labels[:2] == ["应答码（3 个）", "症状（4 个）"] and labels[-1] == "返回"
    page = await _tap(api, message_id, button(kinds, "症状（4 个）"))
    assert "症状：第 1/1 页" in page.params["text"]
    assert [label for label, _ in buttons(page)][:4] == ["打印机不出纸", "签到失败", "扣钱了但交易失败", "只显示交易失败"]
    done = await _tap(api, message_id, button(page, "只显示交易失败"))
    assert "加为“只显示交易失败”的例句" in done.params["text"] and "收件箱是空的" in done.params["text"]
    assert "机器上的时间跟手机不一样" in mini_bot.dispatcher["dialogs"].dialog.content.by_id["unknown_decline"].examples


async def test_review_adds_to_an_intent_typed_by_title_or_code(mini_bot: RunningBot, api: FakeBotAPI,
                                                                 content: Path) -> None:
    api.text(MERCHANT, "机器上的时间跟手机不一样")
    await api.replies(MERCHANT, 1)
    api.text(MERCHANT, "收银机怎么连打印机")
    await api.replies(MERCHANT, 2)
    message_id, card = await _review_message(api)
    kinds = await _tap(api, message_id, button(card, "其他意图…"))
    key = re.search(r"/review ([0-9a-f]{6}) ", kinds.params["text"])
    assert key is not None
    api.text(ADMIN, f"/review {key.group(1)} 没有这个意图")
    unknown = (await api.replies(ADMIN, 2, methods=("sendMessage",)))[-1]
    assert "找不到意图“没有这个意图”" in unknown.params["text"]
    api.text(ADMIN, f"/review {key.group(1)} 只显示交易失败")
    done = (await api.replies(ADMIN, 3, methods=("sendMessage",)))[-1]
    assert "加为“只显示交易失败”的例句" in done.params["text"] and "第 1/1 组" in done.params["text"]
    examples = mini_bot.dispatcher["dialogs"].dialog.content.by_id["unknown_decline"].examples
    [first] = [q for q in ("机器上的时间跟手机不一样", "收银机怎么连打印机") if q in card.params["text"]]
    assert first in examples and first not in done.params["text"]  # added, and the other group shown


async def test_a_refused_add_says_why_and_keeps_the_group(mini_bot: RunningBot, api: FakeBotAPI,
                                                          content: Path) -> None:
    """An example another intent owns (logged as not understood before an admin added it there by
    hand): not written, the card says why in Chinese, the group stays."""
    before = {p: p.read_bytes() for p in content.rglob("*.yaml")}
    await mini_bot.dispatcher["questions"].record(str(MERCHANT), "签到失败咋办", "fallback", intent=None, code=None,
                                                  score=None, candidates=[])
    message_id, card = await _review_message(api)
    page = await _tap(api, message_id, button(await _tap(api, message_id, button(card, "其他意图…")), "症状（4 个）"))
    refused = await _tap(api, message_id, button(page, "打印机不出纸"))
    assert "没有加入" in refused.params["text"] and "signin_failure.examples" in refused.params["text"]
    assert "签到失败咋办" in refused.params["text"] and buttons(refused)  # the group is still there to act on
    assert {p: p.read_bytes() for p in content.rglob("*.yaml")} == before


async def test_review_can_start_a_draft_intent(mini_bot: RunningBot, api: FakeBotAPI, content: Path) -> None:
    api.text(MERCHANT, "收银机怎么连打印机")
    await api.replies(MERCHANT, 1)
    message_id, card = await _review_message(api)
    done = await _tap(api, message_id, button(card, "新建意图（草稿）"))
    assert "intents/drafts/draft_" in done.params["text"]
    [draft] = (content / "intents" / "drafts").glob("draft_*.yaml")
    assert "收银机怎么连打印机" in draft.read_text(encoding="utf-8")
