"""Card numbers (PANs) found and masked: the one masker every path that keeps or forwards merchant
text calls (the question log, conversation state, tickets, relays, review, content written from it).

A merchant types a card number however their keyboard or the card suggests: grouped by four, with
full-width digits and ideographic spaces from a Chinese input method, dots, dashes, slashes, split
over two lines, glued to an amount. So the text is normalised first (NFKC, every decimal digit to
ASCII), digits joined by any run of separators count as one number, and every 13–19-digit window
of such a number is checked. A window is masked when

- it passes the Luhn check (13–19 digits), or
- by policy, Luhn or not (a mistyped digit is still a card number): 15–19 digits that follow
  卡号/卡/card, or that start with a card prefix (62, 81 UnionPay; 4 Visa; 5 Mastercard; 3 Amex,
  JCB, Diners).

What staff need stays readable: a group of exactly 15 digits starting with 8 is a merchant number
(商户号) and a group of 11 starting with 13–19 a mobile number, never part of a card; terminal ids
(8 digits) are too short to be one; dates, times and amounts typed next to a number are not its
digits. A masked number keeps its last four digits, which staff and scripts use: `****7894`.

Every rule below was found by the property tests in tests/core/test_cards.py, which type random
cards in every style next to the numbers staff need; change a rule and run them with more examples.

Only the spans of card numbers are replaced; the rest of the text is returned exactly as it was
(full-width punctuation and all), so `mask_card_numbers(text) == text` means "no card number here".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

MIN_DIGITS, MAX_DIGITS = 13, 19
"""ISO/IEC 7812 PAN lengths."""
POLICY_MIN_DIGITS = 15
"""Numbers failing Luhn are masked by policy from this length: shorter ones are order and reference
numbers far more often than mistyped cards."""
MIN_INNER_GROUP = 3
"""Digits of every group but the last for groups to be joined into one number: cards are printed
in groups of 4 (Amex 4-6-5); dates (2024.03.15) and lists of two-digit codes are not joined."""
LONG_GROUP = MIN_DIGITS
"""An unbroken run of at least this many digits may hold a card anywhere inside it (glued to an
amount or a date); shorter groups join a number only whole."""
KEPT_GROUPS = re.compile(r"8[0-9]{14}|1[3-9][0-9]{9}")
"""Whole groups that are never part of a card, so stay readable: 商户号 (15 digits starting with 8;
no card of 15 digits starts with 8) and mobile numbers (11 digits, 13x–19x)."""
_DATE = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}([-./])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12][0-9]|3[01])(?![0-9])")
"""2024-03-15, 2024.3.15, 2024/03/15: never part of a card either."""
CARD_PREFIX = re.compile(r"62|81|[345]")
MASK = "****"

_SEPARATOR = r"\s.,\-/_\u00ad\u2010-\u2015\u2212\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
"""Between digit groups (after NFKC: ideographic and no-break spaces are spaces, ， is a comma): white
space and newlines, dots, commas, dashes of every width, slashes, underscores, and the invisible
format characters (zero-width space, bidi controls) someone could slip between digits."""
_NUMBER = re.compile(rf"[0-9]+(?:[{_SEPARATOR}]+[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
_CUE = re.compile(r"(?:卡|card)\s*(?:号码|号|no\.?|number)?\s*[是为:#]{0,2}\s*$", re.IGNORECASE)
"""What introduces a card number: 卡号, 卡号是, 银行卡:, card no."""
_CUE_REACH = 12
_TIME_BEFORE = re.compile(r"[0-9][:：]$")
_CLAUSE = re.compile(r"[,\n\r]")
CARD_GROUP = 6
"""The longest group of a card typed in groups (Amex 4-6-5, a UnionPay 6-digit BIN first)."""
CLAUSE_GROUP = 8
"""A comma or a line break joins groups of up to this many digits (a card's group with an amount
glued to it: 0008100元); a longer one is a number of its own (a phone number, a reference number)."""
_AMOUNT_TAIL = re.compile(r"(?<![0-9])[0-9]{1,7}(?:[.,][0-9]{1,2})?$")
_TIME_AFTER = re.compile(r"[:：][0-9]")
_QUANTITY = re.compile(r"\s*(?:[元块圆点时分秒年月日号次笔张个天%]|rmb|yuan)", re.IGNORECASE)
AMOUNT_DIGITS = 7
"""An amount glued to a card's last group has at most this many digits (_AMOUNT_TAIL)."""
NEIGHBOUR = 8
"""Digits from which a group typed next to a card is another number (terminal id, phone, 商户号)."""


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _plausible(digits: str) -> bool:
    """A prefix card networks issue, at a length they issue it with (ISO/IEC 7812 IIN ranges)."""
    size, first, two = len(digits), digits[0], digits[:2]
    if first == "4":  # Visa
        return size in (13, 16, 19)
    if "22" <= two <= "27" or first == "5":  # Mastercard, Maestro
        return 16 <= size <= 19
    if two in ("34", "37"):  # American Express
        return size == 15
    if first == "3":  # JCB, Diners
        return 14 <= size <= 19
    return first in "689" and 16 <= size <= 19  # UnionPay 62/81, Discover, Chinese banks' 9xxx


