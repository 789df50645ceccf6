"""Telegram's limits, end to end: long texts arrive split (4,096 UTF-16 code units a message, HTML
balanced in each piece, the keyboard on the last one), and uploads that are too large, cannot be
downloaded or went stale get an answer. The fake Bot API refuses what Telegram refuses."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.engine import Engine
from bot.handoff.models import CaseContext, Merchant
from tests.telegram.conftest import ADMIN, STAFF, SUPPORT, RunningBot
from tests.telegram.fake_api import Call, FakeBotAPI, button, buttons

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini"
MERCHANT = 7701
COMMON = "intents/symptoms/common.yaml"


def refused(api: FakeBotAPI) -> list[Call]:
    return [c for c in api.calls if c.method.endswith("!refused")]


def last_message_id(api: FakeBotAPI, chat: int) -> int:
    return max(m for c, m in api.sent if c == chat)


async def test_tickets_with_80_open_cases_all_arrive(support_bot: RunningBot, api: FakeBotAPI) -> None:
    """11,924 characters in one message before: Telegram refused it and staff saw nothing."""
    for n in range(80):
        name = "🏪" * 20 + f"便利店{n}号" + "张" * 40  # long names, emoji count twice
        await support_bot.stores.tickets.open_ticket(Merchant(10_000 + n, 10_000 + n, name), CaseContext("words"))
    api.text(STAFF, "/tickets", chat_id=SUPPORT, chat_type="supergroup")
    await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if "#80 " in c.params["text"]])
    listing = [c.params["text"] for c in api.of("sendMessage", SUPPORT)]
    assert len(listing) >= 2 and listing[0].startswith("<b>进行中的工单")
    assert all(f"#{n} " in "\n".join(listing) for n in range(1, 81))
    assert refused(api) == []


async def test_an_emoji_heavy_context_card_arrives_whole(support_bot: RunningBot, api: FakeBotAPI) -> None:
    """The merchant's last messages are on the card (5,600 UTF-16 code units of them typed here), each
    cut at a limit and marked 已截断, and the card is accepted by Telegram."""
    for n in range(4):
        api.text(MERCHANT, f"显示51 第{n}次" + "🙏" * 700)
        await api.replies(MERCHANT, n + 1)
    api.text(MERCHANT, "/human")
    prompt = (await api.replies(MERCHANT, 5))[-1]
    api.tap(MERCHANT, MERCHANT, last_message_id(api, MERCHANT), button(prompt, "直接转人工"))
    done = (await api.replies(MERCHANT, 6))[-1]
    assert "已转人工客服（工单 #1）" in done.params["text"]
    [topic] = api.of("createForumTopic")
    card = [c.params["text"] for c in api.of("sendMessage", SUPPORT)]
    assert card[0].startswith("<b>工单 #1</b>")
    # each message is on the card, a long one up to a limit and marked so (the helpdesk's rule)
    assert all(f"第{n}次" in "\n".join(card) for n in range(4))
    assert "\n".join(card).count("（已截断）") == 4
    assert refused(api) == []


@pytest.fixture
async def admin_bot(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[RunningBot]:
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    bot = RunningBot(api, tmp_path / "data", Engine.load(root))
    await bot.start()
    yield bot
    await bot.stop()


def edited(bot: RunningBot, examples: list[str]) -> bytes:
    path = bot.engine.content.root / COMMON
    lines = "".join(f"      - {example}\n" for example in examples)
    return path.read_text(encoding="utf-8").replace("      - 不出纸咋回事\n", "      - 不出纸咋回事\n" + lines).encode()


async def test_a_long_upload_diff_arrives_with_its_confirm_button(admin_bot: RunningBot, api: FakeBotAPI) -> None:
    """The diff is a quote: cut inside <blockquote> before, Telegram refused it, the admin saw nothing."""
    long_examples = [f"第{n}种情况：" + "打印机出纸口卡纸而且纸卷装反了需要重新安装" * 6 for n in range(40)]
    api.upload(ADMIN, "common.yaml", edited(admin_bot, long_examples), caption=COMMON)
    await api.wait_for(lambda: [c for c in api.of("sendMessage", ADMIN) if buttons(c)])
    diff = api.of("sendMessage", ADMIN)
    assert len(diff) >= 2 and refused(api) == []
    assert [bool(buttons(c)) for c in diff] == [False] * (len(diff) - 1) + [True]  # the buttons come last
    assert all(c.params["text"].count("<blockquote>") == c.params["text"].count("</blockquote>") == 1
               for c in diff[1:])
    api.tap(ADMIN, ADMIN, last_message_id(api, ADMIN), button(diff[-1], "确认应用"))
    await api.wait_for(lambda: [c for c in api.of("sendMessage", ADMIN) if "已写入" in c.params["text"]])
    assert long_examples[0] in (admin_bot.engine.content.root / COMMON).read_text(encoding="utf-8")


async def test_an_upload_whose_download_fails_gets_a_reply(admin_bot: RunningBot, api: FakeBotAPI,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    api.upload(ADMIN, "common.yaml", edited(admin_bot, ["出纸口卡住了"]), caption=COMMON, downloadable=False)
    [reply] = await api.replies(ADMIN, 1)
    assert reply.params["text"] == "这个文件没能收到，什么都没改。请再发一次。"
    assert "upload 'common.yaml' from 42 not downloaded" in caplog.text


async def test_an_oversized_upload_is_refused_before_it_is_downloaded(admin_bot: RunningBot,
                                                                      api: FakeBotAPI) -> None:
    api.upload(ADMIN, "common.yaml", b"# padding\n" * 60_000, caption=COMMON)
    [reply] = await api.replies(ADMIN, 1)
    assert "文件太大" in reply.params["text"] and "512 KB" in reply.params["text"]
    assert api.of("getFile") == []  # not even asked for


async def test_a_stale_confirmation_is_refused_and_says_why(admin_bot: RunningBot, api: FakeBotAPI) -> None:
    api.upload(ADMIN, "common.yaml", edited(admin_bot, ["出纸口卡住了"]), caption=COMMON)
    await api.wait_for(lambda: len([c for c in api.of("sendMessage", ADMIN) if buttons(c)]) == 1)
    first = last_message_id(api, ADMIN)
    api.upload(ADMIN, "common.yaml", edited(admin_bot, ["打印头很烫"]), caption=COMMON)
    await api.wait_for(lambda: len([c for c in api.of("sendMessage", ADMIN) if buttons(c)]) == 2)
    second = last_message_id(api, ADMIN)
    api.tap(ADMIN, ADMIN, second, button(api.of("sendMessage", ADMIN)[-1], "确认应用"))
    await api.wait_for(lambda: [c for c in api.of("sendMessage", ADMIN) if "已写入" in c.params["text"]])
    api.tap(ADMIN, ADMIN, first, button(api.of("sendMessage", ADMIN)[0], "确认应用"))
    [stale] = await api.wait_for(lambda: [c for c in api.of("sendMessage", ADMIN) if "没有应用" in c.params["text"]])
    assert "已经被改过" in stale.params["text"]
    text = (admin_bot.engine.content.root / COMMON).read_text(encoding="utf-8")
    assert "打印头很烫" in text and "出纸口卡住了" not in text


async def test_an_upload_that_cannot_be_kept_is_answered(admin_bot: RunningBot, api: FakeBotAPI) -> None:
    """The pending copy cannot be written (a file where its directory should be stands in for a full
    disk: the tests run as root, so permissions would not stop them)."""
    (admin_bot.settings.data_dir / "uploads").write_text("in the way", encoding="utf-8")
    api.upload(ADMIN, "common.yaml", edited(admin_bot, ["出纸口卡住了"]), caption=COMMON)
    [reply] = await api.replies(ADMIN, 1)
    assert "没能保存这个上传，什么都没改" in reply.params["text"]
