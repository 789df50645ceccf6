"""A second opinion on red lines: naive Bayes over character n-grams, words and word pairs, learnt from the content.

The matcher refuses a red line when a pattern, a signal or an example fits it closely. A request told in
words none of those has ("先刷我卡上的钱 过两天你打回来") then scores low against every intent and is asked
about or falls back. Naive Bayes weighs each character pair and word by how much more often red lines use it
than the rest of the content does, so it reads a request by the words it shares with hundreds of others, not
with one. It is asked only when the matcher would clarify or fall back; what it refuses is refused as unsure
(the reply names what it took the question for and asks to be corrected: bot/core/answer.py).

Trained at each content load from every red line's aliases, `examples` and `model_examples` (the requests), and
every other intent's aliases and `examples`, every `not_examples`, the red lines' `model_not_examples` and the
lexicon's `everyday` (the rest): closed form, one pass over ~7,000 sentences (about 0.25 s), so an admin's edit
counts at the next reload without a training step. Kept between starts beside the phrase forms (`arrays`).
Features as scikit-learn's TfidfVectorizer builds them (sublinear tf, smoothed idf, l2 per block), which
tests/core/test_redline_model.py checks against scikit-learn's MultinomialNB on the same features.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from bot.core.normalise import prepare, strip_symbols

SMOOTHING = 0.3
"""Additive (Lidstone) smoothing of the feature counts. At release, 0.3 and 0.1 refused about as many held-out
requests for as many other questions refused (109 for 10 at 0.97, and 114 for 12 at 0.99:
benchmarks/accuracy.py --redline-model); 1.0 refused fewer for as many (86 for 6 at 0.9) and pulls every
probability down, so MODEL_REFUSE_AT would have to move with it."""
MIN_DOCUMENTS = 2
"""A character n-gram or word in fewer training sentences than this is left out: seen once, it says only
which sentence it came from."""
LONGEST_GRAM = 3
WORD_MARK = "\x01"
"""Words and character n-grams share one vocabulary; words are told apart by this first character."""


@dataclass(frozen=True)
class Verdict:
    probability: float
    """How likely the text asks for something on a red line (0–1), the two classes weighed equally."""
    intent: str | None
    """The red line it is most like, None when the model knows no red line."""


def model_text(text: str) -> str:
    """A training sentence as the model reads it: simplified, lower-case, symbols as spaces (as a question's
    normalised text is)."""
    return strip_symbols(prepare(text))


_WORRY = re.compile(r"(会不会|会|能不能|容不容易|怕|担心)?(被|遭)?(风控|查到|查出来|查|封号|封机|封|冻结|冻|发现|抓)(吗|不|啊|呀|了)?")


def without_worries(text: str) -> str:
    """`text` without the worry it ends on ("…会不会被风控", "…会被查吗"): the model reads the act, not the fear of
    being caught. Red-line requests are often told as "<the act>, 会不会被查"; without this, the honest "刷大额会不会被
    风控" is judged by the worry those requests share."""
    return " ".join(_WORRY.sub(" ", text).split())


def character_grams(text: str) -> list[str]:
    """Character 1–3-grams inside each space-separated run, the run padded with a space at each end (so a
    run's first and last characters are features of their own: scikit-learn's analyzer="char_wb")."""
    grams: list[str] = []
    for run in text.split():
        padded = f" {run} "
        for size in range(1, LONGEST_GRAM + 1):
            grams.extend(padded[i:i + size] for i in range(len(padded) - size + 1))
    return grams


def word_features(words: Iterable[str]) -> list[str]:
    """The matcher's words and each pair of neighbours ("刷 现金", "转 他"), marked as words. With pairs, the model
    refused more held-out requests for as many other questions refused (109 for 10 at 0.97, against 98 for 9 at
    0.98 without), and more of the unread sets' red lines."""
    listed = list(words)
    pairs = [f"{WORD_MARK}{first} {second}" for first, second in itertools.pairwise(listed)]
    return [WORD_MARK + word for word in listed] + pairs


