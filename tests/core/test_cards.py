"""The card-number masker: every way merchants type a card number is masked, what staff need is not.

The property tests build card numbers the way card networks issue them (a real prefix at a length
that prefix is issued with, then the Luhn check digit), type them the way merchants do (groups,
separators, full-width digits, Chinese around them) and check that no digit of them survives
outside the `****1234` the masker leaves.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import pytest
from hypothesis import given, settings, strategies as st

from bot.core.cards import holds_card_number, luhn_valid, mask_card_numbers

NETWORKS = (  # (prefix, lengths issued)
    ("62", range(16, 20)), ("81", range(16, 20)), ("4", (13, 16, 19)), ("51", (16,)), ("55", (16,)),
    ("2221", (16,)), ("2720", (16,)), ("34", (15,)), ("37", (15,)), ("35", range(16, 20)),
    ("36", range(14, 20)), ("6011", range(16, 20)), ("65", range(16, 20)), ("9558", (19,)),
)
POLICY_PREFIXES = ("62", "81", "4", "5", "3")
"""Numbers of 15–19 digits starting so are masked even when they fail Luhn."""
SEPARATORS = (" ", "  ", "\u00a0", "\u3000", ".", "-", "–", "—", "/", "_", "，", ",", "\n", "-\n", " \u200b", "\u202e")
BEFORE = ("", "卡号", "这是小票 卡号", "刷卡", "客户的卡", "我的卡是：", "帮我查下 ", "card no. ", "银行卡\n")
AFTER = ("", "刷不了", "，扣了两次", "\n谢谢", "了吗？", " 100元", "100元")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def check_digit(body: str) -> str:
    return next(str(d) for d in range(10) if luhn_valid(body + str(d)))


@st.composite
def pans(draw: st.DrawFn, networks: tuple[tuple[str, Sequence[int]], ...] = NETWORKS, min_length: int = 13) -> str:
    prefix, lengths = draw(st.sampled_from(networks))
    length = draw(st.sampled_from([n for n in lengths if n >= min_length]))
    body = prefix + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=length - len(prefix) - 1,
                                          max_size=length - len(prefix) - 1)))
    return body + check_digit(body)


@st.composite
def typed(draw: st.DrawFn, digits: str) -> str:
    """`digits` as a merchant might type them: whole, by fours, Amex-style, or in groups of 3–6."""
    style = draw(st.sampled_from(("whole", "fours", "amex", "random")))
    if style == "whole":
        groups = [digits]
    elif style == "fours" or (style == "amex" and len(digits) != 15):
        groups = [digits[i:i + 4] for i in range(0, len(digits), 4)]
    elif style == "amex":
        groups = [digits[:4], digits[4:10], digits[10:]]
    else:
        groups, rest = [], digits
        while rest:
            size = draw(st.integers(min_value=3, max_value=6))
            groups.append(rest[:size])
            rest = rest[size:]
    same = draw(st.booleans())
    first = draw(st.sampled_from(SEPARATORS))
    text = groups[0]
    for group in groups[1:]:
        text += (first if same else draw(st.sampled_from(SEPARATORS))) + group
    if draw(st.booleans()):
        text = text.translate(FULL_WIDTH)
    return text


def left_over_digits(masked: str) -> str:
    """Digits of the masked text outside the `****1234` masks (full-width ones read as ASCII)."""
    folded = unicodedata.normalize("NFKC", masked)
    return "".join(re.findall(r"[0-9]", re.sub(r"\*\*\*\*[0-9]{4}", "", folded)))


@settings(max_examples=400)
@given(st.data())
def test_no_card_number_survives_however_it_is_typed(data: st.DataObject) -> None:
    pan = data.draw(pans())
    before, after = data.draw(st.sampled_from(BEFORE)), data.draw(st.sampled_from(AFTER))
    card = data.draw(typed(pan))
    if after[:1].isdigit() and not re.search(r"[0-9]{4}$", card):
        after = " " + after  # an amount glued to a short last group is indistinguishable from the card's digits
    text = before + card + after
    masked = mask_card_numbers(text)
    # what is left is at most the amount after it (or its end, when the amount is glued to the card)
    assert left_over_digits(after).endswith(left_over_digits(masked)), (text, masked)
    assert holds_card_number(text)
    assert mask_card_numbers(masked) == masked


@settings(max_examples=300)
@given(st.data())
def test_a_card_number_with_one_digit_wrong_is_still_masked(data: st.DataObject) -> None:
    networks = tuple(n for n in NETWORKS if n[0].startswith(POLICY_PREFIXES) and max(n[1]) >= 15)
    pan = data.draw(pans(networks, min_length=15))
    where = data.draw(st.integers(min_value=2, max_value=len(pan) - 1))  # the prefix stays a card's
    wrong = pan[:where] + str((int(pan[where]) + data.draw(st.integers(1, 9))) % 10) + pan[where + 1:]
    assert not luhn_valid(wrong)  # Luhn catches every one-digit slip
    text = data.draw(st.sampled_from(BEFORE)) + data.draw(typed(wrong)) + data.draw(st.sampled_from(AFTER[:5]))
    assert left_over_digits(mask_card_numbers(text)) == "", text


@settings(max_examples=200)
@given(st.lists(st.sampled_from("0123456789"), min_size=15, max_size=19), st.sampled_from(BEFORE[1:6]))
def test_any_long_number_after_a_card_cue_is_masked(digits: list[str], cue: str) -> None:
    number = "".join(digits)
    if len(number) == 15 and number.startswith("8"):
        number = "6" + number[1:]  # that shape is a 商户号, kept even after 卡号 (no card has it)
    text = f"{cue}{number}刷不了"
    assert left_over_digits(mask_card_numbers(text)) == "", text


@settings(max_examples=200)
@given(st.lists(st.sampled_from("0123456789"), min_size=12, max_size=18), st.sampled_from(BEFORE + AFTER))
def test_any_luhn_valid_number_standing_alone_is_masked(body: list[str], around: str) -> None:
    if len(body) == 14 and body[0] == "8":
        body[0] = "9"  # 15 digits starting with 8 is a 商户号, kept
    number = "".join(body) + check_digit("".join(body))
    text = f"{around}{number}{around}" if not re.search(r"[0-9]", around) else f"{number} 刷不了"
    assert left_over_digits(mask_card_numbers(text)) == "", text


@st.composite
def staff_details(draw: st.DrawFn) -> str:
    """What staff need, labelled as merchants write it: 商户号, 终端号, phone, time, amount, date."""
    digits = lambda n: "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=n, max_size=n)))  # noqa: E731
    parts = [
        "商户号" + draw(st.sampled_from(("", "：", " "))) + "8" + digits(14),
        "终端号" + draw(st.sampled_from(("", "：", " "))) + digits(8),
        "电话" + "1" + draw(st.sampled_from("3456789")) + digits(9),
        f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}刷的",
        f"{draw(st.integers(1, 99999))}.{draw(st.integers(0, 99)):02d}元",
        f"2024-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}",
        "参考号" + digits(12),
    ]
    order = draw(st.permutations(parts))
    return "".join(part + draw(st.sampled_from(("，", " ", "\n", "。", "；"))) for part in order)


@settings(max_examples=300)
@given(staff_details())
def test_what_staff_need_stays_readable(text: str) -> None:
    assert mask_card_numbers(text) == text
    assert not holds_card_number(text)


@given(staff_details(), pans())
def test_a_card_next_to_them_is_masked_and_they_stay(details: str, pan: str) -> None:
    text = f"{details}卡号{pan}"
    assert mask_card_numbers(text) == f"{details}卡号****{pan[-4:]}"


@pytest.mark.parametrize("text, masked", [
    # the reproductions: grouped and followed by an amount, Chinese input, nbsp, double spaces,
    # dots, dashes over two lines, Amex 4-6-5, slash, underscore, en dash, full-width comma
    ("6228 4800 3812 3458 100元", "****3458 100元"),
    # found by the property test: a 17-digit card in groups of 3-3-5, its last group glued to 100元
    ("625 501 04040 954699100元", "****9100元"),
    ("６２２５　８８１２　３４９８　７６１７", "****7617"),
    ("6225\u00a08812\u00a03498\u00a07617", "****7617"),
    ("6225  8812  3498  7617", "****7617"),
    ("6217.0012.3456.7890.122", "****0122"),
    ("卡号6217-0012-\n3456-7890-122刷不了", "卡号****0122刷不了"),
    ("3782 822463 10005", "****0005"),
    ("6225/8812/3498/7617", "****7617"),
    ("6225_8812_3498_7617", "****7617"),
    ("6225–8812–3498–7617", "****7617"),
    ("6225，8812，3498，7617，刷了三次", "****7617，刷了三次"),
    ("卡号6222021234567894刷不了", "卡号****7894刷不了"),
    ("这是小票 卡号6222021234567894", "这是小票 卡号****7894"),
    # policy: a mistyped digit is still a card number
    ("卡号6222021234567895刷不了", "卡号****7895刷不了"),
    ("6222 0212 3456 7895", "****7895"),
    ("card: 1234567890123456", "card: ****3456"),
    ("4111111111111112", "****1112"),
    # a zero-width space or a bidi control slipped in does not hide one
    ("6222\u200b0212\u200b3456\u200b7894", "****7894"),
    # only the number is replaced; the rest is exactly as typed (full-width punctuation too)
    ("刷卡失败！卡号：６２２２０２１２３４５６７８９４，金额：３００元", "刷卡失败！卡号：****7894，金额：３００元"),
    # a phone number typed before the card stays readable
    ("13812345678 6222 0212 3456 7894", "13812345678 ****7894"),
])
def test_the_ways_merchants_type_card_numbers(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked


@pytest.mark.parametrize("text", [
    "商户号898310048990001 终端号12345678 电话13812345678",
    "898310048990001 12345678",  # a merchant number (even one passing Luhn) and a terminal id
    "商户号 " + "81234567890123" + check_digit("81234567890123"),
    "2024.03.15 2024.03.16 交易了 05 51 96 12 13 14 30",
    "2024年03月05日 300元",
])
def test_numbers_staff_need_are_left_alone(text: str) -> None:
    assert mask_card_numbers(text) == text
