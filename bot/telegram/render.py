"""A core Reply as Telegram HTML text (split within the message limit) and an inline keyboard; the
splitter every outgoing text goes through."""

from __future__ import annotations

import re
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


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units, so an emoji or a rare CJK character is 2."""
    return len(text.encode("utf-16-le")) // 2


_TOKENS = re.compile(r"(?P<tag></?(?P<name>[a-zA-Z][\w-]*)[^>]*>)|(?P<entity>&(?:#\d+|#x[0-9a-fA-F]+|\w+);)|.",
                     re.DOTALL)


@dataclass(frozen=True)
class _Token:
    raw: str
    tag: str = ""
    """The tag's name for tags ("" for text); `closing` tells </b> from <b>."""
    closing: bool = False
    units: int = 0
    """Visible UTF-16 code units: 0 for a tag, 1 for an entity (&lt;), 1 or 2 for a character."""


def _tokens(html: str) -> list[_Token]:
    tokens = []
    for match in _TOKENS.finditer(html):
        raw = match.group()
        if match.group("tag"):
            tokens.append(_Token(raw, tag=match.group("name").lower(), closing=raw.startswith("</")))
        else:
            tokens.append(_Token(raw, units=1 if match.group("entity") else utf16_length(raw)))
    return tokens


def split(html: str, limit: int = MESSAGE_LIMIT) -> tuple[str, ...]:
    """The one splitter for every outgoing text: Telegram HTML cut into messages Telegram accepts.

    Each chunk holds at most `limit` visible UTF-16 code units (Telegram's count: tags are not
    counted, an entity such as &lt; is one character, an emoji two); it is cut at its last line
    break, or hard between two characters when a single line is longer, never inside a tag or an
    entity. Tags open at a cut are closed at the end of that chunk and opened again at the start of
    the next, so every chunk is balanced (a long <blockquote> stays a quote in every piece).
    """
    tokens = _tokens(html)
    chunks: list[str] = []
    carried: list[_Token] = []  # opening tags still open where the previous chunk was cut
    start = 0
    while start < len(tokens):
        open_tags = list(carried)
        units, index, line_break = 0, start, None
        while index < len(tokens):
            token = tokens[index]
            if token.tag and token.closing:
                at = next((n for n in range(len(open_tags) - 1, -1, -1) if open_tags[n].tag == token.tag), None)
                if at is not None:
                    del open_tags[at]
            elif token.tag:
                open_tags.append(token)
            else:
                if units + token.units > limit:
                    break
                units += token.units
                if token.raw == "\n" and index > start:
                    line_break = (index, list(open_tags))
            index += 1
        if index == len(tokens):
            end, next_start, still_open = index, index, open_tags
        elif line_break is not None:
            end, still_open = line_break
            next_start = end + 1  # the line break itself is not sent
        else:
            end, still_open = max(index, start + 1), open_tags
            next_start = end
        body = "".join(token.raw for token in tokens[start:end])
        chunk = "".join(tag.raw for tag in carried) + body + "".join(f"</{tag.tag}>" for tag in reversed(still_open))
        if _visible(chunk).strip():  # Telegram refuses an empty message
            chunks.append(chunk)
        carried, start = still_open, next_start
    return tuple(chunks) or ("",)


def _visible(html: str) -> str:
    return "".join(token.raw for token in _tokens(html) if not token.tag)