def _weighted(counts: Counter[str], vocabulary: dict[int, int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(feature numbers, weights): 1 + ln(count) times idf, l2-normalised."""
    known = [(number, n) for f, n in counts.items() if (number := vocabulary.get(hash(f))) is not None]
    if not known:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    numbers = np.fromiter((number for number, _n in known), dtype=np.intp, count=len(known))
    weights = np.fromiter((1.0 + math.log(n) for _number, n in known), dtype=float, count=len(known)) * idf[numbers]
    return numbers, weights / np.linalg.norm(weights)


def _give_back_freed_memory() -> None:
    """Return the heap freed by training to the system. Training's numpy arrays (~30 MB at the peak, freed at the
    end) are carved from the heap once glibc has raised its mmap threshold, and glibc keeps a freed heap: one bot
    process stayed 27 MB larger for good without this. A no-op where the C library is not glibc."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):
        pass


class RedlineModel:
    """Learnt once per content version; `judge` is pure and thread-safe."""

    _is_request: np.ndarray
    """Per feature: how much more a red-line request uses it than the rest does (log-probability ratio)."""
    _which: np.ndarray
    """Per red line and feature: its log-probability in that red line's requests."""

    def __init__(self, requests: Sequence[tuple[str, str, Sequence[str]]], others: Sequence[tuple[str, Sequence[str]]]) -> None:
        """`requests`: (red line id, text, its words) of every red-line sentence; `others`: (text, its words)
        of every other sentence. Texts are normalised (simplified, lower-case, symbols as spaces), words are
        the matcher's."""
        sentences = [(text, words) for _intent, text, words in requests] + list(others)
        self.red_lines = sorted({intent for intent, _text, _words in requests})
        if not sentences:  # content with no sentence at all: a model that knows nothing
            self.vocabulary, self.idf, self._names = {}, np.zeros(0), []
            self._is_request, self._which = np.zeros(0), np.zeros((len(self.red_lines), 0))
            return
        # every feature of every sentence as its hash, and its block: block 2d is sentence d's characters, 2d + 1 its
        # words. Hashes in arrays, not strings in lists or dicts: a list of every n-gram of ~7,000 sentences held
        # ~60 MB at once, which the process kept after training. Features are known by their hash from here on
        # (64 bits: among ~100,000 features, two sharing one is a chance of about 1 in 10^9)
        hashes = array("q")
        block_numbers = array("q")
        for number, (text, words) in enumerate(sentences):
            for side, features in enumerate((character_grams(text), word_features(words))):
                hashes.extend(map(hash, features))
                block_numbers.extend(repeat(2 * number + side, len(features)))
        distinct, seen_numbers = np.unique(np.frombuffer(hashes, dtype=np.int64), return_inverse=True)
        pairs = np.frombuffer(block_numbers, dtype=np.int64) * len(distinct) + seen_numbers
        del hashes, block_numbers, seen_numbers
        unique, repeats = np.unique(pairs, return_counts=True)
        block_of, seen_of = unique // len(distinct), unique % len(distinct)
        documents_with = np.bincount(seen_of, minlength=len(distinct))
        # a feature in fewer than MIN_DOCUMENTS sentences is dropped; the rest are numbered in the order of their hashes
        kept = documents_with >= MIN_DOCUMENTS
        renumber = np.cumsum(kept) - 1
        self.vocabulary = {int(distinct[n]): int(renumber[n]) for n in np.flatnonzero(kept)}
        """A kept feature's hash -> its number."""
        self._names = self._kept_names(sentences)
        size, total = len(self.vocabulary), len(sentences)
        self.idf = np.log((1 + total) / (1 + documents_with[kept])) + 1.0
        present = kept[seen_of]
        block_of, feature_of, repeats = block_of[present], renumber[seen_of[present]], repeats[present]
        weights = (1.0 + np.log(repeats.astype(float))) * self.idf[feature_of]
        norms = np.sqrt(np.bincount(block_of, weights=weights * weights, minlength=2 * total))
        weights /= norms[block_of]
        # class 0: the rest; classes 1..: each red line
        classes = np.array([1 + self.red_lines.index(intent) for intent, _text, _words in requests] + [0] * len(others),
                           dtype=np.intp)
        cells = classes[block_of // 2] * size + feature_of
        counts = np.bincount(cells, weights=weights, minlength=(1 + len(self.red_lines)) * size).reshape(-1, size)
        requested = counts[1:].sum(axis=0)
        self._is_request = self._log_probabilities(requested) - self._log_probabilities(counts[0])
        self._which = np.vstack([self._log_probabilities(row) for row in counts[1:]]) if self.red_lines else counts[1:]
        del block_of, feature_of, repeats, weights, norms, cells, counts, pairs, unique, present
        _give_back_freed_memory()

    def _kept_names(self, sentences: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
        """The kept features by number, as strings (a second pass: training itself keeps only their hashes)."""
        names = [""] * len(self.vocabulary)
        for text, words in sentences:
            for feature in (*character_grams(text), *word_features(words)):
                number = self.vocabulary.get(hash(feature))
                if number is not None:
                    names[number] = feature
        return names

    def arrays(self) -> dict[str, np.ndarray]:
        """What the model is, to keep between starts (bot/core/formcache.py): strings and numbers only."""
        return {"red_lines": np.array(self.red_lines, dtype=str), "features": np.array(self._names, dtype=str),
                "idf": self.idf, "is_request": self._is_request, "which": self._which}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> RedlineModel:
        """A model as `arrays` kept it. Hashes of strings differ from process to process, so the vocabulary is
        hashed again here."""
        model = cls.__new__(cls)
        model.red_lines = [str(name) for name in arrays["red_lines"]]
        model._names = [str(name) for name in arrays["features"]]
        model.vocabulary = {hash(name): number for number, name in enumerate(model._names)}
        model.idf, model._is_request, model._which = arrays["idf"], arrays["is_request"], arrays["which"]
        size = len(model._names)
        if (model.idf.shape != (size,) or model._is_request.shape != (size,)
                or model._which.shape != (len(model.red_lines), size)):
            raise ValueError("the kept red-line model does not fit together")
        return model

    @staticmethod
    def _log_probabilities(counts: np.ndarray) -> np.ndarray:
        smoothed = counts + SMOOTHING
        return np.log(smoothed) - math.log(float(smoothed.sum()))

    @staticmethod
    def _features(text: str, words: Iterable[str]) -> tuple[Counter[str], Counter[str]]:
        return Counter(character_grams(text)), Counter(word_features(words))

    def _vectors(self, document: tuple[Counter[str], Counter[str]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each block (characters, words) weighted and normalised on its own, as a union of two vectorizers is."""
        return [_weighted(block, self.vocabulary, self.idf) for block in document]

    def judge(self, text: str, words: Iterable[str]) -> Verdict:
        """`text` normalised as the training texts are, `words` the matcher's words of it."""
        vectors = self._vectors(self._features(text, words))
        if not self.red_lines or not any(len(numbers) for numbers, _weights in vectors):
            return Verdict(0.0, None)
        evidence = sum(float(weights @ self._is_request[numbers]) for numbers, weights in vectors)
        which = sum((self._which[:, numbers] @ weights for numbers, weights in vectors), np.zeros(len(self.red_lines)))
        probability = 1.0 / (1.0 + math.exp(-max(-700.0, min(700.0, evidence))))
        return Verdict(probability, self.red_lines[int(np.argmax(which))])
