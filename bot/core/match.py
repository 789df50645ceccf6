"""Rank intents for a question: exact codes first, then rapidfuzz over names, aliases and examples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

import numpy as np
from rapidfuzz import fuzz, process

from bot.core.codes import CodeHit, find_codes
from bot.core.loader import Content
from bot.core.models import CodeIntent, Intent
from bot.core.normalise import Normaliser, prepare, strip_symbols
from bot.core.segment import Segmenter

Via = Literal["code", "fuzzy", "vendor_code"]

MAX_CANDIDATES = 5
MIN_PHRASE_SCORE = 30.0
"""Blended score (0..100) below which an intent is noise and not listed as a candidate."""
VENDOR_CODE_SCORE = 0.9
"""A vendor code (S3, E001) after a cue word is strong evidence the question is unknown_decline."""
VENDOR_CODE_INTENT = "unknown_decline"
GENERIC_SHARE = 0.08
"""A word found in the phrases of more than this share of intents (卡, 刷卡, pos机) says nothing
about which one is meant; text left beside a code must hold another word to suggest a symptom."""
MAX_NAME_WORD = 4
"""Intent names and aliases up to this many characters join jieba's dictionary."""
SCORERS = ((fuzz.token_set_ratio, 0.3), (fuzz.token_sort_ratio, 0.7))
"""How a question is compared with an intent's phrases: each scorer's best phrase per intent,
blended with these weights. token_set_ratio forgives extra words ("刷卡时" + a known phrase) but
scores any subset 100, so alone it cannot tell off-topic questions apart; token_sort_ratio
penalises what does not match. The blend beat every single rapidfuzz scorer on top-1 and on
out-of-scope rejection in benchmarks/accuracy.py --scorers (numbers in the README)."""


@dataclass(frozen=True)
class Candidate:
    """One intent and how well the question fits it (0..1)."""

    intent: str
    code: str | None
    score: float
    via: Via
    phrase: str = ""


@dataclass(frozen=True)
class Analysis:
    """What the matcher saw in a question; `candidates` are ranked, one per intent."""

    query: str
    normalised: str
    tokens: tuple[str, ...]
    codes: tuple[str, ...]
    vendor_codes: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    symptom: Candidate | None = None
    """With a code in the question, the best symptom found in the rest of it ("扣钱了但显示96"),
    if the rest holds any word more specific than the generic ones."""
    refused: bool = False
    """The question asks for something on the red lines (lexicon `refuse`: 套现, 规避风控 …)."""


