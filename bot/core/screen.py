"""Text read off a photo of a POS screen or slip, cleaned so the typed-text path can understand it.

OCR makes its own mistakes, different from a merchant's typos: a zero read as the letter O ("AO" for
A0), one as l or I, a space inside a code, a code glued to the word after it ("AOMAC校验错"). Those are
repaired only where a code stands — after a label (应答码, 返回码 …), inside brackets, alone on a line
or at its start — and only when the repair gives a known code, so ordinary words (OK, IC, POS) are
never turned into codes. Screens and slips also carry text that is not the question: buttons (确定),
key hints (按确认键返回) and slip fields whose numbers look like codes (操作员号:01). Pure text in, pure
text out; the OCR itself lives in bot/ocr.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import partial
from typing import Collection, Iterable

from bot.core.codes import find_codes
from bot.core.normalise import prepare
from bot.core.cards import mask_card_numbers

LABELS = ("应答码", "返回码", "错误码", "响应码", "错误代码", "错误号", "代码")
"""Screen labels a response code follows ("应答码:51"); longest first in the pattern below."""
TO_ZERO = "Oo"
TO_ONE = "lI|i!"
"""Glyphs OCR confuses with 0 and 1 in the fonts terminals use."""
GLUED_WORDS = ("MAC", "PIN")
"""Latin words a screen prints right after a code ("A0 MAC校验错") that OCR glues to it."""
CHROME = frozenset({"提示", "确定", "确认", "取消", "返回", "错误", "警告", "消费", "ok", "pos签购单", "签购单",
                    "商户存根", "持卡人存根", "银行存根", "交易凭条"})
"""Lines that are buttons or titles and say nothing about the problem."""
_KEY_HINT = re.compile(r"^请?按.{0,4}键.{0,6}$")
"""按确认键返回, 请按任意键继续 …: a whole line that only says which key to press."""
FAILED = "交易失败"
"""On every failure screen; once a code is found it adds nothing (and would offer 只显示交易失败)."""
FIELDS = ("商户编号", "商户号", "终端编号", "终端号", "操作员号", "操作员", "卡号", "批次号", "凭证号", "流水号",
          "参考号", "检索参考号", "授权码", "授权号", "日期时间", "日期", "时间", "有效期", "交易金额", "金额",
          "序列号", "版本号", "电话")
"""Slip and screen fields whose values are numbers, dates or amounts, never codes."""
TEXT_FIELDS = ("商户名称", "交易类型", "发卡行", "收单行", "卡类型", "卡组织")
"""Slip fields whose values are words (a shop name, 消费); they say nothing about the failure."""
SHOWN_CHARS = 80
"""How much of what was read is quoted back to the merchant (a phone screen's two lines)."""

_CODE_CHAR = f"0-9A-Za-z{re.escape(TO_ONE)}"
_TOKEN = rf"[{_CODE_CHAR}] ?[{_CODE_CHAR}]|[{_CODE_CHAR}]"
_END = r"(?![0-9A-Za-z])"
_AFTER_LABEL = re.compile(rf"(?P<lead>(?:{'|'.join(sorted(LABELS, key=len, reverse=True))})\s*[:=]?\s*[(\[【]?\s*)"
                          rf"(?P<token>{_TOKEN}){_END}", re.IGNORECASE)
_BRACKETED = re.compile(rf"(?P<lead>[(\[【]\s*)(?P<token>{_TOKEN})(?=\s*[)\]】])")
_LINE_START = re.compile(rf"^(?P<lead>\s*)(?P<token>[{_CODE_CHAR}]{{2}})(?=$|[\s\-:.、]|[^\x00-\x7f])")
"""At a line's start only two characters side by side: "1 2 3" is a list, not code 12."""
_GLUED = re.compile(rf"(?<![0-9A-Za-z])(?P<token>[0-9A-Za-z]{{2}})(?P<word>{'|'.join(GLUED_WORDS)})(?![A-Za-z])",
                    re.IGNORECASE)
_FIELD = re.compile(rf"(?:{'|'.join(sorted(FIELDS, key=len, reverse=True))})\s*[:=]\s*[0-9A-Za-z*/.:\-]+"
                    rf"(?:[ /][0-9*][0-9*/.:\-]*)*")
"""A field needs its colon: "无效卡号 14" is a code after a description, "卡号:6222…" a field."""
_TEXT_FIELD = re.compile(rf"(?:{'|'.join(TEXT_FIELDS)})\s*[:=]\s*[^\s:]*?(?=交易|应答|返回|错误|响应|\s|$)")


@dataclass(frozen=True)
class ScreenLine:
    """One line of text as OCR read it, with its confidence (0..1)."""

    text: str
    confidence: float = 1.0


@dataclass(frozen=True)
class Screen:
    """What posbot takes from a photo: the lines that matter, cleaned."""

    lines: tuple[ScreenLine, ...]
    text: str
    """What goes through the typed-text path (lines joined by spaces)."""
    shown: str
    """What is quoted back to the merchant ("识别到：…"): short, card numbers masked."""

    def confidence_of(self, code: str, known: Collection[str]) -> float | None:
        """The lowest confidence of the lines `code` was read from; None if no line holds it."""
        found = [line.confidence for line in self.lines
                 if any(hit.code == code for hit in find_codes(prepare(line.text), known))]
        return min(found) if found else None


def read_screen(lines: Iterable[ScreenLine], known: Collection[str]) -> Screen:
    """Clean OCR lines: repair codes in code positions, drop buttons, key hints and slip fields."""
    kept: list[ScreenLine] = []
    for line in lines:
        text = clean_line(line.text, known)
        if text and not _is_chrome(text):
            kept.append(ScreenLine(text, line.confidence))
    joined = " ".join(line.text for line in kept)
    has_code = any(hit.known for hit in find_codes(prepare(joined), known))
    text = " ".join(joined.replace(FAILED, " ").split()) if has_code else joined
    shown = mask_card_numbers(joined)
    if len(shown) > SHOWN_CHARS:
        shown = shown[:SHOWN_CHARS - 1] + "…"
    return Screen(tuple(kept), text, shown)


def clean_line(text: str, known: Collection[str]) -> str:
    """One line: width folding (full-width colons, letters), slip fields out, codes repaired."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _FIELD.sub(" ", text)
    text = _TEXT_FIELD.sub(" ", text)
    text = _GLUED.sub(lambda m: _split_glued(m, known), text)
    for pattern, letters_need_zero in ((_AFTER_LABEL, False), (_BRACKETED, True), (_LINE_START, True)):
        text = pattern.sub(partial(_repair, known=known, letters_need_zero=letters_need_zero), text)
    return " ".join(text.split())


def repair_code(token: str, known: Collection[str], *, letters_need_zero: bool = False) -> str | None:
    """The known code an OCR token stands for ("AO" -> "A0", "5l" -> "51", "5 1" -> "51"), or None.

    With `letters_need_zero`, a token of letters only must hold an O read for a zero: outside a
    label, "AI" or "Il" are more likely words than codes, while "AO" is A0 on a worn screen.
    """
    raw = token.replace(" ", "")
    if len(raw) == 1:
        return None  # a single digit after a label is find_codes' business ("报3" -> "03")
    if letters_need_zero and raw.isalpha() and not any(c in TO_ZERO for c in raw):
        return None
    fixed = "".join("0" if c in TO_ZERO else "1" if c in TO_ONE else c for c in raw).upper()
    if not fixed.isalnum() or not fixed.isascii():
        return None
    return fixed if fixed in known else None


def _repair(match: re.Match[str], known: Collection[str], *, letters_need_zero: bool) -> str:
    code = repair_code(match.group("token"), known, letters_need_zero=letters_need_zero)
    if code is None or code == match.group("token"):
        return match.group()
    return match.group("lead") + code


def _split_glued(match: re.Match[str], known: Collection[str]) -> str:
    code = repair_code(match.group("token"), known, letters_need_zero=True)
    return f"{code} {match.group('word')}" if code is not None else match.group()


def _is_chrome(text: str) -> bool:
    bare = re.sub(r"[\s\W_]+", "", text).lower()
    return not bare or bare in CHROME or bool(_KEY_HINT.match(bare))
