"""Word segmentation with a private jieba Tokenizer whose user words come from the content."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Iterable


def _import_jieba() -> ModuleType:
    """jieba, imported without pkg_resources. jieba imports it only to open its own data files, and
    importing it costs about 80 ms of every start (setuptools reads every installed distribution's metadata);
    when it is missing jieba opens the same files by their path. Nothing else of posbot needs it, and
    another library that does still imports it afterwards."""
    if "pkg_resources" in sys.modules or "jieba" in sys.modules:
        return importlib.import_module("jieba")
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # makes `import pkg_resources` fail
    try:
        return importlib.import_module("jieba")
    finally:
        del sys.modules["pkg_resources"]


jieba = _import_jieba()

# jieba logs "Building prefix dict ..." at INFO on its own logger; keep our output clean
jieba.setLogLevel(logging.WARNING)

MIN_DICT_FREQ = 10
"""jieba's own dictionary is cut to words at least this frequent (105,000 of 349,000): the rest are
rare names and terms no merchant question needs, and the full table costs ~80 MiB per Tokenizer.
Measured in benchmarks/accuracy.py (no set lost a question) and benchmarks/startup.py (memory)."""
USER_WORD_FREQ = 50_000
"""High enough that a domain word beats jieba's own split of it (jieba's frequent words are ~1e5)."""


def cache_dir() -> Path:
    """Where jieba may keep its parsed main dictionary between runs (a ~0.5 s saving per start)."""
    root = os.environ.get("POSBOT_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "posbot-cache")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def pruned_dictionary(min_freq: int = MIN_DICT_FREQ) -> Path:
    """jieba's dictionary without its rarest words, written once into the cache directory (through a
    temporary file and a rename, so two processes starting together never read half a file)."""
    path = cache_dir() / f"jieba-dict-min{min_freq}.txt"
    if path.exists():
        return path
    source = Path(str(jieba.__file__)).with_name("dict.txt")
    kept = [line for line in source.read_text(encoding="utf-8").splitlines()
            if len(line.split()) >= 2 and line.split()[1].isdigit() and int(line.split()[1]) >= min_freq]
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write("\n".join(kept) + "\n")
    os.replace(temporary, path)
    return path


class Segmenter:
    """Splits normalised text into words; never touches the global `jieba.dt`."""

    def __init__(self, words: Iterable[str] = ()) -> None:
        self._tokenizer = jieba.Tokenizer(dictionary=str(pruned_dictionary()))
        self._tokenizer.tmp_dir = str(cache_dir())
        self._tokenizer.initialize()
        self.words = tuple(sorted({w for w in words if w and " " not in w}))
        self._general = {word: int(found) for word in self.words if (found := self._tokenizer.FREQ.get(word))}
        """jieba's own frequency of each user word, before USER_WORD_FREQ overwrote it."""
        for word in self.words:
            self._tokenizer.add_word(word, freq=USER_WORD_FREQ)

    def cut(self, text: str) -> list[str]:
        """Words of `text`, spaces dropped. HMM stays on so unknown words are still grouped."""
        return [token for token in self._tokenizer.lcut(text, HMM=True) if token.strip()]

    def frequency(self, word: str) -> int:
        """How often `word` occurs in jieba's dictionary (general Chinese; 0 if it is not there)."""
        return int(self._tokenizer.FREQ.get(word, 0))

    def general_frequency(self, word: str) -> int:
        """How common `word` is: its frequency here, or jieba's own where that is higher. A user word has
        USER_WORD_FREQ here, less than jieba gives the commonest (的 318,825, 他 401,339, 了 883,634): taken as they
        are here, a pinyin "de" read as 得 (134,479) and "ta" as 她."""
        return max(self.frequency(word), self._general.get(word, 0))

    def known_words(self, text: str) -> list[str]:
        """`text` as dictionary words and single characters: without HMM, a typo ("小飘") is never
        grouped with its neighbours into a made-up word ("小飘是")."""
        words: list[str] = self._tokenizer.lcut(text, HMM=False)
        return words


class Cuts:
    """One question's segmentations: each text is cut once however many of the matcher's forms read it (a
    clause's words, its small-talk form, the whole message's small-talk form), and the message made of its
    clauses joined by spaces is their cuts side by side (jieba cuts each run between spaces on its own, so that
    is what cutting it again would give). Made per question: nothing is kept from one question to the next."""

    __slots__ = ("_segmenter", "_cuts", "_joined", "_parts")

    def __init__(self, segmenter: Segmenter, parts: Iterable[str] = ()) -> None:
        self._segmenter = segmenter
        self._cuts: dict[str, list[str]] = {}
        self._parts = [part for part in parts if part]
        self._joined = " ".join(self._parts)

    def cut(self, text: str) -> list[str]:
        """Segmenter.cut(text), each distinct text segmented once."""
        words = self._cuts.get(text)
        if words is None:
            if len(self._parts) > 1 and text == self._joined:
                words = [word for part in self._parts for word in self.cut(part)]
            else:
                words = self._segmenter.cut(text)
            self._cuts[text] = words
        return words
