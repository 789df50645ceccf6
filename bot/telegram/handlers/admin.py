"""Admins (ADMIN_IDS): commands that show and manage what posbot knows."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import CallbackQuery, Document, Message

from bot.core.errors import ContentError, PosbotError
from bot.core.reply import Option, Reply
from bot.admin import reviewview
from bot.admin.labels import intent_label
from bot.admin.review import Group, add_examples, find, group, start_draft
from bot.storage.questions import QuestionLog
from bot.storage.db import Database
from bot.admin.stats import as_text, compute
from bot.telegram.conversation import chat_of, send, show
from bot.core.holder import DialogHolder
from bot.admin.reload import Reloader, ReloadResult
from bot.admin.uploads import MAX_UPLOAD_BYTES, StaleUpload, Uploads

log = logging.getLogger(__name__)

async def on_version(message: Message, bot: Bot, dialogs: DialogHolder) -> None:
    """Which content is live: version and counts."""
    content = dialogs.dialog.content
    examples = sum(len(i.examples) for i in content.intents)
    text = (f"内容版本 {content.version}\n应答码意图 {len(content.codes)} 个，症状意图 {len(content.symptoms)} 个，"
            f"例句 {examples} 条\n排查流程 {len(content.flows)} 个，话术 {len(content.scripts)} 段")
    await send(bot, message.chat.id, Reply(kind="info", title="当前内容", text=text))


async def on_reload(message: Message, bot: Bot, reloader: Reloader) -> None:
    """Loads intents/ and knowledge/ again; invalid content keeps the old running and says why."""
    result = await reloader.reload()
    await send(bot, message.chat.id, result_reply(result))


def result_reply(result: ReloadResult) -> Reply:
    if not result.ok:
        return Reply(kind="info", title="新内容有错误，仍在使用旧内容",
                     text="\n".join(result.problems[:MAX_PROBLEMS_SHOWN]) + (
                         f"\n…共 {len(result.problems)} 处" if len(result.problems) > MAX_PROBLEMS_SHOWN else ""))
    if not result.changed:
        return Reply(kind="info", title="内容没有变化", text=f"当前版本 {result.version}")
    said = result.changes.lines() or ["只有格式或注释有变化"]
    return Reply(kind="info", title="已加载新内容", text="\n".join([*said, f"版本 {result.version}"]))


async def on_stats(message: Message, bot: Bot, database: Database, dialogs: DialogHolder) -> None:
    """The last 30 days in a few lines (posbot stats has the same), intents by title."""
    stats = await compute(database)
    await send(bot, message.chat.id, Reply(kind="info", title="运营数据", text=as_text(stats, dialogs.dialog.content)))


async def on_upload(message: Message, bot: Bot, uploads: Uploads) -> None:
    """A YAML file from an admin: validated with the rest of the content, shown as a diff, applied
    only after they confirm."""
    document = message.document
    if document is None or not (document.file_name or "").endswith(".yaml"):
        await send(bot, message.chat.id, Reply(kind="info", title="", text="请上传 .yaml 内容文件。"))
        return
    try:
        data = await fetch_upload(bot, document)
    except UploadTooLarge:
        await send(bot, message.chat.id, UPLOAD_TOO_LARGE)
        return
    except UploadNotFetched as error:
        log.warning("upload %r from %s not downloaded: %s", document.file_name, message.chat.id, error)
        await send(bot, message.chat.id, UPLOAD_NOT_RECEIVED)
        return
    try:
        proposal = await asyncio.to_thread(uploads.propose, document.file_name or "", data, message.caption)
    except OSError as error:  # the pending copy could not be written (a full disk)
        log.error("upload %r not kept: %s", document.file_name, error)
        await send(bot, message.chat.id, Reply(kind="info", title="没能保存这个上传，什么都没改",
                                               text=f"写文件失败（{error.strerror or error}）。请检查磁盘空间后再发一次。"))
        return
    except ContentError as error:
        problems = [str(p) for p in error.problems]
        await send(bot, message.chat.id, Reply(kind="info", title="文件没有通过检查，什么都没改",
                                               text="\n".join(problems[:MAX_PROBLEMS_SHOWN])))
        return
    title = f"{'新文件' if proposal.new_file else '修改'} {proposal.target}"
    await send(bot, message.chat.id, Reply(
        kind="script", title=title, text=proposal.diff,
        options=(Option("确认应用", f"{APPLY}:{proposal.token}"), Option("取消", f"{DISCARD}:{proposal.token}"))))


class UploadTooLarge(PosbotError):
    """Larger than any content file (MAX_UPLOAD_BYTES): refused before it is downloaded."""


class UploadNotFetched(PosbotError):
    """getFile was refused or the download failed (the error text is logged, redacted)."""


async def fetch_upload(bot: Bot, document: Document) -> bytes:
    """The file's bytes, its size checked before the download (as Telegram states it on the message,
    then as getFile does), never after."""
    if document.file_size is not None and document.file_size > MAX_UPLOAD_BYTES:
        raise UploadTooLarge(f"{document.file_size} bytes")
    try:
        file = await bot.get_file(document.file_id)
        if file.file_size is not None and file.file_size > MAX_UPLOAD_BYTES:
            raise UploadTooLarge(f"{file.file_size} bytes")
        if file.file_path is None:
            raise UploadNotFetched("getFile gave no file_path")
        data = await bot.download_file(file.file_path)
    except TelegramBadRequest as error:  # "file is too big": over the Bot API's download limit
        raise (UploadTooLarge if "too big" in error.message.lower() else UploadNotFetched)(error.message) from error
    except (TelegramAPIError, aiohttp.ClientError, asyncio.TimeoutError) as error:
        raise UploadNotFetched(str(error) or type(error).__name__) from error
    return data.read() if data is not None else b""


async def on_apply(callback: CallbackQuery, bot: Bot, uploads: Uploads, reloader: Reloader) -> None:
    """Confirmed: write the file (the old one kept for /rollback) and reload; refused when the content
    changed meanwhile so that it no longer fits (another admin's upload, or files edited by hand)."""
    token = (callback.data or "").split(":", 1)[1]
    chat_id = chat_of(callback)
    try:
        target = await asyncio.to_thread(uploads.apply, token)
    except KeyError:
        await callback.answer("这个上传已经处理过或已过期")
        return
    except StaleUpload as error:
        await callback.answer("没有应用")
        await send(bot, chat_id, Reply(kind="info", title="没有应用，什么都没改", text="\n".join(
            (error.reason, *error.problems[:MAX_PROBLEMS_SHOWN]))))
        return
    except OSError as error:  # a full disk: the file written through a temporary one is untouched
        log.error("upload %s not written: %s", token, error)
        await callback.answer("没能写入")
        await send(bot, chat_id, Reply(kind="info", title="没能写入，什么都没改",
                                       text=f"写文件失败（{error.strerror or error}），原来的文件没有动。请检查磁盘空间后再点一次确认。"))
        return
    await callback.answer()
    result = await reloader.reload()
    reply = result_reply(result)
    await send(bot, chat_id, Reply(kind="info", title=f"已写入 {target}；{reply.title}", text=reply.text))


async def on_discard(callback: CallbackQuery, uploads: Uploads) -> None:
    """Cancelled: the pending upload is dropped, nothing changes."""
    await asyncio.to_thread(uploads.discard, (callback.data or "").split(":", 1)[1])
    await callback.answer("已取消，什么都没改")


async def on_rollback(message: Message, bot: Bot, uploads: Uploads, reloader: Reloader) -> None:
    """Restores the file the last applied upload replaced, and reloads."""
    try:
        target = await asyncio.to_thread(uploads.rollback)
    except OSError as error:
        log.error("rollback not written: %s", error)
        await send(bot, message.chat.id, Reply(kind="info", title="没能回滚，什么都没改",
                                               text=f"写文件失败（{error.strerror or error}）。也可以在服务器上运行 posbot rollback。"))
        return
    if target is None:
        await send(bot, message.chat.id, Reply(kind="info", title="", text="没有可以回滚的上传。"))
        return
    reply = result_reply(await reloader.reload())
    await send(bot, message.chat.id, Reply(kind="info", title=f"已恢复 {target}；{reply.title}", text=reply.text))


UPLOAD_TOO_LARGE = Reply(kind="info", title="文件太大，什么都没改", text=(
    f"内容文件不会超过 {MAX_UPLOAD_BYTES // 1024} KB，这个文件没有下载。请检查是不是传错了文件。"))
UPLOAD_NOT_RECEIVED = Reply(kind="info", title="", text="这个文件没能收到，什么都没改。请再发一次。")


async def on_review(message: Message, bot: Bot, questions: QuestionLog, dialogs: DialogHolder, reloader: Reloader,
                    command: CommandObject) -> None:
    """The review inbox as one message, most frequent group first; every action edits it in place.
    `/review 编号 意图` adds a group to any intent typed by id, code or title."""
    groups = await _groups(questions, dialogs)
    content = dialogs.dialog.content
    key, _, typed = (command.args or "").strip().partition(" ")
    if not key:
        await send(bot, message.chat.id, reviewview.card(groups, 0, content))
        return
    chosen = _find(groups, key)
    intent = reviewview.resolve(content, typed)
    if chosen is None or intent is None:
        note = (f"没有编号为 {key} 的一组（可能已经处理过）。" if chosen is None else
                f"找不到意图“{typed.strip()}”：写意图 id（如 printer_problem）、应答码（如 51）或完整标题。")
        await send(bot, message.chat.id, reviewview.card(groups, 0, content, note=note))
        return
    index = groups.index(chosen)
    added, note = await _add(chosen, intent, questions, dialogs, reloader)
    shown = await _groups(questions, dialogs) if added else groups
    await send(bot, message.chat.id, reviewview.card(shown, index, dialogs.dialog.content, note=note))


async def _add(chosen: Group, intent: str, questions: QuestionLog, dialogs: DialogHolder,
               reloader: Reloader) -> tuple[bool, str]:
    """Add the group as examples of `intent` (validated; put back if not) and reload: whether it
    was added, and what to tell the admin."""
    content = dialogs.dialog.content
    texts = [q.question for q in chosen.questions]
    try:
        await asyncio.to_thread(add_examples, content, intent, texts)
    except ContentError as error:
        problems = "\n".join([getattr(error, "reason", ""), *(str(p) for p in error.problems[:REVIEW_PROBLEMS_SHOWN])])
        return False, f"没有加入：{problems}"
    await questions.mark(chosen.ids, "added")
    result = await reloader.reload()
    return True, f"已把 {len(texts)} 个问题加为“{intent_label(content, intent)}”的例句。{result_reply(result).title}。"


async def _groups(questions: QuestionLog, dialogs: DialogHolder) -> list[Group]:
    return await asyncio.to_thread(group, await questions.inbox(), dialogs.dialog.engine.matcher)


def _find(groups: list[Group], key: str) -> Group | None:
    """By stable key; a button from before keys existed carried a question id, found too."""
    found = find(groups, key)
    if found is None and key.isdigit():
        found = next((g for g in groups if int(key) in g.ids), None)
    return found


async def on_review_action(callback: CallbackQuery, bot: Bot, questions: QuestionLog, dialogs: DialogHolder,
                           reloader: Reloader) -> None:
    """A tapped review button: navigate (a group, the intent kinds, a page of intents) or act (add,
    ignore, draft); the same message shows the outcome and the next group, its old buttons gone."""
    kind, key, *rest = (callback.data or "").split(":") + [""]
    content = dialogs.dialog.content
    groups = await _groups(questions, dialogs)
    chosen = _find(groups, key)
    message = callback.message if isinstance(callback.message, Message) else None
    chat_id = chat_of(callback)
    if chosen is None:
        await callback.answer("这一组已经处理过了")
        await show(bot, message, chat_id, reviewview.card(groups, 0, content, note="这一组已经处理过了。"))
        return
    index = groups.index(chosen)
    if kind == reviewview.SHOW:
        await callback.answer()
        await show(bot, message, chat_id, reviewview.card(groups, index, content))
        return
    if kind == reviewview.KINDS_MENU:
        await callback.answer()
        await show(bot, message, chat_id, reviewview.kinds(chosen, content))
        return
    if kind == reviewview.LIST:
        await callback.answer()
        page = int(rest[1]) if len(rest) > 1 and rest[1].isdigit() else 0
        await show(bot, message, chat_id, reviewview.intents_page(chosen, content, rest[0], page))
        return
    texts = [q.question for q in chosen.questions]
    if kind == reviewview.IGNORE:
        await questions.mark(chosen.ids, "ignored")
        note = f"已忽略编号 {chosen.key}（{len(texts)} 次），以后不再出现。"
    elif kind == reviewview.NEW:
        path = await asyncio.to_thread(start_draft, content.root, f"draft_{chosen.key}", texts)
        await questions.mark(chosen.ids, "new")
        note = (f"新意图草稿已写到 {path.relative_to(content.root)}：补全 id、标题、回答和步骤后移到 "
                "intents/symptoms/，再 /reload。")
    else:
        added, note = await _add(chosen, rest[0], questions, dialogs, reloader)
        if not added:
            await callback.answer("没有加入")
            await show(bot, message, chat_id, reviewview.card(groups, index, content, note=note))
            return
        content = dialogs.dialog.content
    await callback.answer(note.split("。")[0][:MAX_CALLBACK_TEXT])
    remaining = await _groups(questions, dialogs)
    await show(bot, message, chat_id, reviewview.card(remaining, index, content, note=note))


async def on_refused(message: Message, bot: Bot) -> None:
    """An admin command from someone who is not an admin: refused, and logged."""
    user = message.from_user.id if message.from_user else None
    log.warning("user %s tried admin command %r", user, (message.text or "").split()[0])
    await send(bot, message.chat.id, Reply(kind="info", title="", text="这个命令只有管理员能用。"))


ADMIN_COMMANDS = (("reload", "重新加载内容"), ("review", "没看懂的问题"), ("rollback", "撤销上一次上传"),
                  ("stats", "运营数据"), ("version", "当前内容版本和数量"))
APPLY, DISCARD = "upok", "upno"
REVIEW_PROBLEMS_SHOWN = 5
"""Problems shown under a refused add: the card is one message (4,096 characters), edited in place."""
MAX_CALLBACK_TEXT = 200
"""answerCallbackQuery shows at most 200 characters."""
MAX_PROBLEMS_SHOWN = 30


def create_router(admin_ids: tuple[int, ...]) -> Router:
    """Only messages from ADMIN_IDS reach these handlers; anyone else using an admin command is
    refused by the second router."""
    router = Router(name="admin")
    admins = Router(name="admin-commands")
    admins.message.filter(F.from_user.id.in_(set(admin_ids)))
    admins.message.register(on_version, Command("version"))
    admins.message.register(on_reload, Command("reload"))
    admins.message.register(on_stats, Command("stats"))
    admins.message.register(on_rollback, Command("rollback"))
    admins.message.register(on_review, Command("review"))
    admins.message.register(on_upload, F.document, F.chat.type == ChatType.PRIVATE)
    admins.callback_query.filter(F.from_user.id.in_(set(admin_ids)))
    admins.callback_query.register(on_apply, F.data.startswith(APPLY + ":"))
    admins.callback_query.register(on_discard, F.data.startswith(DISCARD + ":"))
    admins.callback_query.register(on_review_action, F.data.startswith(reviewview.PREFIXES))
    refusals = Router(name="admin-refusals")
    refusals.message.register(on_refused, Command(*(name for name, _ in ADMIN_COMMANDS)))
    router.include_routers(admins, refusals)
    return router
