"""Turn what a merchant typed (and every example admins wrote) into one comparable form.

`fold` is content-free: full-width to half-width, traditional to simplified, lower case, emoji,
punctuation and control characters to spaces. `Normaliser` adds what the content knows: typos,
sound-alike misspellings of domain words (签倒 -> 签到, found by pinyin, not by a hand table) and
synonyms (`canonical`, applied word by word after segmentation). Questions and examples always go
through the same steps.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache
from typing import Callable, Iterable, Mapping

import opencc

# Only single characters' readings are used: pypinyin's phrase table (40+ MiB resident, 85 ms to load)
# is never needed, and its documented switches skip loading and copying it. Set before the import.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
from pypinyin import Style, lazy_pinyin  # noqa: E402

_T2S = opencc.OpenCC("t2s")
_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
MAX_INPUT_CHARS = 2000
"""Longer questions are cut: no merchant question needs more, and it bounds the work per message."""


def prepare(text: str) -> str:
    """Width, script and case folding only; punctuation is kept (code extraction reads it)."""
    text = unicodedata.normalize("NFKC", text[:MAX_INPUT_CHARS])
    converted: str = _T2S.convert(text)
    return converted.lower()


def _is_kept(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LN" or char.isspace()


class _KeptCharacters(dict[str, str]):
    """Each character as strip_symbols writes it (itself, or a space), worked out at its first use: a lookup per
    character instead of a Python call (a long message is read three times; 42 -> 17 us for 140 characters). Holds
    at most MAX_KEPT characters, so odd input cannot grow it without bound."""

    def __missing__(self, char: str) -> str:
        written = char if _is_kept(char) else " "
        if len(self) < MAX_KEPT:
            self[char] = written
        return written


MAX_KEPT = 50_000
_KEPT = _KeptCharacters()


def strip_symbols(text: str) -> str:
    """Emoji, punctuation, symbols and control characters become spaces; runs of space collapse."""
    return _SPACES.sub(" ", "".join(map(_KEPT.__getitem__, text))).strip()


def fold(text: str) -> str:
    """The content-free normal form."""
    return strip_symbols(prepare(text))


@lru_cache(maxsize=20000)
def _char_sound(char: str) -> str:
    """Toneless pinyin of one character in its default reading (the same on both sides)."""
    return lazy_pinyin(char, style=Style.NORMAL)[0]


def sound_key(word: str) -> tuple[str, ...]:
    return tuple(_char_sound(c) for c in word)


class Normaliser:
    """Content-aware normalisation: typos, sound-alike domain words, synonyms.

    `vocabulary` are the correctly spelled domain words a sound-alike slip may be corrected to
    (lexicon words, intent names and aliases). Only all-Chinese words of 2..6 characters take part:
    a single character has too many homophones to correct safely.
    """

    MIN_SOUNDALIKE = 2
    MAX_SOUNDALIKE = 6

    def __init__(self, *, vocabulary: Iterable[str] = (), synonyms: Iterable[Iterable[str]] = (),
                 typos: Mapping[str, str] | None = None, english: Mapping[str, str] | None = None) -> None:
        self._typos = _replacer({fold(k): fold(v) for k, v in (typos or {}).items() if fold(k)})
        self._english = _replacer({fold(k): fold(v) for k, v in (english or {}).items() if fold(k)},
                                  whole_words=True)
        self.synonyms: dict[str, str] = {}
        for group in synonyms:
            folded = [fold(word) for word in group if fold(word)]
            for word in folded:
                self.synonyms[word] = folded[0]
        self._words: set[str] = set()
        by_sound: dict[tuple[str, ...], set[str]] = {}
        for word in vocabulary:
            word = fold(word)
            # a word with a particle in it ("冻了") sounds like too much ("懂了"): never a correction
            if (self.MIN_SOUNDALIKE <= len(word) <= self.MAX_SOUNDALIKE and _CJK.fullmatch(word)
                    and not any(particle in word for particle in "了吗呢啊吧的")):
                self._words.add(word)
                by_sound.setdefault(sound_key(word), set()).add(word)
        # a sound shared by two domain words is ambiguous: never guess between them
        self._by_sound = {key: next(iter(words)) for key, words in by_sound.items() if len(words) == 1}
        self.cut: Callable[[str], list[str]] | None = None
        """Word segmentation of the text as typed (set by the matcher once its segmenter exists): a
        sound-alike fix must not cut through a real word ("交易记录" is not "交移机录", "这钱到底"
        is not "这签到底")."""

    def normalise(self, text: str) -> str:
        """fold, then fix typos and sound-alike slips."""
        return self.normalise_folded(fold(text))

    def fix_typos(self, folded: str) -> str:
        """Only the lexicon's typos and dialect words (no sound-alike guesses)."""
        return self._typos(self._english(folded))

    def english_to_chinese(self, text: str) -> str:
        """English words merchants mix in ("printer没纸", "sign in失败") in Chinese, whole words only."""
        return self._english(text)

    def normalise_folded(self, folded: str, *, sounds: dict[str, str] | None = None) -> str:
        """`normalise` of folded text. `sounds` memoises the sound-alike fix of each run of Chinese characters
        (a pure function of the run) for one question: its clauses are the whole message's runs again, and the
        fix, a dictionary walk in Python, was a tenth of a long story's time."""
        text = self._typos(self._english(folded))
        if sounds is None:
            return _CJK.sub(lambda m: self._fix_sounds(m.group()), text)

        def fixed(match: re.Match[str]) -> str:
            run = match.group()
            found = sounds.get(run)
            if found is None:
                found = sounds[run] = self._fix_sounds(run)
            return found
        return _CJK.sub(fixed, text)

    def canonical(self, word: str) -> str:
        """A synonym's canonical form (刷卡机 -> pos机). Applied to whole words after segmentation,
        never to substrings, so 机器 is rewritten but 机器人 is not."""
        return self.synonyms.get(word, word)

    def _fix_sounds(self, run: str) -> str:
        if len(run) < self.MIN_SOUNDALIKE or not self._by_sound:
            return run
        sounds = [_char_sound(c) for c in run]
        bounds: set[int] | None = None
        out: list[str] = []
        i = 0
        while i < len(run):
            for length in range(min(self.MAX_SOUNDALIKE, len(run) - i), self.MIN_SOUNDALIKE - 1, -1):
                piece = run[i:i + length]
                if piece in self._words:
                    out.append(piece)
                    break
                word = self._by_sound.get(tuple(sounds[i:i + length]))
                if word is None:
                    continue
                if bounds is None:
                    bounds = _word_bounds(run, self.cut)
                if i in bounds and i + length in bounds and not _changes_a_word(piece, word):
                    out.append(word)
                    break
            else:
                out.append(run[i])
                length = 1
            i += length
        return "".join(out)


