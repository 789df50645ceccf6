"""Details a merchant already gave: amount, time, card's last 4 digits, card type, terminal type and
whether the customer was charged.

Scripts are filled from these so the merchant does not retype them (anything missing is left as a
clear blank), and flow steps that declare `answered_by:` a detail are skipped when it is known
(bot/core/context.py). Full card numbers never survive: `mask_card_numbers` (bot.core.cards) runs
before text is kept. The response code and the symptom are context too, but they come from the
matcher (bot/core/context.py), which knows which numbers are codes.
"""

from __future__ import annotations

import re
from typing import Mapping

from bot.core.cards import luhn_valid, mask_card_numbers
from bot.core.normalise import prepare

__all__ = ["CARD_TYPES", "CHARGED", "SLOT_BLANKS", "TERMINAL_TYPES", "extract_slots", "fill", "luhn_valid",
           "mask_card_numbers"]

SLOT_BLANKS = {"amount": "（金额）", "time": "（交易时间）", "last4": "（卡号后四位）"}
"""What a placeholder shows when the merchant has not said it."""

CARD_TYPES = ("信用卡", "储蓄卡", "外卡")
TERMINAL_TYPES = ("电签", "传统", "智能POS")
CHARGED = ("yes", "no")
"""Values of the `charged` slot: the merchant said the customer was charged / was not."""

_AMOUNT = re.compile(r"(?<![0-9.:])([0-9]{1,7}(?:\.[0-9]{1,2})?)\s*(元|块钱|块|rmb)", re.IGNORECASE)
_TIME = re.compile(r"(?<![0-9])((?:[01]?[0-9]|2[0-3])[:：][0-5][0-9])(?![0-9])"
                   r"|((?:上午|下午|晚上|早上|中午)?(?:[01]?[0-9]|2[0-3])点(?:半|[0-5]?[0-9]分?)?)")
_LAST4 = re.compile(r"(?:尾号|后四位|后4位|末四位|末4位)\s*(?:是|为|:)?\s*([0-9]{4})(?![0-9])")
_PLACEHOLDER = re.compile(r"\{(amount|time|last4)\}")
# 贷记卡 is a credit card; 借记卡 a debit (储蓄) card; 外卡 covers cards issued abroad and the schemes
# foreign tourists carry (visa/master/jcb/运通), which many Chinese acquirers do not accept.
_CARD_TYPE = (
    ("外卡", re.compile(r"外卡|境外卡|国外的?卡|外国的?卡|外币卡|visa|master|jcb|运通|amex")),
    ("信用卡", re.compile(r"信用卡|贷记卡")),
    ("储蓄卡", re.compile(r"储蓄卡|借记卡|银行卡里的钱|蓄蓄卡")),
)
_TERMINAL_TYPE = (
    ("智能POS", re.compile(r"智能\s*pos|智能机|安卓\s*pos|安卓机")),
    ("电签", re.compile(r"电签")),
    ("传统", re.compile(r"传统\s*(?:pos|机|大机)|大pos|老式pos|有线pos|拨号pos")),
)
# "被扣了钱" and its ways of being said; a question ("有没有扣钱", "扣了吗") says nothing yet.
_CHARGE = r"(?:扣(?:了|掉了|过)?(?:顾客的?|他的?|她的?|人家的?)?(?:钱|款|费)|扣款|钱(?:被)?扣|被扣|划(?:了|走了)?(?:钱|款)|钱(?:已经)?(?:被)?划走)"
_ASKED = re.compile(r"(?:有没有|是否|是不是|会不会|不会)(?:被)?(?:扣|划)(?:了|掉)?(?:顾客的?)?(?:钱|款)?|(?:扣|划)没(?:有)?(?:扣|划)(?:钱|款)?|"
                    + _CHARGE + r"[^，。,.!?！？]{0,3}(?:吗|么|嘛|没有?(?=$|[，。,.!?！？\s]))")
_NOT_CHARGED = re.compile(r"(?:没|没有|未|不)(?:被)?(?:扣|划)(?:到|掉)?(?:钱|款)?|钱(?:也)?没(?:被)?(?:扣|划|少)")
_CHARGED = re.compile(_CHARGE + r"|(?:钱|款)(?:已经)?扣了|扣钱了|扣费了|短信(?:说|显示)?(?:已)?扣|扣了?(?:两|2|好几|几)次")


def extract_slots(text: str) -> dict[str, str]:
    """The details found in one message (the last mention of each wins): amount, time, last4,
    card_type (信用卡/储蓄卡/外卡), terminal (电签/传统/智能POS), charged (yes/no)."""
    text = prepare(mask_card_numbers(text))
    slots: dict[str, str] = {}
    for match in _AMOUNT.finditer(text):
        slots["amount"] = f"{match.group(1)}元"
    for match in _TIME.finditer(text):
        slots["time"] = (match.group(1) or match.group(2)).replace("：", ":")
    for match in _LAST4.finditer(text):
        slots["last4"] = match.group(1)
    masked = re.findall(r"\*\*\*\*([0-9]{4})", text)
    if masked and "last4" not in slots:
        slots["last4"] = masked[-1]
    card_type = _first_named(text, _CARD_TYPE)
    if card_type is not None:
        slots["card_type"] = card_type
    terminal = _first_named(text, _TERMINAL_TYPE)
    if terminal is not None:
        slots["terminal"] = terminal
    charged = _charged(text)
    if charged is not None:
        slots["charged"] = charged
    return slots


def _first_named(text: str, patterns: tuple[tuple[str, re.Pattern[str]], ...]) -> str | None:
    """The value whose words come first in the text, if any does (one message, one card)."""
    found = [(match.start(), value) for value, pattern in patterns if (match := pattern.search(text))]
    return min(found)[1] if found else None


def _charged(text: str) -> str | None:
    """yes / no when the merchant states whether the customer was charged; None when they only ask."""
    asked = _ASKED.sub(" ", text)
    if _NOT_CHARGED.search(asked):
        return "no"
    if _CHARGED.search(asked):
        return "yes"
    return None


def fill(template: str, slots: Mapping[str, str]) -> str:
    """Put known details into {amount}/{time}/{last4}; unknown ones become clear blanks."""
    return _PLACEHOLDER.sub(lambda m: slots.get(m.group(1)) or SLOT_BLANKS[m.group(1)], template)
