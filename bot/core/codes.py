"""Find terminal response codes (银联 field 39: 03, 51, A0 …) in what a merchant typed.

Chinese has no word boundaries, so `\\b` is useless here: a code is a run of ASCII letters and digits
judged by its neighbours. Dates, times, amounts, counts, phone and card numbers are rejected by the
characters around them ("2024年03月", "12:03", "300元", "0.01", "刷了10次").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Collection

_RUN = re.compile(r"[0-9a-z]+")
UNITS = frozenset("元块毛角分万千百月日号点秒年岁个张次笔天台位米度周斤件瓶份人遍纸寸倍折卷盒包箱条根把只节页部家期趟回单%"
                  "路楼层栋多")
"""A number followed by one of these is a quantity, not a code (also a bus line, a floor: "51路", "3楼"; and
an approximate count: "30多岁")."""
NUMERIC_JOINERS = frozenset(".:/-,*x×")
"""Between two digits these make a decimal, a time, a date, a range or a size (57*50 paper)."""
BEFORE_QUANTITY = frozenset("第年月¥$+")
LATIN_UNITS = ("mm", "cm", "km", "kg", "ml", "mah", "gb", "mb", "kb", "hz", "kw")
"""Units written in Latin letters: "57mm的纸", "5000mah" are sizes, not codes."""
_ENGLISH_UNIT = re.compile(r" ?(months?|times?|days?|hours?|hrs?|mins?|minutes?|weeks?|years?|yuan|rmb|pcs|bucks?)"
                           r"(?![a-z])")
"""English counts and amounts ("installment 12 months", "swiped 3 times", "51 yuan")."""
MODEL_AFTER = ("型号", "的型号", "机型", "的机型")
"""A run right before these names a terminal model ("机器是A8的型号"), not a code."""
AMOUNT_AFTER = ("流量费", "年费", "服务费", "手续费", "管理费", "押金", "激活费", "块钱", "多块", "来块", "乘", "除以",
                "加上", "减去", "等于")
"""A number right before one of these is an amount ("每年扣我99流量费") or arithmetic ("96乘以51")."""
ARITHMETIC = frozenset("加减乘除+")
"""Between two numbers these make a sum ("51加51", "96+51"): amounts, not codes."""
CLOCK = frozenset("点时")
"""A number right after digits and one of these is the minutes of a time ("10点51", "3点20")."""
NOT_CODE_AFTER = ("操作员", "员工号", "工号", "尾号", "型号", "号码", "编号", "店号", "扣", "收", "付", "花", "退",
                  "转", "刷了", "充", "乘", "乘以", "除以", "加", "减", "终端号", "商户号", "手机号", "电话", "卡号",
                  "订单号", "流水号", "批次号", "凭证号", "参考号", "金额", "一共", "总共", "共", "消费了", "买了",
                  "卖了", "价格", "单价", "差", "欠", "找", "还剩", "剩", "余额", "少", "多", "多扣", "多收", "少到",
                  "流量费", "年费", "服务费", "手续费", "扣我", "扣了我", "收我", "收了我", "要我", "交", "输", "输入",
                  "密码", "登录", "考了", "考", "分数", "成绩", "语文", "数学", "英语", "总分")
"""A number right after these is an operator number, a card tail, a model or an amount
("操作员01", "刷一万扣60", "我输01和密码"), or a mark in an exam ("英语95"), not a code, unless a cue word stands between them."""
CHINESE_DIGITS = str.maketrans("零〇一二三四五六七八九", "00123456789")
CUES = ("错误码", "返回码", "应答码", "响应码", "代码", "码", "报错", "报", "显示", "提示", "出现", "返回",
        "错误", "出", "跳")
"""Words merchants put right before a code; a cue lets a single digit ("报3") count as "03"."""
MAX_VENDOR_CODE = 5
_SPOKEN_CODE = re.compile("(" + "|".join(CUES) + ")([零〇一二三四五六七八九]{2})(?![零〇一二三四五六七八九十百千万])")


@dataclass(frozen=True)
class CodeHit:
    """A code found in the text. `known` is False for vendor codes such as S3 or E001."""

    code: str
    start: int
    end: int
    known: bool
    cued: bool


def find_codes(text: str, known: Collection[str]) -> list[CodeHit]:
    """Codes in `text` (already width/case folded by `normalise.prepare`), in order, without repeats.

    A two-character run is a code when it is in `known` and its neighbours do not make it a
    quantity. A single character counts only right after a cue ("报3" -> "03") or when two single
    characters are split by a space ("5 1" -> "51"). An unknown letter-digit run right after a cue
    ("显示E001") is reported with known=False so the bot can say it is a vendor code.
    """
    text = _chinese_digits_after_cues(text)
    runs = list(_RUN.finditer(text))
    listed = _listed(text, runs)
    hits: list[CodeHit] = []
    quantities: set[str] = set()
    skip = -1
    for index, run in enumerate(runs):
        if index <= skip:
            continue
        value, start, end = run.group(), run.start(), run.end()
        if _is_quantity(text, start, end):
            quantities.add(value.upper())
            continue
        cued = _cued(text, start)
        if listed and not cued:
            continue  # a message listing numbers is about numbers: its bare ones are data too ("…31 蓝球09")
        if len(value) == 1:
            nxt = runs[index + 1] if index + 1 < len(runs) else None
            if (nxt is not None and len(nxt.group()) == 1 and text[end:nxt.start()].isspace()
                    and not _in_chain(text, runs, index)):
                joined = (value + nxt.group()).upper()
                if joined in known and not _is_quantity(text, start, nxt.end()):
                    hits.append(CodeHit(joined, start, nxt.end(), True, cued))
                    skip = index + 1
                    continue
            if cued and value.isdigit() and ("0" + value) in known:
                hits.append(CodeHit("0" + value, start, end, True, True))
            continue
        code = value.upper()
        if len(value) == 2 and code in known:
            hits.append(CodeHit(code, start, end, True, cued))
        elif (cued and len(value) <= MAX_VENDOR_CODE and re.search(r"[a-z]", value)
              and re.search(r"[0-9]", value)):
            hits.append(CodeHit(code, start, end, False, True))
    unique: list[CodeHit] = []
    for hit in hits:
        # the same number already said as an amount ("刷了51块 … 51加51") is that amount again, unless
        # a cue says it is shown on the screen ("刷了51块 显示51")
        if hit.code in quantities and not hit.cued:
            continue
        if all(hit.code != seen.code for seen in unique):
            unique.append(hit)
    return unique


def _chinese_digits_after_cues(text: str) -> str:
    """"报零三" -> "报03": two Chinese digits right after a cue are a code read aloud. Same length,
    so positions in the result are positions in the text."""
    def convert(match: re.Match[str]) -> str:
        return match.group(1) + match.group(2).translate(CHINESE_DIGITS)
    return _SPOKEN_CODE.sub(convert, text)


def _is_quantity(text: str, start: int, end: int) -> bool:
    window = text[max(0, start - 6):start].rstrip(" :=")
    if window.endswith(NOT_CODE_AFTER) or window.rstrip("了").endswith(NOT_CODE_AFTER):
        return True
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    after2 = text[end + 1] if end + 1 < len(text) else ""
    before2 = text[start - 2] if start > 1 else ""
    if after in UNITS or before in BEFORE_QUANTITY:
        return True
    if after in "一/" and after2 in UNITS:
        return True  # a price per unit: "68一斤", "30/斤"
    if text[end:end + 4].lstrip("的").startswith(AMOUNT_AFTER) or text[end:end + 3].lower().startswith(LATIN_UNITS):
        return True
    if _ENGLISH_UNIT.match(text, end) or text[end:end + 4].startswith(MODEL_AFTER):
        return True
    if after in ARITHMETIC and after2.isdigit():
        return True
    if after in NUMERIC_JOINERS and after2.isdigit():
        return True
    if before in NUMERIC_JOINERS and before2.isdigit():
        return True
    if before in CLOCK and (before2.isdigit() or before2 in "零〇一二三四五六七八九十两"):
        return True
    return False


LIST_SEPARATORS = frozenset(" ,，、;；")
LISTED = 3
"""This many numbers or more in a row, split only by spaces or commas, are a list (lottery numbers, amounts,
"03 07 12 19 25"): none of them is a code unless a cue stands right before it. The same number
typed again and again ("51 51 51") is not a list. In a message with a list, no bare number is a code."""


def _listed(text: str, runs: list[re.Match[str]]) -> set[int]:
    """Indices of the number runs that are part of a list of LISTED or more."""
    listed: set[int] = set()
    chain: list[int] = []
    for index, run in enumerate(runs):
        numeric = run.group().isdigit()
        joined = bool(chain) and numeric and all(char in LIST_SEPARATORS
                                                 for char in text[runs[chain[-1]].end():run.start()])
        if joined:
            chain.append(index)
            continue
        listed.update(_a_list(runs, chain))
        chain = [index] if numeric else []
    listed.update(_a_list(runs, chain))
    return listed


def _a_list(runs: list[re.Match[str]], chain: list[int]) -> list[int]:
    """`chain` if it holds LISTED different numbers ("51 51 51" is one code typed three times)."""
    return chain if len({runs[index].group() for index in chain}) >= LISTED else []


def _cued(text: str, start: int) -> bool:
    window = text[max(0, start - 6):start].rstrip(" :=是为【[(\"'“")
    return window.endswith(CUES)


def _in_chain(text: str, runs: list[re.Match[str]], index: int) -> bool:
    """True when single characters continue before or after the pair ("1 2 3 4"): not a code."""
    if index > 0 and text[runs[index - 1].end():runs[index].start()].isspace():
        return True
    if index + 2 < len(runs) and text[runs[index + 1].end():runs[index + 2].start()].isspace():
        return True
    return False
