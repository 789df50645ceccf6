"""Merchants' photos of the terminal's screen or slip: read by OCR off the event loop, then answered
as if the merchant had typed what is on them.

Without the ocr extra `ocr` is None in the dispatcher data, these handlers never match, and the
merchant router answers photos as before (please type the code, or a human with the photo attached).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from aiogram import Bot, Dispatcher, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import BaseFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Document, Message, PhotoSize
from aiogram.utils.chat_action import ChatActionSender

from bot.core.reply import Reply
from bot.core.screen import ScreenLine, read_screen
from bot.ocr import ImageTooLarge, OcrBusy, OcrError, OcrUnavailable, OcrWorker, Reading, ocr_available
from bot.ocr.reader import MAX_BYTES
from bot.storage.recipients import BlockedChats
from bot.telegram.conversation import TYPING_AFTER
from bot.core.holder import DialogHolder
from bot.telegram.handlers import case, merchant
from bot.telegram.handoff import Handoff
from bot.turn.inputs import Screen
from bot.turn.service import UNSUPPORTED, TurnService

log = logging.getLogger(__name__)

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif"})
"""Documents read as pictures (what bot.ocr decodes); anything else is not a photo of a screen."""
PHOTO_SIDE = 1280
"""Telegram keeps each photo in several sizes; the smallest at least this big is fetched (OCR scales
larger ones down to this anyway)."""

TOO_LARGE = Reply(kind="info", title="", text=(
    f"这张图片太大了（超过 {MAX_BYTES // 1024 // 1024} MB），我读不了。请直接发照片（不要选“以文件发送”），"
    "或者把屏幕上的应答码打给我。"))
UNREADABLE = Reply(kind="info", title="", text=(
    "这个图片文件打不开，可能损坏了或格式不支持。请重新拍一张照片发给我，或者把屏幕上的应答码打给我。"))
BUSY = Reply(kind="info", title="", text="现在要看的图片有点多，请过一会儿再发，或者直接把屏幕上的应答码打给我。")
NOT_RECEIVED = Reply(kind="info", title="", text="这张图片没能收到，请再发一次，或者直接把屏幕上的应答码打给我。")


class NotFetched(OcrError):
    """The picture could not be fetched from Telegram (getFile refused, or the download failed)."""


REFUSALS = {ImageTooLarge: TOO_LARGE, OcrBusy: BUSY, OcrUnavailable: UNSUPPORTED, NotFetched: NOT_RECEIVED}


class Picture(BaseFilter):
    """A photo, or an image sent as a file, in a private chat, when OCR is on; passes the file to
    fetch as `picture`."""

    async def __call__(self, message: Message, ocr: OcrWorker | None = None) -> bool | dict[str, Any]:
        if ocr is None or message.chat.type != ChatType.PRIVATE:
            return False
        if message.photo:
            sizes = sorted(message.photo, key=lambda size: size.width * size.height)
            return {"picture": next((s for s in sizes if max(s.width, s.height) >= PHOTO_SIDE), sizes[-1])}
        if message.document is not None and (message.document.mime_type or "").lower() in IMAGE_TYPES:
            return {"picture": message.document}
        return False


async def on_picture(message: Message, bot: Bot, state: FSMContext, picture: PhotoSize | Document, ocr: OcrWorker,
                     turns: TurnService, dialogs: DialogHolder, blocked: BlockedChats,
                     handoff: Handoff | None = None) -> None:
    """A photo of the screen: "识别到：…", then the answer as if typed, or the codes to pick from.
    Nothing read: please type it (with a support group, a human with the photo attached)."""
    await blocked.clear(message.chat.id)
    lines: tuple[ScreenLine, ...] = ()
    refused: Reply | None = None
    try:
        lines = (await read(bot, message.chat.id, picture, ocr)).lines
    except OcrError as error:
        log.info("photo from chat %s not read: %s: %s", message.chat.id, type(error).__name__, error)
        refused = REFUSALS.get(type(error), UNREADABLE)
    event = Screen(lines, caption=message.caption or "", media=merchant.attachment(message), refused=refused)
    await merchant.take_turn(event, message, bot, state, turns, dialogs, handoff)


async def on_case_picture(message: Message, bot: Bot, handoff: Handoff, ticket, picture: PhotoSize | Document,
                          ocr: OcrWorker, dialogs: DialogHolder) -> None:
    """A photo from a merchant whose case is open: relayed to the topic like everything else, then
    what was read on it, as a note for staff. The bot says nothing to the merchant."""
    await handoff.relay_to_support(bot, ticket, message, dialogs.dialog.content)
    try:
        reading = await read(bot, None, picture, ocr)
    except OcrError as error:
        log.info("photo for ticket %s not read: %s: %s", ticket.id, type(error).__name__, error)
        return
    engine = dialogs.dialog.engine
    screen = read_screen(reading.lines, engine.matcher.known_codes)
    if not screen.text:
        return
    decision = engine.understand(screen.text).decision
    understood = f"\n机器人理解：{engine.content.by_id[decision.intent].title}" if decision.intent else ""
    await handoff.notice(bot, ticket, f"📷 图片识别：{screen.shown}{understood}")


async def read(bot: Bot, chat_id: int | None, picture: PhotoSize | Document, ocr: OcrWorker) -> Reading:
    """Fetch the picture and read it in the OCR thread, with "typing…" in `chat_id` meanwhile."""
    if picture.file_size is not None and picture.file_size > ocr.max_bytes:
        raise ImageTooLarge(f"{picture.file_size} bytes")
    if chat_id is None:
        return await ocr.read(await download(bot, picture))
    async with ChatActionSender.typing(bot=bot, chat_id=chat_id, initial_sleep=TYPING_AFTER):
        return await ocr.read(await download(bot, picture))


async def download(bot: Bot, picture: PhotoSize | Document) -> bytes:
    try:
        data = await bot.download(picture)
    except TelegramBadRequest as error:  # "file is too big": over the Bot API's 20 MB download limit
        if "too big" in error.message.lower():
            raise ImageTooLarge(error.message) from error
        raise NotFetched(error.message) from error
    except (TelegramAPIError, aiohttp.ClientError, asyncio.TimeoutError) as error:
        raise NotFetched(str(error) or type(error).__name__) from error
    return data.read() if data is not None else b""


def attach(dispatcher: Dispatcher) -> None:
    """Give handlers `ocr`: an OcrWorker with the ocr extra installed, else None. Its thread stops
    with the dispatcher; the models load with the first photo."""
    worker = OcrWorker() if ocr_available() else None
    dispatcher["ocr"] = worker
    if worker is not None:
        async def stop_reading() -> None:
            worker.close()

        dispatcher.shutdown.register(stop_reading)


def create_router() -> Router:
    """Before the case and merchant routers: a photo in an open case is relayed and read for staff;
    any other photo is read and answered."""
    router = Router(name="photos")
    router.message.register(on_case_picture, Picture(), case.InCase())
    router.message.register(on_picture, Picture())
    return router
