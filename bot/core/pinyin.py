"""Questions typed with the input method off: "mei you chu xiao piao", "qiandaobuliao".

A question whose Latin letters read as pinyin is cut into syllables, and the syllables are written back
as the words posbot knows that sound like them (every word of every phrase, by its toneless pinyin),
so the question then goes through the same path as if typed in characters. The syllable inventory
comes from pypinyin's own character table, so nothing here is a hand-written list.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Collection, Iterable, Mapping

_LATIN = re.compile(r"[a-z]+")
_NO_VOWEL = re.compile(r"[^aeiouv]+")
MAX_SYLLABLE = 6
MIN_PINYIN_SYLLABLES = 2
"""A question needs at least this many pinyin syllables ("qian dao") before it is read as pinyin:
one short run ("an", "e") is more often an English word, a code or a typo."""


_inventory: frozenset[str] | None = None


def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (about 420), from pypinyin's character table. Read from it on first
    use (≈50 ms), or given by `preload` from what an earlier start saved."""
    global _inventory
    if _inventory is None:
        _inventory = _read_syllables()
    return _inventory


def preload(known: Iterable[str]) -> None:
    """Use `known` (syllables() of an earlier start, bot/core/formcache.py) instead of reading them again."""
    global _inventory
    if _inventory is None:
        _inventory = frozenset(known)


def _read_syllables() -> frozenset[str]:
    from pypinyin.constants import PINYIN_DICT

    found: set[str] = set()
    for readings in PINYIN_DICT.values():
        for reading in readings.split(","):
            # ü is typed as v (lv, nv, lve: 费率 is "feilv"), as pypinyin writes it in sound keys
            decomposed = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
            plain = "".join(c for c in decomposed if not unicodedata.combining(c))
            if plain.isascii() and plain.isalpha():
                found.add(plain)
    # m, n, ng, hm (interjections) have no vowel: "57mm" is a size, not two syllables
    return frozenset(s for s in found if not _NO_VOWEL.fullmatch(s))


MAX_TERM_LETTERS = 12
"""The longest Latin term looked for inside a run of pinyin (split_syllables); "supermarket" has 11."""
TERM_MARK = "\x02"
"""Marks a Latin term inside a run of pinyin ("yong pos shua" typed together: "yongposshua"), kept as a word."""


def split_syllables(run: str, terms: Collection[str] = ()) -> list[str] | None:
    """Cut a run of Latin letters into pinyin syllables, fewest syllables first ("xian" stays one,
    "qiandaobuliao" -> qian dao bu liao); None when it does not read as pinyin at all.

    A run that does not read as pinyin alone may hold `terms`, Latin words that are not pinyin (pos, mcc, gps),
    typed together with the syllables around them ("xiangyongposduoshua"): those pieces come back marked with
    TERM_MARK. The plain reading is tried first, so a run that is pinyin on its own never changes."""
    plain = _fewest_pieces(run, syllables())
    if plain is not None or not terms:
        return plain
    pieces = _fewest_pieces(run, syllables(), terms)
    # an English word made of terms ("customers", "cousin") is English, not pinyin around a term
    if pieces is None or sum(not piece.startswith(TERM_MARK) for piece in pieces) < MIN_PINYIN_SYLLABLES:
        return None
    return pieces


def _fewest_pieces(run: str, inventory: frozenset[str], terms: Collection[str] = ()) -> list[str] | None:
    longest = MAX_TERM_LETTERS if terms else MAX_SYLLABLE
    best: list[list[str] | None] = [None] * (len(run) + 1)
    best[0] = []
    for end in range(1, len(run) + 1):
        for length in range(1, min(longest, end) + 1):
            before = best[end - length]
            if before is None:
                continue
            piece = run[end - length:end]
            found = piece if piece in inventory else (TERM_MARK + piece if piece in terms else None)
            if found is not None:
                candidate = before + [found]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[len(run)]