KEPT_CHARACTERS = frozenset("钱不个那了吗呢啊吧的嘛呀啦")
"""Characters that are whole words in merchant speech and particles: a sound-alike fix never changes
them ("钱到账了" is not 签到, "不打小票" is not 补打, "怎么激活嘛" is not 激活码)."""


def _changes_a_word(piece: str, word: str) -> bool:
    return any(a != b and a in KEPT_CHARACTERS for a, b in zip(piece, word, strict=True))


def _word_bounds(run: str, cut: Callable[[str], list[str]] | None) -> set[int]:
    """Offsets in `run` where a word starts or ends (every offset without a segmenter)."""
    if cut is None:
        return set(range(len(run) + 1))
    bounds = {0}
    position = 0
    for word in cut(run):
        position += len(word)
        bounds.add(position)
    return bounds


def _replacer(mapping: Mapping[str, str], *, whole_words: bool = False) -> Callable[[str], str]:
    """A function replacing every key by its value, longest key first, in one pass. With
    `whole_words`, a key only matches where no Latin letter or digit touches it ("in" never inside "pin"), and
    a key of digits only where nothing but spaces and punctuation does ("好的 886", not "刷了886块")."""
    mapping = {k: v for k, v in mapping.items() if k}
    if not mapping:
        return lambda text: text
    if not whole_words:
        pattern = re.compile("|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True)))
        return lambda text: pattern.sub(lambda m: mapping[m.group()], text)
    # English keys were folded ("e-receipt" -> "e receipt"): a space in one matches spaces or a hyphen
    by_words = {" ".join(k.split()): v for k, v in mapping.items()}

    def alternatives(keys: list[str]) -> str:
        return "|".join(r"[\s\-]+".join(re.escape(part) for part in k.split())
                        for k in sorted(keys, key=len, reverse=True))

    # a word of digits only ("886", "88": goodbyes) stands alone, or it is an amount ("刷了886块")
    numeric = [k for k in by_words if k.replace(" ", "").isdigit()]
    wordy = [k for k in by_words if k not in numeric]
    parts = []
    if wordy:
        parts.append(rf"(?<![a-z0-9])(?:{alternatives(wordy)})(?![a-z0-9])")
    if numeric:
        parts.append(rf"(?<![\w.])(?:{alternatives(numeric)})(?![\w.])")
    pattern = re.compile("|".join(parts))

    def chinese(match: re.Match[str]) -> str:
        # a space only where Latin letters or digits touch the word ("sign in失败" -> "签到失败", but
        # "刷卡ok了" stays one clause, not three)
        text = match.string
        before = " " if match.start() and text[match.start() - 1].isascii() and text[match.start() - 1].isalnum() else ""
        after = " " if match.end() < len(text) and text[match.end()].isascii() and text[match.end()].isalnum() else ""
        return before + by_words[" ".join(re.split(r"[\s\-]+", match.group()))] + after

    return lambda text: pattern.sub(chinese, text)
