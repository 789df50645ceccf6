"""A core Reply as Telegram HTML text (split within the message limit) and an inline keyboard."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.dialog import BACK, HUMAN, MENU, RESTART
from bot.core.reply import Option, Reply

MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
_FOOTER_ACTIONS = (BACK + ":", RESTART + ":", HUMAN, MENU)
"""上一步 / 重新开始 / 转人工 / 菜单 share the last keyboard row; choices get a row each."""


@dataclass(frozen=True)
class Rendered:
    chunks: tuple[str, ...]
    keyboard: InlineKeyboardMarkup | None


def render(reply: Reply) -> Rendered:
    """Everything that came from content or the user is escaped; the keyboard goes on the last chunk."""
    lines: list[str] = [escape(reply.preface, quote=False)] if reply.preface else []
    if reply.title:
        lines.append(f"<b>{escape(reply.title, quote=False)}</b>")
    body = [escape(line, quote=False) for line in reply.text.splitlines()]
    if reply.kind == "script" and body:
        lines.append("<blockquote>" + "\n".join(body) + "</blockquote>")
    else:
        lines.extend(body)
    return Rendered(split("\n".join(lines)), keyboard(reply.options))


def keyboard(options: tuple[Option, ...]) -> InlineKeyboardMarkup | None:
    if not options:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    footer: list[InlineKeyboardButton] = []
    for option in options:
        data = option.action
        if len(data.encode()) > CALLBACK_DATA_LIMIT:  # guarded by the content schema; never send a broken button
            continue
        button = InlineKeyboardButton(text=option.label, callback_data=data)
        if data.startswith(_FOOTER_ACTIONS):
            footer.append(button)
        else:
            rows.append([button])
    if footer:
        rows.append(footer)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def split(text: str, limit: int = MESSAGE_LIMIT) -> tuple[str, ...]:
    """Cut at line breaks so each piece fits one message; a single over-long line is cut hard,
    never inside an HTML entity or tag."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        while len(line) > limit:
            cut = _safe_cut(line, limit)
            chunks.append(line[:cut])
            line = line[cut:]
        current = line
    if current or not chunks:
        chunks.append(current)
    return tuple(chunks)


def _safe_cut(line: str, limit: int) -> int:
    cut = limit
    for opener, closer in (("&", ";"), ("<", ">")):
        start = line.rfind(opener, 0, cut)
        if start != -1 and line.find(closer, start) >= cut:
            cut = start
    return cut if cut > 0 else limit
