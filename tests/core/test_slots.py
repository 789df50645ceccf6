"""Details from the merchant's words, card-number masking, and script placeholders."""

import pytest
from hypothesis import assume, given, strategies as st

from bot.core.slots import SLOT_BLANKS, extract_slots, fill, luhn_valid, mask_card_numbers

VALID_CARD = "6222021234567890128"  # passes the Luhn check


def test_luhn() -> None:
    assert luhn_valid(VALID_CARD)
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize("text, masked", [
    (f"卡号{VALID_CARD}刷不了", "卡号****0128刷不了"),
    ("4111 1111 1111 1111 扣了两次", "****1111 扣了两次"),
    ("4111-1111-1111-1111", "****1111"),
    ("４１１１１１１１１１１１１１１１", "****1111"),
])
def test_card_numbers_keep_only_the_last_four(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked


@pytest.mark.parametrize("text", ["13812345678", "商户号 898310048160001", "2024年03月05日 300元"])
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_card_numbers(text) == text


@given(st.lists(st.integers(min_value=0, max_value=9), min_size=12, max_size=18), st.text(max_size=20))
def test_no_luhn_valid_card_number_survives(digits: list[int], around: str) -> None:
    """Every Luhn-valid 13-19-digit number is masked, except what the policy keeps readable for staff:
    a 15-digit number starting with 8 is a merchant number (商户号), README "Card numbers"."""
    body = "".join(map(str, digits))
    assume(not (len(body) == 14 and body.startswith("8")))
    check = next(str(d) for d in range(10) if luhn_valid(body + str(d)))
    masked = mask_card_numbers(around + " " + body + check + " " + around)
    assert body + check not in masked


@pytest.mark.parametrize("text, slots", [
    ("刷了300元没出小票", {"amount": "300元"}),
    ("12:03刷的58.5块 尾号1234", {"amount": "58.5元", "time": "12:03", "last4": "1234"}),
    ("下午3点半那笔", {"time": "下午3点半"}),
    ("卡号后四位是 0551", {"last4": "0551"}),
    (f"卡号{VALID_CARD}", {"last4": "0128"}),
    ("显示51", {}),
    # numbers that are not codes: an amount, a time, a card tail
    ("刷了51块没成功", {"amount": "51元"}),
    ("下午3点05刷的96元", {"time": "下午3点05", "amount": "96元"}),
    ("尾号0551的卡", {"last4": "0551"}),
    # card type, terminal type
    ("信用卡刷不了", {"card_type": "信用卡"}),
    ("借记卡报51", {"card_type": "储蓄卡"}),
    ("外国客人的visa卡刷不了", {"card_type": "外卡"}),
    ("电签机显示A0", {"terminal": "电签"}),
    ("智能POS签到失败", {"terminal": "智能POS"}),
    ("传统pos打印不了", {"terminal": "传统"}),
    # whether the customer was charged: said, denied, or only asked
    ("扣钱了但显示96", {"charged": "yes"}),
    ("顾客说被扣了钱，机器显示失败", {"charged": "yes"}),
    ("钱被扣了没到账", {"charged": "yes"}),
    ("扣了两次钱", {"charged": "yes"}),
    ("没扣钱", {"charged": "no"}),
    ("顾客的钱没扣", {"charged": "no"}),
    ("有没有扣钱", {}),
    ("扣款了吗", {}),
    ("显示失败，扣钱了没有？", {}),
])
def test_extract_slots(text: str, slots: dict[str, str]) -> None:
    assert extract_slots(text) == slots


def test_fill_uses_known_details_and_blanks_for_the_rest() -> None:
    template = "您{time}那笔{amount}，尾号{last4}，{other}"
    assert fill(template, {"amount": "300元"}) == (
        f"您{SLOT_BLANKS['time']}那笔300元，尾号{SLOT_BLANKS['last4']}，{{other}}")
