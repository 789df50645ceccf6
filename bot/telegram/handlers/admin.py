"""Admins (ADMIN_IDS): commands that show and manage what posbot knows."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.core.reply import Reply
from bot.telegram.conversation import send
from bot.telegram.deps import DialogHolder

async def on_version(message: Message, bot: Bot, dialogs: DialogHolder) -> None:
    """Which content is live: version and counts."""
    content = dialogs.dialog.content
    examples = sum(len(i.examples) for i in content.intents)
    text = (f"内容版本 {content.version}\n应答码意图 {len(content.codes)} 个，症状意图 {len(content.symptoms)} 个，"
            f"例句 {examples} 条\n排查流程 {len(content.flows)} 个，话术 {len(content.scripts)} 段")
    await send(bot, message.chat.id, Reply(kind="info", title="当前内容", text=text))


ADMIN_COMMANDS = (("version", "当前内容版本和数量"),)


def create_router(admin_ids: tuple[int, ...]) -> Router:
    """Only messages from ADMIN_IDS reach these handlers; others fall through to the merchant router."""
    router = Router(name="admin")
    router.message.filter(F.from_user.id.in_(set(admin_ids)))
    router.message.register(on_version, Command("version"))
    return router
