"""Rank intents for a question: exact codes first, then rapidfuzz over names, aliases and examples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

from rapidfuzz import fuzz, process

from bot.core.codes import CodeHit, find_codes
from bot.core.loader import Content
from bot.core.models import CodeIntent, Intent
from bot.core.normalise import Normaliser, prepare, strip_symbols
from bot.core.segment import Segmenter

Via = Literal["code", "fuzzy", "vendor_code"]

MAX_CANDIDATES = 5
PHRASES_CONSIDERED = 60
"""Best-scoring phrases looked at before collapsing to one score per intent; far more than the
number of intents ever within reach of the top, so the ranking is the same as scoring them all."""
MIN_PHRASE_SCORE = 30.0
"""rapidfuzz score (0..100) below which a phrase is noise; saves sorting hundreds of weak hits."""
VENDOR_CODE_SCORE = 0.9
"""A vendor code (S3, E001) after a cue word is strong evidence the question is unknown_decline."""
VENDOR_CODE_INTENT = "unknown_decline"
SCORER = fuzz.token_set_ratio
"""How a phrase is compared with a question (0..100); chosen by benchmarks/accuracy.py --scorers."""


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
    """With a code in the question, the best symptom found in the rest of it ("扣钱了但显示96")."""


@dataclass(frozen=True)
class _Phrase:
    intent: Intent
    text: str
    source: str


class Matcher:
    """Built once per content version; `analyse` is pure and thread-safe."""

    def __init__(self, content: Content) -> None:
        self.content = content
        lexicon = content.lexicon
        vocabulary = set(lexicon.words) | set(lexicon.typos.values())
        for intent in content.intents:
            vocabulary.add(intent.name)
            vocabulary.update(intent.aliases)
        vocabulary.update(group[0] for group in lexicon.synonyms)
        self.normaliser = Normaliser(vocabulary=vocabulary, synonyms=lexicon.synonyms, typos=lexicon.typos)
        self.segmenter = Segmenter(self.normaliser.normalise(word) for word in vocabulary)
        self.stopwords = frozenset(self.normaliser.normalise(word) for word in lexicon.stopwords)
        self.known_codes = frozenset(content.by_code)
        self._phrases: dict[int, _Phrase] = {}
        self._choices: dict[int, str] = {}
        for intent in content.intents:
            for source, text in _phrases_of(intent):
                form = self.match_form(text)
                if form:
                    key = len(self._phrases)
                    self._phrases[key] = _Phrase(intent, form, source)
                    self._choices[key] = form

    @property
    def phrase_count(self) -> int:
        return len(self._choices)

    def tokens(self, text: str) -> list[str]:
        """Normalised words of `text` without stopwords."""
        return [t for t in self.segmenter.cut(self.normaliser.normalise(text)) if t not in self.stopwords]

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
        tokens = tuple(t for t in self.segmenter.cut(normalised) if t not in self.stopwords)
        fuzzy = self._rank(" ".join(tokens), exclude=exclude)

        ranked: list[Candidate] = [
            Candidate(self.content.by_code[h.code].id, h.code, 1.0, "code", h.code) for h in known]
        symptom = None
        if known:
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
        )

    def _rank(self, form: str, *, exclude: tuple[str, str] | None) -> list[Candidate]:
        if not form:
            return []
        results = process.extract(form, self._choices, scorer=SCORER, processor=None,
                                  limit=PHRASES_CONSIDERED, score_cutoff=MIN_PHRASE_SCORE)
        best: dict[str, Candidate] = {}
        for _text, value, key in results:
            phrase = self._phrases[key]
            if exclude is not None and (phrase.intent.id, phrase.source) == exclude:
                continue
            if phrase.intent.id not in best:
                code = phrase.intent.code if isinstance(phrase.intent, CodeIntent) else None
                best[phrase.intent.id] = Candidate(phrase.intent.id, code, round(value / 100, 4), "fuzzy",
                                                   phrase.text)
        return list(best.values())


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