def transliterate(text: str, words: Mapping[tuple[str, ...], str], terms: Mapping[str, str] | None = None) -> str:
    """`text` with its pinyin runs written as the domain's own words: every stretch of Latin runs that
    reads as pinyin (spaces between runs allowed) is cut into syllables, and the longest known word
    sound at each point replaces them ("qiandao shibai" -> "签到失败"); syllables no word has are
    dropped. Text with fewer than MIN_PINYIN_SYLLABLES pinyin syllables is returned as it is. `terms`: Latin
    words that are not pinyin, found inside a run of it (split_syllables), and what to write for each."""
    # letters glued to a number ("57mm", "5000mah", "t1", and a code's letter: "还是A0") are a unit or a
    # label, not pinyin
    known = terms or {}
    runs = [(m.start(), m.end(), None if _glued_to_a_number(text, m.start(), m.end()) or _a_label(text, m.start(), m.end())
             else split_syllables(m.group(), known))
            for m in _LATIN.finditer(text)]
    if sum(len(cut) for _, _, cut in runs if cut) < MIN_PINYIN_SYLLABLES:
        return text
    # English the lexicon does not know ("can i fake the location of my pos"): a few of its words read
    # as pinyin (can, fa ke), most do not; written as sounds it would become noise
    words_not_pinyin = sum(1 for start, end, cut in runs if cut is None and end - start >= 2)
    if words_not_pinyin > sum(1 for _, _, cut in runs if cut):
        return text
    out: list[str] = []
    position = 0
    index = 0
    while index < len(runs):
        start, end, cut = runs[index]
        if cut is None:
            index += 1
            continue
        sounds = list(cut)
        last = index
        while last + 1 < len(runs) and runs[last + 1][2] is not None and not text[runs[last][1]:runs[last + 1][0]].strip():
            last += 1
            sounds.extend(runs[last][2] or ())
        out.append(text[position:start])
        out.append(" " + _written(sounds, words, known) + " ")
        position = runs[last][1]
        index = last + 1
    out.append(text[position:])
    return "".join(out)


def _glued_to_a_number(text: str, start: int, end: int) -> bool:
    # a unit after a number is a few letters ("57mm", "5000mah"), not "65chaochuxiaofeicishu"; before a
    # number only a letter or two: a code ("A0", "Y1"), not "...biancheng2000nianle"
    short = end - start <= 3
    return short and ((start > 0 and text[start - 1].isdigit()) or (end - start <= 2 and end < len(text) and text[end].isdigit()))


def _a_label(text: str, start: int, end: int) -> bool:
    """One letter right before a Chinese character names a thing ("A卡的账单 用B卡还"), it is not the syllable a."""
    return end - start == 1 and end < len(text) and "\u4e00" <= text[end] <= "\u9fff"


def _written(pieces: list[str], words: Mapping[tuple[str, ...], str], terms: Mapping[str, str]) -> str:
    """Syllables as words (_to_words), a term found among them as what `terms` writes for it."""
    out: list[str] = []
    sounds: list[str] = []
    for piece in pieces:
        if piece.startswith(TERM_MARK):
            out.extend((_to_words(sounds, words), terms[piece[1:]]))
            sounds = []
        else:
            sounds.append(piece)
    out.append(_to_words(sounds, words))
    return " ".join(part for part in out if part)


def _to_words(sounds: list[str], words: Mapping[tuple[str, ...], str]) -> str:
    """The words whose sounds cover `sounds` best: the most syllables in the longest words (each word scores its
    length squared). Taking the longest word at each point instead reads "shua xin yong ka huan dai kuan" as
    刷新 用卡 换 贷款, not 刷 信用卡 还 贷款. A syllable no word has is dropped."""
    longest = max((len(key) for key in words), default=1)
    count = len(sounds)
    # best[i]: the score of the best reading of sounds[i:], and its first step (a word, or None to skip one)
    best: list[tuple[int, int, str | None]] = [(0, 1, None)] * (count + 1)
    for i in range(count - 1, -1, -1):
        choice: tuple[int, int, str | None] = (best[i + 1][0], 1, None)
        for length in range(min(longest, count - i), 0, -1):
            word = words.get(tuple(sounds[i:i + length]))
            if word is not None and best[i + length][0] + length * length > choice[0]:
                choice = (best[i + length][0] + length * length, length, word)
        best[i] = choice
    out: list[str] = []
    i = 0
    while i < count:
        _score, length, word = best[i]
        if word is not None:
            out.append(word)
        i += length
    return "".join(out)


def typed_in_pinyin(text: str) -> str:
    """`text` as typed with the input method off: toneless pinyin, a space between jieba's words, punctuation kept
    ("帮朋友刷卡，给他现金" -> "bangpengyou shuaka ， gei ta xianjin"). For measuring how a sentence fares in
    pinyin (benchmarks/accuracy.py --redline-model, tests/eval/test_eval.py); posbot itself never needs it."""
    from pypinyin import lazy_pinyin

    from bot.core.segment import jieba  # imported as posbot imports it (without pkg_resources)

    return " ".join("".join(lazy_pinyin(word)) for word in jieba.lcut(text) if word.strip())
