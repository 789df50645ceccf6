"""Details a merchant already gave (amount, time, card's last 4 digits).

Scripts are filled from these so the merchant does not retype them; anything missing is left as a
clear blank. Full card numbers never survive: `mask_card_numbers` (bot.core.cards) runs before
text is kept.
"""

from __future__ import annotations

import re
from typing import Mapping

from bot.core.cards import luhn_valid, mask_card_numbers
from bot.core.normalise import prepare

__all__ = ["SLOT_BLANKS", "extract_slots", "fill", "luhn_valid", "mask_card_numbers"]

SLOT_BLANKS = {"amount": "（金额）", "time": "（交易时间）", "last4": "（卡号后四位）"}
"""What a placeholder shows when the merchant has not said it."""

_AMOUNT = re.compile(r"(?<![0-9.:])([0-9]{1,7}(?:\.[0-9]{1,2})?)\s*(元|块钱|块|rmb)", re.IGNORECASE)
_TIME = re.compile(r"(?<![0-9])((?:[01]?[0-9]|2[0-3])[:：][0-5][0-9])(?![0-9])"
                   r"|((?:上午|下午|晚上|早上|中午)?(?:[01]?[0-9]|2[0-3])点(?:半|[0-5]?[0-9]分?)?)")
_LAST4 = re.compile(r"(?:尾号|后四位|后4位|末四位|末4位)\s*(?:是|为|:)?\s*([0-9]{4})(?![0-9])")
_PLACEHOLDER = re.compile(r"\{(amount|time|last4)\}")


def extract_slots(text: str) -> dict[str, str]:
    """Amount, time and last 4 digits found in one message (the last mention of each wins)."""
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
    return slots


def fill(template: str, slots: Mapping[str, str]) -> str:
    """Put known details into {amount}/{time}/{last4}; unknown ones become clear blanks."""
    return _PLACEHOLDER.sub(lambda m: slots.get(m.group(1)) or SLOT_BLANKS[m.group(1)], template)