class Matcher:
    """Built once per content version; `analyse` is pure and thread-safe."""

    def __init__(self, content: Content) -> None:
        self.content = content
        lexicon = content.lexicon
        words = set(lexicon.words) | set(lexicon.typos.values()) | {group[0] for group in lexicon.synonyms}
        names = {intent.name for intent in content.intents} | {a for i in content.intents for a in i.aliases}
        self.normaliser = Normaliser(vocabulary=words | names, synonyms=lexicon.synonyms, typos=lexicon.typos)
        # long names and aliases would become single jieba tokens and hide their parts
        # ("申请刷卡机" must still share 刷卡机 with other phrases), so only short ones are words
        short_names = {name for name in names if len(name) <= MAX_NAME_WORD}
        synonyms = {word for group in lexicon.synonyms for word in group}
        self.segmenter = Segmenter(self.normaliser.normalise(w) for w in words | short_names | synonyms)
        self.stopwords = frozenset(self.normaliser.normalise(word) for word in lexicon.stopwords)
        self.refuse = tuple(self.normaliser.normalise(word) for word in lexicon.refuse)
        self.known_codes = frozenset(content.by_code)
        # phrases of one intent are contiguous, so an intent's best score is one reduceat slice
        self._intents: list[Intent] = []
        self._texts: list[str] = []
        self._sources: list[tuple[str, str]] = []
        starts: list[int] = []
        for intent in content.intents:
            forms = [(source, self.match_form(text)) for source, text in _phrases_of(intent)]
            forms = [(source, form) for source, form in forms if form]
            if not forms:
                continue
            self._intents.append(intent)
            starts.append(len(self._texts))
            for source, form in forms:
                self._texts.append(form)
                self._sources.append((intent.id, source))
        self._starts = np.array(starts, dtype=np.intp)
        intents_with: dict[str, set[str]] = {}
        for (intent_id, _source), text in zip(self._sources, self._texts, strict=True):
            for token in text.split():
                intents_with.setdefault(token, set()).add(intent_id)
        limit = max(1, int(GENERIC_SHARE * len(self._intents)))
        self.generic = frozenset(t for t, owners in intents_with.items() if len(owners) > limit)
        self._stops = np.append(self._starts[1:], len(self._texts)).astype(np.intp)

    @property
    def phrase_count(self) -> int:
        return len(self._texts)

    def tokens(self, text: str) -> list[str]:
        """Normalised words of `text` without stopwords."""
        return self._words(self.normaliser.normalise(text))

    def _words(self, normalised: str) -> list[str]:
        words = (self.normaliser.canonical(t) for t in self.segmenter.cut(normalised))
        return [w for w in words if w not in self.stopwords]

    def match_form(self, text: str) -> str:
        """The string rapidfuzz compares: normalised words without stopwords, space-separated."""
        return " ".join(self.tokens(text))

    def analyse(self, question: str, *, exclude: tuple[str, str] | None = None) -> Analysis:
        """Rank intents for `question`. `exclude` = (intent id, source) leaves one phrase out
        (the validator asks how an example would fare if it were not itself in the index)."""
        prepared = prepare(question)
        hits = find_codes(prepared, self.known_codes)
        known = [h for h in hits if h.known]
        vendor = [h.code for h in hits if not h.known]
        rest = _without(prepared, hits)
        normalised = self.normaliser.normalise_folded(strip_symbols(rest))
        tokens = tuple(self._words(normalised))
        refused = any(word in normalised for word in self.refuse)
        fuzzy = [] if refused else self._rank(" ".join(tokens), exclude=exclude)

        ranked: list[Candidate] = [
            Candidate(self.content.by_code[h.code].id, h.code, 1.0, "code", h.code) for h in known]
        symptom = None
        if known and any(t not in self.generic for t in tokens):
            symptom = next((c for c in fuzzy if c.code is None), None)
        if vendor and not known and VENDOR_CODE_INTENT in self.content.by_id:
            ranked.append(Candidate(VENDOR_CODE_INTENT, None, VENDOR_CODE_SCORE, "vendor_code", vendor[0]))
        taken = {c.intent for c in ranked}
        for candidate in fuzzy:
            if candidate.intent in taken:
                continue
            ranked.append(candidate)
            taken.add(candidate.intent)
        ranked.sort(key=lambda c: c.score, reverse=True)
        return Analysis(
            query=question,
            normalised=normalised,
            tokens=tokens,
            codes=tuple(h.code for h in known),
            vendor_codes=tuple(vendor),
            candidates=tuple(ranked[:MAX_CANDIDATES]),
            symptom=symptom,
            refused=refused,
        )

    def _rank(self, form: str, *, exclude: tuple[str, str] | None) -> list[Candidate]:
        """Score every phrase with each scorer, keep each intent's best per scorer, blend them."""
        if not form:
            return []
        blended = np.zeros(len(self._intents))
        best_rows: list[np.ndarray] = []
        for scorer, weight in SCORERS:
            row = process.cdist([form], self._texts, scorer=scorer, processor=None, dtype=np.float32,
                                workers=1)[0]
            if exclude is not None:
                row[self._excluded(exclude)] = 0.0
            best = np.maximum.reduceat(row, self._starts)
            blended += weight * best
            best_rows.append(row)
        blended /= 100.0
        order = np.argsort(-blended, kind="stable")[:MAX_CANDIDATES * 2]
        candidates = []
        for index in order:
            value = float(blended[index])
            if value * 100 < MIN_PHRASE_SCORE:
                break
            intent = self._intents[index]
            start, stop = self._starts[index], self._stops[index]
            phrase_index = start + int(np.argmax(best_rows[0][start:stop]))
            code = intent.code if isinstance(intent, CodeIntent) else None
            candidates.append(Candidate(intent.id, code, round(value, 4), "fuzzy", self._texts[phrase_index]))
        return candidates

    def _excluded(self, exclude: tuple[str, str]) -> list[int]:
        return [n for n, (intent_id, source) in enumerate(self._sources) if (intent_id, source) == exclude]


def _phrases_of(intent: Intent) -> Iterable[tuple[str, str]]:
    yield "name", intent.name
    for index, alias in enumerate(intent.aliases):
        yield f"aliases.{index}", alias
    for index, example in enumerate(intent.examples):
        yield f"examples.{index}", example


def _without(text: str, hits: list[CodeHit]) -> str:
    for hit in sorted(hits, key=lambda h: h.start, reverse=True):
        text = text[:hit.start] + " " + text[hit.end:]
    return text
