"""Photos end to end: the fake Bot API serves the picture (getFile, then the file download), the
bot reads it and answers; in an open case the photo goes to the topic with what was read under it."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from bot.core.engine import Engine
from tests.conftest import OCR_FIXTURES
from tests.telegram.conftest import SUPPORT, RunningBot
from tests.telegram.fake_api import FakeBotAPI, button, buttons

MERCHANT = 7301
STAFF = 8301
_message_ids = itertools.count(600_000)

pytestmark = pytest.mark.usefixtures("ocr_reader")  # models loaded once; skipped without the ocr extra


def send_picture(api: FakeBotAPI, user: int, name: str, *, as_file: bool = False, file_size: int | None = None,
                 caption: str | None = None) -> str:
    """A photo (Telegram's thumbnail and a full size, like a phone sends) or an image document;
    returns the file id of the bytes the bot should fetch."""
    data = (OCR_FIXTURES / name).read_bytes()
    file_id = f"pic{len(api.files) + 1}"
    api.files[file_id] = data
    size = file_size if file_size is not None else len(data)
    message = {"message_id": next(_message_ids), "date": int(time.time()), "chat": {"id": user, "type": "private"},
               "from": {"id": user, "is_bot": False, "first_name": "商户", "language_code": "zh-hans"}}
    if as_file:
        message["document"] = {"file_id": file_id, "file_unique_id": "u" + file_id, "file_name": name,
                               "mime_type": "image/png", "file_size": size}
    else:
        message["photo"] = [{"file_id": "thumb" + file_id, "file_unique_id": "t" + file_id, "width": 90, "height": 68,
                             "file_size": 1200},
                            {"file_id": file_id, "file_unique_id": "u" + file_id, "width": 1280, "height": 1013,
                             "file_size": size}]
    if caption is not None:
        message["caption"] = caption
    api.push({"message": message})
    return file_id


async def test_a_photo_of_the_screen_is_answered_like_the_typed_code(running: RunningBot, api: FakeBotAPI) -> None:
    file_id = send_picture(api, MERCHANT, "lcd_a0_letter_o.png")
    [reply] = await api.replies(MERCHANT, 1)
    text = reply.params["text"]
    assert text.startswith("识别到：交易失败 错误码:A0 MAC校验错\n<b>应答码 A0：")
    assert [label for label, _ in buttons(reply)][:2] == ["一步步排查", "对顾客怎么说"]
    assert [call.params["file_id"] for call in api.of("getFile")] == [file_id]  # the full size, not the thumbnail


async def test_a_caption_answers_when_the_picture_cannot(running: RunningBot, api: FakeBotAPI) -> None:
    send_picture(api, MERCHANT, "too_blurry.png", caption="刷卡显示51")
    [reply] = await api.replies(MERCHANT, 1)
    assert "按你写的“刷卡显示51”回答" in reply.params["text"] and "应答码 51" in reply.params["text"]


async def test_an_image_sent_as_a_file_is_read_too(running: RunningBot, api: FakeBotAPI) -> None:
    send_picture(api, MERCHANT, "slip_51_clean.png", as_file=True)
    [reply] = await api.replies(MERCHANT, 1)
    assert "识别到：交易失败 应答码:51 余额不足" in reply.params["text"]
    assert "<b>应答码 51：" in reply.params["text"]


async def test_the_answer_continues_like_a_typed_one(running: RunningBot, api: FakeBotAPI) -> None:
    send_picture(api, MERCHANT, "symptom_signin_clean.png")
    [answer] = await api.replies(MERCHANT, 1)
    assert "签到" in answer.params["text"]
    message_id = max(m for c, m in api.sent if c == MERCHANT)
    api.tap(MERCHANT, MERCHANT, message_id, button(answer, "一步步排查"))
    # issue 15: the flow starts in a message of its own (the answer above stays)
    step = (await api.replies(MERCHANT, 2))[-1]
    assert step.method == "sendMessage" and "排查：" in step.params["text"]


async def test_a_picture_without_text_asks_to_type_the_code(running: RunningBot, api: FakeBotAPI) -> None:
    send_picture(api, MERCHANT, "cat_photo.png")
    [reply] = await api.replies(MERCHANT, 1)
    assert "没认出文字" in reply.params["text"] and "识别到" not in reply.params["text"]


@pytest.mark.parametrize("name, as_file, file_size, expected", [
    ("lcd_03_clean.png", True, 50 * 1024 * 1024, "太大了"),
    ("corrupt.png", True, None, "打不开"),
])
async def test_pictures_that_cannot_be_read_get_a_polite_reply(running: RunningBot, api: FakeBotAPI, name: str,
                                                               as_file: bool, file_size: int | None,
                                                               expected: str) -> None:
    send_picture(api, MERCHANT, name, as_file=as_file, file_size=file_size)
    [reply] = await api.replies(MERCHANT, 1)
    assert expected in reply.params["text"]
    if file_size is not None:
        assert api.of("getFile") == []  # refused before downloading


async def test_a_photo_telegram_no_longer_has_is_asked_for_again(running: RunningBot, api: FakeBotAPI) -> None:
    api.media(MERCHANT, "photo")  # a file id the fake server has no bytes for
    [reply] = await api.replies(MERCHANT, 1)
    assert "没能收到" in reply.params["text"]


async def test_without_ocr_photos_get_the_reply_they_got_before(api: FakeBotAPI, tmp_path: Path,
                                                               engine: Engine) -> None:
    bot = RunningBot(api, tmp_path / "data", engine)
    bot.dispatcher_hooks.append(lambda dispatcher, settings: dispatcher.workflow_data.update(ocr=None))
    await bot.start()
    try:
        send_picture(api, MERCHANT, "lcd_03_clean.png")
        [reply] = await api.replies(MERCHANT, 1)
    finally:
        await bot.stop()
    assert "这个我看不了" in reply.params["text"]
    assert api.of("getFile") == []


async def test_help_mentions_photos_only_where_they_are_read(running: RunningBot, api: FakeBotAPI,
                                                             tmp_path: Path, engine: Engine) -> None:
    api.text(MERCHANT, "/help")
    [with_ocr] = await api.replies(MERCHANT, 1)
    assert "照片" in with_ocr.params["text"]
    await running.stop()
    without = RunningBot(api, tmp_path / "data", engine)
    without.dispatcher_hooks.append(lambda dispatcher, settings: dispatcher.workflow_data.update(ocr=None))
    await without.start()
    try:
        api.text(MERCHANT, "/help")
        replies = await api.replies(MERCHANT, 2)
    finally:
        await without.stop()
    assert "照片" not in replies[-1].params["text"]


# ---- with human support ------------------------------------------------------------------------

async def open_case(api: FakeBotAPI) -> int:
    api.text(MERCHANT, "/human")
    prompt = (await api.replies(MERCHANT, 1))[-1]
    api.tap(MERCHANT, MERCHANT, max(m for c, m in api.sent if c == MERCHANT), button(prompt, "直接转人工"))
    await api.wait_for(lambda: [c for c in api.of("sendMessage", MERCHANT) if "已转人工客服" in c.params["text"]])
    cards = await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if c.params.get("message_thread_id")])
    return int(cards[0].params["message_thread_id"])


async def test_in_a_case_the_photo_goes_to_the_topic_with_what_was_read_under_it(support_bot: RunningBot,
                                                                                 api: FakeBotAPI) -> None:
    topic = await open_case(api)
    said = len(api.of("sendMessage", MERCHANT))
    send_picture(api, MERCHANT, "lcd_03_clean.png")
    notes = await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT) if "图片识别" in c.params["text"]])
    [copy] = [c for c in api.of("copyMessage") if int(c.params["chat_id"]) == SUPPORT]
    assert int(copy.params["message_thread_id"]) == int(notes[0].params["message_thread_id"]) == topic
    assert api.calls.index(copy) < api.calls.index(notes[0])  # the photo first, what was read under it
    assert "交易失败 应答码:03 无效商户" in notes[0].params["text"] and "无效商户" in notes[0].params["text"]
    assert "机器人理解：" in notes[0].params["text"]
    assert len(api.of("sendMessage", MERCHANT)) == said  # the bot stays quiet in a case


async def test_a_photo_with_nothing_on_it_offers_a_human_and_goes_along(support_bot: RunningBot,
                                                                        api: FakeBotAPI) -> None:
    send_picture(api, MERCHANT, "blank_screen.png")
    [prompt] = await api.replies(MERCHANT, 1)
    assert "没认出文字" in prompt.params["text"] and "补充一句" in prompt.params["text"]
    api.tap(MERCHANT, MERCHANT, max(m for c, m in api.sent if c == MERCHANT), button(prompt, "直接转人工"))
    copies = await api.wait_for(lambda: [c for c in api.of("copyMessage") if int(c.params["chat_id"]) == SUPPORT])
    assert copies[0].params["message_thread_id"]


async def test_a_photo_that_cannot_be_read_still_goes_along_with_a_waiting_handoff(support_bot: RunningBot,
                                                                                 api: FakeBotAPI) -> None:
    """The offer waits for a line of detail; a corrupt picture sent then is for the human, not refused."""
    user = 7311
    api.text(user, "/human")
    await api.replies(user, 1)
    send_picture(api, user, "corrupt.png", as_file=True)
    reply = (await api.replies(user, 2))[-1]
    assert "这张图片会一起转给人工客服" in reply.params["text"] and "打不开" not in reply.params["text"]