def _overlap(one: tuple[int, int], other: tuple[int, int]) -> bool:
    return one[0] < other[1] and other[0] < one[1]


def mask_card_numbers(text: str) -> str:
    """`text` with every card number replaced by `****` and its last four digits; everything else
    exactly as it was."""
    spans = card_spans(text)
    if not spans:
        return text
    pieces, last = [], 0
    for span in spans:
        pieces += [text[last:span.start], MASK + span.last4]
        last = span.end
    pieces.append(text[last:])
    return "".join(pieces)


def holds_card_number(text: str) -> bool:
    """Whether `text` holds a card number `mask_card_numbers` would mask."""
    return bool(card_spans(text))


@dataclass(frozen=True)
class CardSpan:
    start: int
    end: int
    """Where the number stands in the original text (end exclusive)."""
    last4: str


def card_spans(text: str) -> list[CardSpan]:
    """The card numbers in `text`, in order, as spans of the original text."""
    folded, origin = _fold_digits(text)
    spans: list[CardSpan] = []
    for number in _NUMBER.finditer(folded):
        groups = [(m.start(), m.end()) for m in _GROUP.finditer(folded, number.start(), number.end())]
        for part in _split_at_clauses(folded, groups):
            for start, end in _number_spans(folded, part):
                start = _with_short_head(folded, part, start, end)
                digits = [c for c in folded[start:end] if c.isdigit()]
                spans.append(CardSpan(origin[start], origin[end - 1] + 1, "".join(digits[-4:])))
    return spans


def _with_short_head(folded: str, groups: list[tuple[int, int]], start: int, end: int) -> int:
    """Where to start masking a card found at [start, end) of a number made of `groups`: a window
    found inside a number glued to an amount may begin after the card's first groups (625 501 04040
    954699100元 masks 501…100 by policy). Short groups (≤ CARD_GROUP digits) left in front of it, with
    only separators between, are taken in: masking three digits too many is safe, leaving a card's
    first digits visible is not."""
    if not groups or groups[0][0] >= start:
        return start
    head = [g for g in groups if g[1] <= start]
    digits = sum(c.isdigit() for c in folded[head[0][0]:end])
    if (any(b - a > CARD_GROUP for a, b in head) or digits > MAX_DIGITS + AMOUNT_DIGITS
            or _DATE.search(folded, head[0][0], start)):
        return start
    return head[0][0]


def _split_at_clauses(folded: str, groups: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """A comma or a line break ends a clause as often as it separates a card's groups: it joins
    only groups short enough to be a card's (6225，8812，3498，7617), not 电话13800000000，2024-01-01."""
    parts = [[groups[0]]]
    for previous, group in zip(groups, groups[1:], strict=False):
        clause = _CLAUSE.search(folded, previous[1], group[0]) is not None
        # the last group may be a card's with an amount glued to it (…，000006100元)
        right = 0 if group == groups[-1] and _QUANTITY.match(folded, group[1]) else group[1] - group[0]
        if clause and max(previous[1] - previous[0], right) > CLAUSE_GROUP:
            parts.append([group])
        else:
            parts[-1].append(group)
    return parts


def _number_spans(folded: str, groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of `folded` to mask in one number made of `groups`."""
    # a time typed next to a number (参考号…，12:03) is not part of it
    while len(groups) > 1 and _TIME_AFTER.match(folded, groups[-1][1]):
        groups = groups[:-1]
    while len(groups) > 1 and groups[0][1] - groups[0][0] <= 2 and _TIME_BEFORE.search(folded, 0, groups[0][0]):
        groups = groups[1:]
    # nor, as a rule, a short amount, date or count after it (…7894 100元, … 1.50元, … 3点): without
    # it first; unless that gives a whole card, also a real card ending inside it (4000 0000 0000
    # 6100元 is a 13-digit card with 100元 glued to it)
    tail = _AMOUNT_TAIL.search(folded, groups[0][0], groups[-1][1])
    if tail is None or tail.start() == groups[0][0] or not _QUANTITY.match(folded, groups[-1][1]):
        return _masked(folded, groups)[0]
    before = [g for g in groups if g[1] <= tail.start()]
    found, whole_card = _masked(folded, before)
    glued = next(end for start, end in groups if end > tail.start())
    if (whole_card and glued - tail.start() <= 4) or any(end - start > CARD_GROUP for start, end in before):
        return found  # (a group of 5 digits or more may be a card's last four and an amount)
    return _merge(found + _masked(folded, groups, cards_ending=(tail.start(), glued))[0])


def _masked(folded: str, groups: list[tuple[int, int]], *,
            cards_ending: tuple[int, int] | None = None) -> tuple[list[tuple[int, int]], bool]:
    """Spans of `folded` to mask in one number made of `groups` (spans of `folded`), and whether a
    plausible card ends with the number's last digit. With `cards_ending`, only plausible cards
    ending strictly inside that span."""
    if sum(end - start for start, end in groups) < MIN_DIGITS:
        return [], False
    start = groups[0][0]
    before = folded[max(0, start - _CUE_REACH):start]
    number = _Number(folded[start:groups[-1][1]], [(a - start, b - start) for a, b in groups],
                     cued=bool(_CUE.search(before)), after_mask=before.endswith("*"))
    within = None if cards_ending is None else (cards_ending[0] - start, cards_ending[1] - start)
    spans = [(start + first, start + last) for first, last in number.masked(cards_ending=within)]
    return spans, number.whole_card


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _fold_digits(text: str) -> tuple[str, list[int]]:
    """NFKC, character by character, with every decimal digit as ASCII; and for each character of
    the result, the index of the character of `text` it came from (NFKC may change lengths)."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char.isascii():
            folded.append(char)
            origin.append(index)
            continue
        for piece in unicodedata.normalize("NFKC", char):
            folded.append(str(unicodedata.decimal(piece)) if piece.isdecimal() else piece)
            origin.append(index)
    return "".join(folded), origin


class _Number:
    """One run of digit groups joined by separators, and the windows of it that are card numbers."""

    def __init__(self, raw: str, groups: list[tuple[int, int]], *, cued: bool, after_mask: bool) -> None:
        self.digits = "".join(raw[start:end] for start, end in groups)
        dates = [m.span() for m in _DATE.finditer(raw)]
        self.kept = [bool(KEPT_GROUPS.fullmatch(raw[start:end])) or any(a <= start and end <= b for a, b in dates)
                     for start, end in groups]
        """Groups that are never part of a card (KEPT_GROUPS, dates)."""
        self.position = [i for start, end in groups for i in range(start, end)]
        """Index in `raw` of each digit."""
        self.group_of: list[int] = []
        self.bounds: list[tuple[int, int]] = []
        """Each group as a digit range."""
        offset = 0
        for number, (start, end) in enumerate(groups):
            self.bounds.append((offset, offset + end - start))
            self.group_of += [number] * (end - start)
            offset += end - start
        self.cued = cued
        self.whole_card = False
        """After `masked`: whether a plausible card ends with the last digit."""
        self.after_mask = after_mask
        """Right after a masked number (`****`): its first digits were the middle of a number."""
        doubled = [(2 * int(d) - 9 if int(d) > 4 else 2 * int(d)) for d in self.digits]
        plain = [int(d) for d in self.digits]
        # Luhn sums of any window in O(1): a digit is doubled when its distance to the window's end
        # is odd, so one prefix sum for "even indices doubled" and one for "odd indices doubled".
        self._even = [0, *accumulate(doubled[i] if i % 2 == 0 else plain[i] for i in range(len(plain)))]
        self._odd = [0, *accumulate(plain[i] if i % 2 == 0 else doubled[i] for i in range(len(plain)))]

    def masked(self, *, cards_ending: tuple[int, int] | None = None) -> list[tuple[int, int]]:
        """Spans of `raw` to mask.

        Luhn windows of a plausible card (a known prefix at a length that prefix is issued with) come
        first; an overlapping one is masked too when it would otherwise show more than its last four
        digits. Any other Luhn window, and every policy window, is masked unless it is such a card
        plus whole neighbouring groups: a phone number typed before the card, an amount after it,
        which stay readable (`13812345678 6222…7894` -> `13812345678 ****7894`). `cards_ending`:
        only plausible cards whose last digit is inside that span of `raw`.
        """
        luhn: list[tuple[int, int]] = []
        policy: list[tuple[int, int]] = []
        for start, end, whole in self._windows():
            if self._luhn(start, end):
                if whole or _plausible(self.digits[start:end]):
                    luhn.append((start, end))
            elif whole and self._by_policy(start, end):
                policy.append((start, end))
        plausible = {w for w in luhn if _plausible(self.digits[w[0]:w[1]])}
        ranked = sorted(plausible, key=lambda w: (not self._aligned(*w), w[0]))
        if cards_ending is not None:
            low, high = cards_ending
            ranked = [w for w in ranked if low < self.position[w[1] - 1] + 1 < high]
        cards: list[tuple[int, int]] = []
        hidden = [False] * len(self.digits)
        """Digits masked by a card so far, bar each card's last four."""
        covering: list[list[int]] = [[] for _ in self.digits]
        """The cards covering each digit."""
        for start, end in ranked:
            overlaps = any(covering[i] for i in range(start, end))
            if not overlaps or sum(not hidden[i] for i in range(start, end)) > len(MASK):
                for i in range(start, end):
                    covering[i].append(len(cards))
                    hidden[i] = hidden[i] or i < end - 4
                cards.append((start, end))
        others = [] if cards_ending is not None else [w for w in luhn if w not in plausible] + policy
        chosen = list(cards)
        for window in others:
            touched = {card for i in range(*window) for card in covering[i]}
            if not any(self._neighbours(window, cards[card]) for card in touched):
                chosen.append(window)
        self.whole_card = any(end == len(self.digits) for _, end in cards)
        return [(self.position[start], self.position[end - 1] + 1) for start, end in _merge(chosen)]

    def _aligned(self, start: int, end: int) -> bool:
        return self.bounds[self.group_of[start]][0] == start and self.bounds[self.group_of[end - 1]][1] == end

    def _neighbours(self, window: tuple[int, int], card: tuple[int, int]) -> bool:
        """`window` is `card` plus other numbers typed next to it: a phone number, terminal or
        merchant number (8 digits or more) before or after it. A shorter group is taken as the
        card's own digits (4-4-4-4-3 is how a 19-digit card is typed), so it is masked with it."""
        if not _overlap(window, card):
            return False
        before, after = card[0] - window[0], window[1] - card[1]
        if before > 0 and (before < NEIGHBOUR or self.bounds[self.group_of[card[0]]][0] != card[0]):
            return False
        if after > 0 and (after < NEIGHBOUR or self.bounds[self.group_of[card[1] - 1]][1] != card[1]):
            return False
        return True

    def _windows(self) -> Iterator[tuple[int, int, bool]]:
        """Digit ranges of 13–19 digits that could be one number as typed, and whether they start and
        end where groups do (or inside a long group). Only a plausible card may start or end inside
        a short group: `2221 0000 0000 0017100元` is a card with an amount glued to it, while
        `13812345678 12345678` is a phone number and a terminal id, not a card inside them."""
        size = len(self.digits)
        for start in range(size):
            for end in range(start + MIN_DIGITS, min(start + MAX_DIGITS, size) + 1):
                if self._joined(start, end) and not self._holds_kept_group(start, end):
                    yield start, end, self._may_start(start) and self._may_end(end)

    def _long(self, group: int) -> bool:
        start, end = self.bounds[group]
        return end - start >= LONG_GROUP

    def _may_start(self, index: int) -> bool:
        group = self.group_of[index]
        at_start = self.bounds[group][0] == index and not (group == 0 and self.after_mask)
        return at_start or self._long(group)

    def _may_end(self, end: int) -> bool:
        group = self.group_of[end - 1]
        return self.bounds[group][1] == end or self._long(group)

    def _joined(self, start: int, end: int) -> bool:
        """Every group but the last contributes at least MIN_INNER_GROUP digits to the window."""
        first, last = self.group_of[start], self.group_of[end - 1]
        return all(min(self.bounds[g][1], end) - max(self.bounds[g][0], start) >= MIN_INNER_GROUP
                   for g in range(first, last))

    def _holds_kept_group(self, start: int, end: int) -> bool:
        return any(self.kept[group] for group in range(self.group_of[start], self.group_of[end - 1] + 1))

    def _luhn(self, start: int, end: int) -> bool:
        sums = self._even if (end - 1) % 2 == 1 else self._odd
        return (sums[end] - sums[start]) % 10 == 0

    def _by_policy(self, start: int, end: int) -> bool:
        if end - start < POLICY_MIN_DIGITS or not self._may_start_number(start):
            return False
        if start == 0 and self.cued:
            return True
        prefix = CARD_PREFIX.match(self.digits, start)
        return prefix is not None and (prefix.group() != "81" or end - start >= 16)

    def _may_start_number(self, index: int) -> bool:
        """Policy windows start where a number does (a group's start), not inside one."""
        group = self.group_of[index]
        return self.bounds[group][0] == index and not (group == 0 and self.after_mask)
