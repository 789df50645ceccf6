"""Rank intents for a question: exact codes first, then rapidfuzz over names, aliases and examples."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Literal

import numpy as np
from rapidfuzz import fuzz, process

from bot.core.clauses import Clause, split_clauses
from bot.core.codes import CodeHit, find_codes
from bot.core.disowned import Disowner
from bot.core import formcache
from bot.core.redline_model import RedlineModel, Verdict, model_text, without_worries
from bot.core.literals import lazy_searches, required_literals
from bot.core.index import LONG_PROFILE_SHARE, PROFILE_SHARE, IntentProfiles, PhraseIndex
from bot.core.loader import Content
from bot.core.models import CodeIntent, Intent, IntentKind, Lexicon, SmalltalkIntent, signal_groups
from bot.core.normalise import Normaliser, fold, prepare, sound_key, strip_symbols
from bot.core import pinyin
from bot.core.pinyin import split_syllables, transliterate
from bot.core.segment import Cuts, Segmenter
from bot.core.signals import CharacterIndex, Signals, positions

Via = Literal["code", "fuzzy", "vendor_code", "pattern", "display"]
Scorer = Callable[..., Any]
"""A rapidfuzz scorer (fuzz.ratio, fuzz.token_set_ratio …)."""

MAX_CANDIDATES = 5
MIN_PHRASE_SCORE = 20.0
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
MIN_UNIT_WORDS = 2
"""A clause is scored on its own only with at least this many words: one word ("扣款") fits too many
short phrases by accident."""
GENERIC_WORDS = frozenset({"pos机", "刷卡", "顾客", "交易", "收款"})
"""Domain words that say nothing about which problem it is: alone they are not worth a "您是想问…"."""
PARTICLES = frozenset("了吗呢啊吧的呀啦嘛哈么呗咯哇噢")
"""Sentence particles: no meaning of their own in small talk."""
TALK_PROFILE_SHARE = 0.5
"""PROFILE_SHARE for small talk among itself. Read blind sets: 0.3 and 0.5 fixed 6 and lost 2, 1.0 fixed 7 and
lost 4."""
LITERALS_KEY = "#literals "
"""Where the form cache keeps what a red-line pattern cannot match without (its key: this and the pattern)."""
SYLLABLES_KEY = "#pinyin-syllables"
REDLINE_MODEL_CACHE = "redline-model"
"""The red-line model's arrays are kept beside the phrase forms, under this name (learning it is ~0.25 s a start)."""
"""Where the phrase-form cache keeps pinyin's syllable inventory (bot/core/pinyin.py), so a start does not read it
from pypinyin's table again."""
MARKER_SCORE = 0.8
"""A redirect's marker word in the question puts it first (over ANSWER_AT; a close problem intent still
makes it a question rather than an answer, by MARGIN)."""
TALK_OVER = 0.45
"""A message with a possible problem word but no problem intent fitting it this well may still be small
talk, told by one of its clauses."""
CLAUSE_TALK = 0.65
"""How close such a clause (or the whole message) must be to a small-talk phrase. 0.8, 0.7, 0.65 and 0.6 were
tried on the read blind sets: each step down fixed small talk and lost nothing there, but at 0.6 a red-line
example ("定位能设置成店里的地址吗 我人在别处") became a greeting in `posbot validate`."""
SOUND_PRIOR = 2_000
"""A single character's jieba frequency / this is added to its count in the content when a pinyin syllable
is read alone: 但 (110,709) gains 55, 单 (5,823) 3, so a few examples using 单 no longer turn "dan" into 单;
机 (6,937, +3.5) still beats 寄 (2,577, +1.3) that 寄回 examples use more often. Pure jieba frequency read "ji"
as 急 and lost read pinyin questions; 1,000 also reads "ji" as 急; 2,000 to 100,000 score the read sets alike.
The frequency is Segmenter.general_frequency: jieba's own where posbot's user words were given less ("de" is 的)."""
OTHER_SOUND_WEIGHT = 0.25
"""How much a word of small talk, a redirect or a red line counts when choosing the word a pinyin sound
stands for, against a terminal problem's word (1)."""
TALK_WORDS = 2 / 3
"""Share of a form's words that must be small talk's own for that form to be taken as small talk."""
MIN_TERM_LETTERS = 3
"""A Latin word inside a run of pinyin is taken as a word of its own from this length (Matcher._terms_inside_pinyin)."""
STORY_CLAUSES = 4
"""A message of this many clauses or more is a story: a redirect's marker word in it may be context."""
STORY_SECOND = 0.01
"""In a story, a redirect lifted by a marker comes just under the best terminal problem (it is still offered)."""
LONG_MESSAGE = 50
"""Chinese characters from which a message is long and its profile weighs LONG_PROFILE_SHARE (counted in
characters, not clauses: English words split a short question into many clauses). Read blind sets against
0.5 everywhere: from 30 characters 10 fixed and 4 lost, from 40 10 and 3, from 50 10 and 2 (holdout +1 at
each); counting four clauses instead fixed 12 and lost 6, most of those English."""
MARKER_TIE = 0.01
"""How far apart two redirects lifted by markers in one question are placed (posbot asks, the better one first)."""
MARKER_YIELDS_AT = 0.55
"""A red line that fits by its examples this well (decide.REFUSE_AT) is not passed by a redirect's marker: the
marker names the other party's world (房贷, 贷款), the red line names the act ("拿信用卡在自己机器刷一笔 还房贷")."""
MARKER_UNDER_REDLINE = 0.06
"""Where MARKER_YIELDS_AT holds, a marker lifts its redirect to this far under the red line (just over
decide.REFUSE_MARGIN, so the red line is refused)."""
STORY_PROBLEM_FROM = 0.40
"""A terminal problem fitting a story this well (decide.CLARIFY_AT: one posbot would offer at all) holds back
the redirects told beside it. Read blind sets: 0.30 fixed 5 stories about someone else's job, 0.35 fixed 7,
0.40 fixed 8 (9 with the content of the next pass); none lost."""
STORY_LEAD = 0.05
"""How far a redirect that fits by its examples may lead the best terminal problem in a story: less than
decide.MARGIN, so posbot asks (redirect first) rather than sends the merchant away. Capping it under the
problem instead (as markers are) lost 14 read blind questions of someone else's job told as a story."""
TERMINAL_NAMES = ("pos", "刷卡", "终端", "电签", "签购单", "小票", "收款机", "机子", "部机")
"""Words that name the merchant's terminal or its use (机器 is normalised to pos机; "顾客刷卡交话费" is a sale on it)."""
MARKER_LEAD = 0.16
"""Over a problem, where the question never names the terminal, a marked redirect leads by this (decide.MARGIN
and a little): it is answered."""
FULL_MATCH = 1.0
SUPPORT = 0.5
SUPPORT_FROM = 0.3
"""A story (three clauses or more) that two clauses each fit to an intent gains SUPPORT x (the second
clause's score - SUPPORT_FROM): "通讯失败 … 手机来了扣款短信 … 我这没成功" tells charged_but_failed twice,
network_failure once. Chosen on the read blind sets (benchmarks/accuracy.py): 0.5/0.3 over 0.3/0.3,
0.5/0.35, 0.8/0.35, 1.0/0.4; dev4a long 0.83 -> 0.91, dev5a long 0.81 -> 0.86, no set lower."""
FUZZY_SHARE = 0.5
"""How a phrase's score is made: this share of the rapidfuzz blend (spelling, order, typos), the rest
weighted word overlap (bot/core/index.py: what the shared words say). Chosen in benchmarks/accuracy.py."""



@dataclass(frozen=True)
class Candidate:
    """One intent and how well the question fits it (0..1)."""

    intent: str
    code: str | None
    score: float
    via: Via
    phrase: str = ""
    kind: IntentKind = "symptom"
    """The intent's kind: code, symptom, smalltalk, redirect or redline."""


def _scored(candidate: Candidate, score: float) -> Candidate:
    """`candidate` with another score: dataclasses.replace(candidate, score=score), which reads the class's fields
    at every call (2.6 against 1.2 us; a message rescores its candidates two or three times)."""
    return Candidate(candidate.intent, candidate.code, score, candidate.via, candidate.phrase, candidate.kind)


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
    specific: bool = True
    """The question holds a code, a domain word (the lexicon's, a problem intent's name) or a rare one:
    worth a "您是想问…" even at a low score (decide.py)."""


class Matcher:
    """Built once per content version; `analyse` is pure and thread-safe.

    How a question is scored (numbers in benchmarks/accuracy.py):
    1. English words are written in Chinese, and pinyin as the content's words that sound like it;
    2. the text is split into clauses (bot/core/clauses.py); denied or dismissed clauses are dropped;
    3. codes are taken out (bot/core/codes.py), except those in denied clauses;
    4. red-line words and patterns refuse at once, read in the merchant's own words;
    5. the whole remaining text and each clause of two or more words with a specific one are scored
       against the phrases that share a word or a character pair with them (bot/core/index.py: cost
       follows the question, not the size of the content); each intent keeps its best unit;
    6. small talk is compared with the whole question and its clauses, only where nothing points at
       a terminal problem; a redirect's marker word puts it first;
    7. the whole message is compared with each intent's profile, every word of its phrases together
       (bot/core/index.py IntentProfiles): intents further from it than the closest lose score, so a
       long message or a new wording goes to the intent whose words it holds, not to another intent's
       single phrase that shares a few of them.
    """

    def __init__(self, content: Content) -> None:
        self.content = content
        lexicon = content.lexicon
        words = set(lexicon.words) | set(lexicon.typos.values()) | {word for group in lexicon.synonyms for word in group}
        # only names of terminal problems may pull a sound-alike slip towards them ("条码" must not
        # become the red line "跳码")
        names = {intent.name for intent in content.problems} | {a for i in content.problems for a in i.aliases}
        self.normaliser = Normaliser(vocabulary=words | names, synonyms=lexicon.synonyms, typos=lexicon.typos,
                                     english=lexicon.english)
        # long names and aliases would become single jieba tokens and hide their parts
        # ("申请刷卡机" must still share 刷卡机 with other phrases), so only short ones are words
        short_names = {name for name in names if len(name) <= MAX_NAME_WORD}
        synonyms = {word for group in lexicon.synonyms for word in group}
        self.segmenter = Segmenter(self.normaliser.normalise(w) for w in words | short_names | synonyms)
        self.normaliser.cut = self.segmenter.known_words
        self.stopwords = frozenset(self.normaliser.normalise(word) for word in lexicon.stopwords)
        self._problem_name_words = frozenset(word for intent in content.problems for name in (intent.name, *intent.aliases)
                                             for word in self.tokens(name))
        # the terminal's own words: the lexicon's words and synonyms (not what a typo or a dialect word is
        # corrected to: "唠嗑" becomes 聊天, "今日" 今天, "几多" 多少, none of them a terminal problem's)
        self._terminal_words = frozenset(
            {self.normaliser.canonical(self.normaliser.normalise(word))
             for word in (*lexicon.words, *(word for group in lexicon.synonyms for word in group))})
        self._domain_words = self._terminal_words | self._problem_name_words
        self.refuse = tuple(self.normaliser.normalise(word) for word in lexicon.refuse)
        self.disown = Disowner(lexicon.redline_names)
        self.markers = tuple((intent.id, form) for intent in content.redirects for marker in intent.markers
                             if (form := self.normaliser.normalise(marker)))
        # each marker filed under its first character: a question's characters leave the few worth a search
        self._markers_by_character = CharacterIndex([frozenset(marker[0]) for _intent_id, marker in self.markers])
        # (red line, pattern) in content order: the first found is refused; compiled at first search
        self.redline_patterns = tuple((intent.id, pattern) for intent in content.redlines for pattern in intent.patterns)
        self._searches = lazy_searches([pattern for _intent_id, pattern in self.redline_patterns])
        saved = formcache.load(content.version)
        self._known_forms = dict(saved)
        # what each pattern cannot match without: characters (most questions skip most searches on a set test) and
        # strings one of which it needs (literals.required_literals); kept in the form cache, as parsing them is
        # most of what reading the patterns costs
        literals = [self._cached_literals(pattern) for _intent_id, pattern in self.redline_patterns]
        self._pattern_needs = tuple(needs for needs, _choice in literals)
        self._pattern_choices = tuple(choice for _needs, choice in literals)
        # each pattern is filed under the first two characters of each string of its choice, when they all have two
        # (a text lacking all of those pairs lacks the choice: of the ~110 patterns whose characters a long story
        # holds, about 15 are left), else under the character it needs that fewest patterns need
        needed_by = Counter(character for needs in self._pattern_needs for character in needs)
        self._patterns_by_character = CharacterIndex(
            [frozenset(text[:2] for text in choice) if choice and min(map(len, choice)) >= 2
             else frozenset([min(needs, key=lambda c: (needed_by[c], c))]) if needs else frozenset()
             for needs, choice in zip(self._pattern_needs, self._pattern_choices, strict=True)])
        # red-line signals are looked for in the merchant's words as typed (typos fixed), redirects' as their
        # markers are, in the normalised question
        self.redline_signals = Signals(((intent.id, signal_groups(signal)) for intent in content.redlines
                                        for signal in intent.signals),
                                       lambda word: self.normaliser.fix_typos(prepare(word)))
        self.redirect_signals = Signals(((intent.id, signal_groups(signal)) for intent in content.redirects
                                         for signal in intent.signals),
                                        lambda word: self.normaliser.normalise(word).replace(" ", ""))
        self.not_the_terminal = tuple(re.compile(pattern) for pattern in lexicon.not_the_terminal)
        self.known_codes = frozenset(content.by_code)
        self.displays = _quotable_displays(content)
        self._intents: list[Intent] = []
        self._texts: list[str] = []
        self._sources: list[tuple[str, str]] = []
        owners: list[int] = []
        talk: list[bool] = []
        if SYLLABLES_KEY in saved:
            pinyin.preload(saved[SYLLABLES_KEY].split())
        else:
            self._known_forms[SYLLABLES_KEY] = " ".join(sorted(pinyin.syllables()))
        for intent in content.intents:
            is_talk = intent.kind == "smalltalk"
            forms = [(source, self._cached_form(intent, text)) for source, text in _phrases_of(intent)]
            forms = [(source, form) for source, form in forms if form]
            if not forms:
                continue
            self._intents.append(intent)
            for source, form in forms:
                self._texts.append(form)
                self._sources.append((intent.id, source))
                owners.append(len(self._intents) - 1)
                talk.append(is_talk)
        self._owner = np.array(owners, dtype=np.intp)
        self._sorted_texts = [sorted_words(text) for text in self._texts]
        self._text_array = np.array(self._texts, dtype=object)
        self._sorted_text_array = np.array(self._sorted_texts, dtype=object)
        # (intent id, source) -> its phrase numbers: the validator leaves one example out of ~2,900 analyses
        self._numbers_of_sources: dict[tuple[str, str], list[int]] = {}
        for number, intent_and_source in enumerate(self._sources):
            self._numbers_of_sources.setdefault(intent_and_source, []).append(number)
        self._talk_vocabulary = frozenset(
            self.normaliser.canonical(word) for text, is_talk in zip(self._texts, talk, strict=True) if is_talk
            for word in text.split())
        # small talk is all greeting and filler words, which are stopwords everywhere else: it is
        # compared with the whole question, stopwords kept, never through the word index
        self._talk = np.flatnonzero(np.array(talk, dtype=bool))
        indexed = [("" if is_talk else text) for text, is_talk in zip(self._texts, talk, strict=True)]
        self._index = PhraseIndex(indexed, owners)
        self._profiles = IntentProfiles(self._index, indexed, owners, len(self._intents))
        # small talk's own profiles, over its own words (every word kept, as talk_form keeps them)
        talk_intents = [n for n, intent in enumerate(self._intents) if intent.kind == "smalltalk"]
        self._talk_number = {self._intents[n].id: number for number, n in enumerate(talk_intents)}
        talk_texts = [text for text, is_talk in zip(self._texts, talk, strict=True) if is_talk]
        # a small-talk phrase's number among all phrases -> among small talk's (to leave one out)
        self._talk_phrase = {int(phrase): number for number, phrase in enumerate(self._talk)}
        talk_owners = [talk_intents.index(owner) for owner, is_talk in zip(owners, talk, strict=True) if is_talk]
        self._talk_index = PhraseIndex(talk_texts, talk_owners)
        self._talk_profiles = IntentProfiles(self._talk_index, talk_texts, talk_owners, len(talk_intents))
        self._openers = frozenset(intent.id for intent in self._intents
                                  if isinstance(intent, SmalltalkIntent) and intent.opener)
        self._is_talk = np.array([intent.kind == "smalltalk" for intent in self._intents], dtype=bool)
        self._position = {intent.id: number for number, intent in enumerate(self._intents)}
        intents_with: dict[str, set[str]] = {}
        for (intent_id, _source), text, is_talk in zip(self._sources, self._texts, talk, strict=True):
            for token in ([] if is_talk else text.split()):
                intents_with.setdefault(token, set()).add(intent_id)
        limit = max(1, int(GENERIC_SHARE * len(self._intents)))
        self.generic = frozenset(t for t, owners_of in intents_with.items() if len(owners_of) > limit)
        self._sounds = self._word_sounds(content)
        self._latin_terms = self._terms_inside_pinyin(lexicon)
        self._negatives: dict[str, list[str]] = {}
        for intent in content.intents:
            negatives = [self._cached_form(None, text) for text in getattr(intent, "not_examples", ())]
            if negatives:
                self._negatives[intent.id] = [form for form in negatives if form]
        self._sorted_negatives = {intent_id: [sorted_words(form) for form in forms]
                                  for intent_id, forms in self._negatives.items()}
        self.redline_model = self._learn_redlines(content)
        if self._known_forms != saved:
            formcache.save(content.version, self._known_forms)
        del self._known_forms

    def _learn_redlines(self, content: Content) -> RedlineModel:
        """The red-line model (bot/core/redline_model.py): as an earlier start of the same content and code kept it,
        or learnt from every sentence of the content (their words from the form cache) and kept."""
        kept = formcache.load_arrays(REDLINE_MODEL_CACHE, content.version)
        if kept is not None:
            try:
                return RedlineModel.from_arrays(kept)
            except (KeyError, ValueError):
                pass  # a file of another shape: learnt again below, and written over
        model = self._learnt_redlines(content)
        formcache.save_arrays(REDLINE_MODEL_CACHE, content.version, model.arrays())
        return model

    def _learnt_redlines(self, content: Content) -> RedlineModel:
        def sentence(text: str) -> tuple[str, str]:
            as_written = model_text(text)
            read = without_worries(as_written)
            return read, self._cached_form(None, text if read == as_written else read)

        requests = [(intent.id, *sentence(text)) for intent in content.redlines
                    for text in (*intent.aliases, *intent.examples, *intent.model_examples)]
        others = [sentence(text) for intent in content.intents if intent.kind != "redline"
                  for text in (*getattr(intent, "aliases", ()), *intent.examples)]
        others += [sentence(text) for intent in content.intents
                   for text in (*getattr(intent, "not_examples", ()), *getattr(intent, "model_not_examples", ()))]
        others += [sentence(text) for text in content.lexicon.everyday]
        return RedlineModel([(i, t, w.split()) for i, t, w in requests], [(t, w.split()) for t, w in others])

    def redline_verdict(self, analysis: Analysis, text: str | None = None) -> Verdict:
        """The red-line model's reading of an analysed question (its normalised text and words), or of `text`, a
        part of that normalised text (bot/core/decide.py model_readable)."""
        if text is None or text == analysis.normalised:
            return self._verdict_of(analysis.normalised, analysis.tokens)
        return self._verdict_of(text, tuple(self.tokens(text)))

    def _verdict_of(self, normalised: str, tokens: tuple[str, ...]) -> Verdict:
        """The red-line model's reading of a normalised text and its words, without the worry it ends on."""
        read = without_worries(normalised)
        return self.redline_model.judge(read, tokens if read == normalised else self.tokens(read))

    def _cached_literals(self, pattern: str) -> tuple[frozenset[str], tuple[str, ...]]:
        """`required_literals(pattern)`, from the form cache when a start before has worked it out."""
        key = LITERALS_KEY + pattern
        if key in self._known_forms:
            needs, choice = json.loads(self._known_forms[key])
            return frozenset(needs), tuple(choice)
        found = required_literals(pattern)
        self._known_forms[key] = json.dumps([sorted(found[0]), list(found[1])], ensure_ascii=False)
        return found

    def _word_sounds(self, content: Content) -> dict[tuple[str, ...], str]:
        """Toneless pinyin -> the word posbot knows by that sound (the most used one when two words
        sound alike), for questions typed in pinyin."""
        counts: dict[str, float] = {}
        problems = {intent.id for intent in content.problems}
        for text, (intent_id, _source) in zip(self._texts, self._sources, strict=True):
            # a question typed in pinyin is most often about the terminal: "dai guoqu" is 带过去, however
            # many loan examples say 贷
            weight = 1.0 if intent_id in problems else OTHER_SOUND_WEIGHT
            for word in text.split():
                counts[word] = counts.get(word, 0) + weight
        for word in self.stopwords | set(self.segmenter.words):
            counts.setdefault(word, 0)
        by_sound: dict[tuple[str, ...], tuple[float, str]] = {}
        for word, count in counts.items():
            if word and all("\u4e00" <= c <= "\u9fff" for c in word):
                # one syllable left over is often a common character ("dan" is 但 more often than 单): its
                # general frequency counts too, so a few new examples using 单 do not change how "dan" reads
                weight = count + self.segmenter.general_frequency(word) / SOUND_PRIOR if len(word) == 1 else count
                key = sound_key(word)
                if key not in by_sound or weight > by_sound[key][0]:
                    by_sound[key] = (weight, word)
        return {key: word for key, (_count, word) in by_sound.items()}

    def _terms_inside_pinyin(self, lexicon: Lexicon) -> dict[str, str]:
        """Latin words that are not pinyin (pos, mcc, gps, app) -> what to write for each when typed together with
        pinyin ("wodexinyongkaxiangyongposshua"): the lexicon's English words as their Chinese, and the Latin words
        of the lexicon and of the content's phrases as they are. Without them such a run is not read as pinyin at
        all. Three letters at least: "my", "to" would cut a run of pinyin anywhere."""
        def latin(word: str) -> bool:
            return (MIN_TERM_LETTERS <= len(word) <= pinyin.MAX_TERM_LETTERS and word.isascii() and word.isalpha()
                    and split_syllables(word) is None)

        terms = {word: word for text in self._texts for word in text.split() if latin(word)}
        terms.update({word: word for word in (*lexicon.words, *(w for group in lexicon.synonyms for w in group))
                      if latin(fold(word))})
        terms.update({fold(english): fold(chinese) for english, chinese in lexicon.english.items() if latin(fold(english))})
        return terms

    def _cached_form(self, intent: Intent | None, text: str) -> str:
        """form_of (match_form for a not_example, `intent` None), from the forms saved at an earlier start."""
        key = ("t:" if intent is not None and intent.kind == "smalltalk" else "m:") + text
        form = self._known_forms.get(key)
        if form is None:
            form = self.form_of(intent, text) if intent is not None else self.match_form(text)
            self._known_forms[key] = form
        return form

    @property
    def phrase_count(self) -> int:
        return len(self._texts)

    def tokens(self, text: str) -> list[str]:
        """Normalised words of `text` without stopwords."""
        return self._words(self.normaliser.normalise(text))

    def _words(self, normalised: str, cuts: Cuts | None = None) -> list[str]:
        """`cuts`: the question's segmentations (bot/core/segment.py Cuts), so a text is segmented once."""
        cut = cuts.cut if cuts is not None else self.segmenter.cut
        words = (self.normaliser.canonical(t) for t in cut(_COUNTED.sub(_counted, normalised)))
        return [w for w in words if w not in self.stopwords]

    def match_form(self, text: str) -> str:
        """The string rapidfuzz compares: normalised words without stopwords, space-separated."""
        return " ".join(self.tokens(text))

    def _is_domain_word(self, word: str) -> bool:
        """A word of the domain's own vocabulary (the lexicon's words and synonyms, short intent names)
        that few intents share: "签到", "小票", "冲正" — not 卡/pos机, and not 今天/天气."""
        if word in self._domain_words:
            return len(word) >= 2 and word not in GENERIC_WORDS
        return self._index.says_something(word, rare=True)

    def form_of(self, intent: Intent, text: str) -> str:
        """The form one of `intent`'s phrases is indexed under."""
        return self.talk_form(text) if intent.kind == "smalltalk" else self.match_form(text)

    def talk_form(self, text: str) -> str:
        """Small talk's form: every word kept ("你好", "嗯嗯", "就这样吧" are all stopwords)."""
        return self._talk_words(self.normaliser.normalise(text))

    def _talk_words(self, normalised: str, cuts: Cuts | None = None) -> str:
        # no synonyms here: 机器 must stay 机器, not become pos机 and meet every terminal question
        words = _no_numbers((cuts.cut if cuts is not None else self.segmenter.cut)(normalised))
        # particles would make "烦死了" and "谢了" look alike; a form of particles only keeps them
        meaningful = [w for w in words if w not in PARTICLES]
        return " ".join(meaningful or words)

    def analyse(self, question: str, *, exclude: tuple[str, str] | None = None) -> Analysis:
        """Rank intents for `question`. `exclude` = (intent id, source) leaves one phrase out
        (the validator asks how an example would fare if it were not itself in the index)."""
        prepared = self.disown(transliterate(self.normaliser.english_to_chinese(prepare(question)), self._sounds,
                                                 self._latin_terms))
        clauses = self._without_disowned(split_clauses(prepared))
        denied = [(c.start, c.end) for c in clauses if c.denied]
        hits = [h for h in find_codes(prepared, self.known_codes)
                if not any(start <= h.start < end for start, end in denied)]
        known = [h for h in hits if h.known]
        vendor = [h.code for h in hits if not h.known]
        kept = [c for c in clauses if not c.denied] or clauses
        units_text = [_without(prepared[c.start:c.end], hits, offset=c.start) for c in kept]
        joined = strip_symbols(" ".join(units_text))
        sounds: dict[str, str] = {}  # the clauses' runs are the message's: fixed once (Normaliser.normalise_folded)
        normalised = self.normaliser.normalise_folded(joined, sounds=sounds)
        clause_forms = ([self.normaliser.normalise_folded(strip_symbols(text), sounds=sounds) for text in units_text]
                        if len(kept) > 1 else [])
        cuts = Cuts(self.segmenter, clause_forms)
        clause_words = [self._words(clause_form, cuts) for clause_form in clause_forms]
        # the message is its clauses side by side: segmented once, not once whole and once a clause at a time
        whole = ([word for words in clause_words for word in words] if " ".join(form for form in clause_forms if form) == normalised
                 else self._words(normalised, cuts))
        tokens = tuple(_no_numbers(whole))
        # red lines are read in the merchant's own words: a sound-alike fix must not turn 条码 into 跳码; and
        # in what they say did not happen as well ("没买东西 就刷一笔": no sale is the point)
        told = [c for c in clauses if not c.denied or c.absent] or kept
        literal = self.normaliser.fix_typos(strip_symbols(_told_text(prepared, clauses, told, hits)))
        # a response code, typed or quoted by its screen text ("提示超出消费次数限制"), says what the message
        # is about: the shapes of a red line around it are the story of that payment ("连着刷了几笔")
        quoted = set() if known else self._quoted_codes(joined)
        about_a_code = bool(known) or bool(quoted)
        redline = (self._asked_beside_a_code(clauses, kept, hits, normalised, tokens) if about_a_code
                   else self._redline_of(literal))
        refused = redline is not None or any(word in normalised for word in self.refuse)
        fuzzy: list[Candidate] = []
        if not refused:
            units = [" ".join(tokens)]
            clause_tokens = [_no_numbers(words) for words in clause_words]
            # each clause, and (in a message of three or more) each two neighbouring clauses: a problem
            # is often told across two ("钱扣了 机器说失败")
            pairs = ([a + b for a, b in zip(clause_tokens, clause_tokens[1:], strict=False)]
                     if len(clause_tokens) > 2 else [])
            for unit_tokens in (*clause_tokens, *pairs):
                if len(unit_tokens) >= MIN_UNIT_WORDS and any(t not in self.generic for t in unit_tokens):
                    units.append(" ".join(unit_tokens))
            # small talk only where nothing points at a problem ("你好 签到失败" is about signing in);
            # words small talk itself uses (收到, 人工) do not count as pointing at one
            problem_word = any(self._index.says_something(t) and t not in self._talk_vocabulary for t in tokens)
            whole_talk = self._talk_words(normalised, cuts)
            clause_talk: list[str] = []  # the clauses' small-talk forms, made the first time they are needed

            def talk_of_clauses() -> list[str]:
                if len(clause_talk) < len(clause_forms):
                    clause_talk[:] = [self._talk_words(form, cuts) for form in clause_forms]
                return clause_talk
            going_on: list[bool] = []  # (asks more, told more), worked out the first time they are needed

            def goes_on() -> tuple[bool, bool]:
                """Whether a clause asks about something small talk does not say ("你好 我想问下大单子能分着收吗"):
                then the whole message is that question; and whether it asks or is long: then an opener
                ("您好，本人经营…") is only how it starts, not what it says."""
                if not going_on:
                    asks_more = any(_asks(text) and not self._mostly_talk(form)
                                    for form, text in zip(talk_of_clauses(), units_text, strict=False))
                    going_on[:] = [asks_more, asks_more or _chinese_length(prepared) >= LONG_MESSAGE]
                return going_on[0], going_on[1]

            def said_as_talk(whole: str, clauses: list[str]) -> list[str]:
                """The forms small talk is read in: the whole message's (unless a clause asks more) and the
                clauses', without openers once the message goes on."""
                asks_more, told_more = goes_on()
                forms = [form for form in ([] if asks_more else [whole]) + clauses if form]
                if not told_more:
                    return forms
                return [form for form, opens in zip(forms, self._opening(forms, exclude), strict=True) if not opens]
            talk_forms: list[str] = []
            # or where its words are mostly small talk's and none is the terminal's own ("聊天", "消息" point at a
            # problem only by how rarely phrases use them; "小票", "激活码" are the lexicon's)
            if not known and (not problem_word or (self._mostly_talk(whole_talk)
                                                   and not any(self._terminal_word(t) for t in tokens))):
                # the whole message, and each clause ("懂了 我去试试": 懂了 says it)
                # a word asking after something that is not small talk ("…用B卡在我pos上刷出来去还A卡 行吗") asks
                # about it: its 行 is not an "OK" ("人呢 有人吗" is still small talk)
                clause_talk_forms = talk_of_clauses()
                talk_forms = said_as_talk("" if _seeks_reassurance(joined) else whole_talk,
                                          [form for number, (form, text) in enumerate(zip(clause_talk_forms, units_text, strict=False))
                                           if not _seeks_reassurance(text)
                                           and not (_asks(text) and len(form.split()) == 1
                                                    and not all(map(self._mostly_talk, clause_talk_forms[:number])))])
            single = {" ".join(t) for t in clause_tokens if len(t) >= MIN_UNIT_WORDS} if len(clause_tokens) > 2 else set()
            fuzzy = self._rank(units, talk_forms, exclude=exclude, clauses=single)
            if not known and problem_word and (not fuzzy or fuzzy[0].score < TALK_OVER):
                # a word that could point at a problem ("一天", "服务") but nothing that fits one: a clause
                # that is itself small talk ("气死我了 找了一天都没人管") still says what the message is
                # a clause asking about the rest ("…再把钱退他 可以吗", "…刷四次不就行了嘛") is not small talk
                forms = said_as_talk(whole_talk, [form for form, text in zip(talk_of_clauses(), units_text, strict=False)
                                                  if not _asks(text)])
                said = self._rank([], [form for form in forms if self._mostly_talk(form)], exclude=exclude)
                talk = [c for c in said if c.kind == "smalltalk" and c.score >= CLAUSE_TALK
                        and not self._closer_to_a_negative(c.intent, units, c.score)]
                fuzzy = sorted([*fuzzy, *talk], key=lambda c: c.score, reverse=True)
            fuzzy = self._by_profile(fuzzy, units[0], exclude=exclude,
                                     share=LONG_PROFILE_SHARE if _chinese_length(prepared) >= LONG_MESSAGE else PROFILE_SHARE,
                                     talk_form=whole_talk)

        ranked: list[Candidate] = [
            Candidate(self.content.by_code[h.code].id, h.code, 1.0, "code", h.code, "code") for h in known]
        if redline is not None:
            ranked = [Candidate(redline, None, 1.0, "pattern", "", "redline")]
        symptom = None
        if known and any(t not in self.generic for t in tokens):
            symptom = next((c for c in fuzzy if c.kind == "symptom"), None)
        if vendor and not known and VENDOR_CODE_INTENT in self.content.by_id:
            ranked.append(Candidate(VENDOR_CODE_INTENT, None, VENDOR_CODE_SCORE, "vendor_code", vendor[0]))
        taken = {c.intent for c in ranked}
        for candidate in fuzzy:
            if candidate.intent in taken:
                continue
            ranked.append(candidate)
            taken.add(candidate.intent)
        if not known:
            # "跟机器没关系 … 我自己的信用卡": whatever the story shares with a terminal problem, the merchant
            # has said it is not one
            elsewhere = any(pattern.search(prepared) for pattern in self.not_the_terminal)
            if elsewhere:
                ranked = _redirect_first(ranked)
            ranked = self._with_markers(ranked, normalised, story=len(clauses) >= STORY_CLAUSES and not elsewhere)
            ranked = self._with_displays(ranked, quoted)
        ranked.sort(key=lambda c: c.score, reverse=True)
        return Analysis(
            query=question,
            normalised=normalised,
            tokens=tokens,
            codes=tuple(h.code for h in known),
            vendor_codes=tuple(vendor),
            candidates=_listed(ranked),
            symptom=symptom,
            refused=refused,
            specific=bool(known) or any(self._is_domain_word(t) for t in tokens),
        )

    def _rank(self, units: list[str], talk_forms: list[str], *,
              exclude: tuple[str, str] | None, clauses: set[str] | frozenset[str] = frozenset()) -> list[Candidate]:
        """Each unit against the phrases it shares something with; each intent's best blended score
        over all units (and, for small talk, the whole question), with the phrase that gave it.
        An intent that two of the `clauses` (single clauses of a story) each fit gains SUPPORT times
        how far the second of them is over SUPPORT_FROM: a story tells its problem more than once."""
        best = np.zeros(len(self._intents), dtype=np.float64)
        best_phrase = np.full(len(self._intents), -1, dtype=np.intp)
        excluded = self._excluded(exclude) if exclude is not None else None
        top_two = np.zeros((2, len(self._intents)), dtype=np.float64) if clauses else None
        shortlists = []
        distinct = list(dict.fromkeys(u for u in units if u))
        for unit, (phrase_ids, overlap) in zip(distinct, self._index.overlaps(distinct), strict=True):
            if excluded is not None and len(phrase_ids):
                kept = ~np.isin(phrase_ids, excluded)
                phrase_ids, overlap = phrase_ids[kept], overlap[kept]
            if len(phrase_ids):
                shortlists.append((unit, phrase_ids, overlap))
        # every unit's shortlist in one rapidfuzz call per scorer: a long message has a dozen units
        # (the pairs' lists built by numpy's indexing and list repetition: a long message has 500 pairs)
        scored = np.concatenate([phrase_ids for _, phrase_ids, _ in shortlists]) if shortlists else self._owner[:0]
        forms: list[str] = []
        sorted_forms: list[str] = []
        for unit, phrase_ids, _ in shortlists:
            forms += [unit] * len(phrase_ids)
            sorted_forms += [sorted_words(unit)] * len(phrase_ids)
        fuzzy = _blend_pairs(forms, self._text_array[scored].tolist(), sorted_forms,
                             self._sorted_text_array[scored].tolist())
        if shortlists:
            all_scores = FUZZY_SHARE * fuzzy + (1 - FUZZY_SHARE) * np.concatenate(
                [overlap for _, _, overlap in shortlists])
            self._keep_best(all_scores, scored, best, best_phrase)
        start = 0
        for unit, phrase_ids, _ in shortlists:
            scores = all_scores[start:start + len(phrase_ids)]
            start += len(phrase_ids)
            if top_two is not None and unit in clauses:
                per_intent = np.zeros(len(self._intents), dtype=np.float64)
                np.maximum.at(per_intent, self._owner[phrase_ids], scores)
                top_two[1] = np.maximum(top_two[1], np.minimum(top_two[0], per_intent))
                top_two[0] = np.maximum(top_two[0], per_intent)
        if top_two is not None:
            # never above a whole phrase said word for word (1.0), nor past a code typed in the question
            best = np.minimum(FULL_MATCH, best + SUPPORT * np.maximum(0.0, top_two[1] - SUPPORT_FROM))
        talk_forms = list(dict.fromkeys(form for form in talk_forms if form))
        if talk_forms and len(self._talk):
            phrase_ids = self._talk if excluded is None else self._talk[~np.isin(self._talk, excluded)]
            # each form against each small-talk phrase, by token_sort_ratio alone: extra words count
            # against it, unlike token_set_ratio's subsets
            # (token_sort_ratio is ratio on words sorted in advance: sorted_words)
            talk = process.cdist([sorted_words(form) for form in talk_forms], [self._sorted_texts[i] for i in phrase_ids],
                                 scorer=fuzz.ratio,
                                 processor=None, dtype=np.float32, workers=1).max(axis=0) / 100.0
            self._keep_best(talk.astype(np.float64), phrase_ids, best, best_phrase)
        order = [int(index) for index in np.argsort(-best, kind="stable")[:MAX_CANDIDATES * 2]
                 if best[index] * 100 >= MIN_PHRASE_SCORE]
        nearest = self._nearest_negatives([self._intents[index].id for index in order], units)
        candidates = []
        for index in order:
            value = float(best[index])
            intent = self._intents[index]
            phrase = self._texts[best_phrase[index]] if best_phrase[index] >= 0 else ""
            if nearest.get(intent.id, -1.0) >= value:
                continue
            code = intent.code if isinstance(intent, CodeIntent) else None
            candidates.append(Candidate(intent.id, code, round(value, 4), "fuzzy", phrase, intent.kind))
        return candidates

    def _by_profile(self, candidates: list[Candidate], form: str, *,
                    exclude: tuple[str, str] | None, share: float = PROFILE_SHARE, talk_form: str = "") -> list[Candidate]:
        """The whole message against each intent's profile (every word of its phrases together): the
        intent whose words the message holds most keeps its score, the others lose `share` x how far behind
        it they are (bot/core/index.py: more in a long message). Small talk is weighed the same way, among
        itself, by profiles of its own words (`talk_form`, every word kept): "你们公司就是一群骗子" shares 你 and 是
        with "你是机器人吗", but its words are complaint's."""
        if not PROFILE_SHARE or not form or not candidates:
            return candidates
        excluded = self._excluded(exclude).tolist() if exclude is not None else []
        similarity = self._profiles.similarity(form, without=excluded)
        lead = float(similarity[~self._is_talk].max(initial=0.0))
        position = self._position
        moved = [c if c.kind == "smalltalk" else
                 _scored(c, round(c.score - share * (lead - float(similarity[position[c.intent]])), 4))
                 for c in candidates]
        if talk_form and any(c.kind == "smalltalk" for c in moved):
            talk_similarity = self._talk_profiles.similarity(
                talk_form, without=[self._talk_phrase[phrase] for phrase in excluded if phrase in self._talk_phrase])
            talk_lead = float(talk_similarity.max(initial=0.0))
            moved = [_scored(c, round(c.score - TALK_PROFILE_SHARE * (
                talk_lead - float(talk_similarity[self._talk_number[c.intent]])), 4)) if c.kind == "smalltalk" else c
                for c in moved]
            # two small talk intents on the same score: the one whose words the message holds more
            return sorted(moved, key=lambda c: (c.score, float(talk_similarity[self._talk_number[c.intent]])
                                                if c.kind == "smalltalk" else 0.0), reverse=True)
        return sorted(moved, key=lambda c: c.score, reverse=True)

    def _terminal_word(self, word: str) -> bool:
        """A word of the terminal's own: the lexicon's, or of a problem's name that small talk does not use too
        ("投诉", "不能" are both's)."""
        return word in self._terminal_words or (word in self._problem_name_words and word not in self._talk_vocabulary)

    def _opens(self, form: str, exclude: tuple[str, str] | None) -> bool:
        """A small-talk form that is an opener ("您好", "在吗"): its closest small talk is one. What else it
        resembles ("你好" ~ "好的", "好厉害") is the same opener read by its 好."""
        return self._opening([form], exclude)[0]

    def _opening(self, forms: list[str], exclude: tuple[str, str] | None) -> list[bool]:
        """_opens of each of `forms`, in one rapidfuzz call: the first candidate _rank([], [form]) would list is
        the small-talk intent with the best phrase by token_sort_ratio (the lowest intent number among equals, as
        its stable sort has it), if that reaches MIN_PHRASE_SCORE (units are none, so no not_example drops it).
        A long message asked this of each of its clauses, a whole _rank each (about 0.15 ms)."""
        excluded = self._excluded(exclude) if exclude is not None else None
        phrase_ids = self._talk if excluded is None else self._talk[~np.isin(self._talk, excluded)]
        if not forms or not len(phrase_ids):
            return [False] * len(forms)
        # as _rank scores small talk: ratio on words sorted in advance, / 100 in float32, then float64
        scores = (process.cdist([sorted_words(form) for form in forms], [self._sorted_texts[i] for i in phrase_ids],
                                scorer=fuzz.ratio, processor=None, dtype=np.float32, workers=1) / 100.0).astype(np.float64)
        owners = self._owner[phrase_ids]
        # a small-talk intent's phrases are side by side (phrases are numbered intent by intent)
        starts = np.flatnonzero(np.concatenate(([True], owners[1:] != owners[:-1])))
        per_intent = np.maximum.reduceat(scores, starts, axis=1)
        first = per_intent.argmax(axis=1)
        top = per_intent[np.arange(len(forms)), first]
        return [value * 100 >= MIN_PHRASE_SCORE and self._intents[int(owners[starts[column]])].id in self._openers
                for value, column in zip(top.tolist(), first.tolist(), strict=True)]

    def _mostly_talk(self, form: str) -> bool:
        """At least TALK_WORDS of a form's words are small talk's own ("气死 我 了"), so a clause that only
        looks like a small-talk phrase ("没卖东西" ~ "没用的东西") is not taken for one."""
        words = form.split()
        known = sum(1 for word in words if self.normaliser.canonical(word) in self._talk_vocabulary)
        return bool(words) and known >= TALK_WORDS * len(words)

    def _without_disowned(self, clauses: list[Clause]) -> list[Clause]:
        """`clauses` with each one in which the merchant says they do not do a red line ("我没有帮人刷卡换现金
        那些事", "不想让人家分两天刷", "我没有记客人密码") denied, so it neither votes nor refuses: the
        question is the rest ("…只是最近店被限制交易了 到底为啥"). So is one telling what someone suspects them of
        ("客人怀疑我故意拆开刷的 我明明只刷了一次"). A clause of what did not happen that is
        no red line itself ("没买东西 就刷一笔"), or that asks for one ("没卖东西能打一张小票出来不"), is kept
        as it was, and a message all of disowning is left to its words."""
        disowning = [n for n, clause in enumerate(clauses) if (not clause.denied or clause.absent)
                     and _DISOWNING.search(clause.text) and not _asks(clause.text)
                     and self._redline_in(clause.text)]
        disowning += self._turned_down(clauses)
        disowning += self._reported(clauses)
        disowning += [n for n, clause in enumerate(clauses) if not clause.denied and _ACCUSING.search(clause.text)
                      and not _asks(clause.text) and self._redline_in(clause.text)]
        if not disowning or len(disowning) == len(clauses):
            return clauses
        return [replace(clause, denied=True, absent=False) if n in disowning else clause
                for n, clause in enumerate(clauses)]

    def _reported(self, clauses: list[Clause]) -> list[int]:
        """The red-line clauses of a message that asks how or whether to report them ("网上有人卖改定位的 怎么举报",
        "有人高价收身份证办pos 我直接挂了 需要报警吗"): what someone else does or offers, not a request. The asking
        clause must be no red line itself; a message of one clause is left to its words."""
        if not any(_REPORTING.search(clause.text) and not self._redline_in(clause.text) for clause in clauses):
            return []
        return [n for n, clause in enumerate(clauses) if not clause.denied and self._redline_in(clause.text)]

    def _turned_down(self, clauses: list[Clause]) -> list[int]:
        """The red-line clauses the merchant says next that they turned down: an offer or a tip told, then "我没答应",
        "没理他", "我没弄", "后来想想算了" ("朋友老让我帮他刷卡换现金 我一直没答应 … 机器提示交易受限"). Up to
        TURNED_DOWN_REACH clauses before the refusal are read, each denied only if it is a red line by itself; a
        refusal that is a red line itself or asks ("我没答应 这样可以吗") turns nothing down."""
        found: list[int] = []
        for n, clause in enumerate(clauses):
            if not _TURNED_DOWN.search(clause.text) or _asks(clause.text) or self._redline_in(clause.text):
                continue
            window = [before for before in range(max(0, n - TURNED_DOWN_REACH), n) if not clauses[before].denied]
            alone = [before for before in window if self._redline_in(clauses[before].text)]
            if not alone and window and self._redline_in(" ".join(clauses[before].text for before in window)):
                # an offer told over two clauses, neither a red line alone ("刷完卡客人说东西不要了 让我直接给他现金
                # 我说只能退回卡里")
                alone = window
            found += alone
        return found

    def _asked_beside_a_code(self, clauses: list[Clause], kept: list[Clause], hits: list[CodeHit], normalised: str,
                             tokens: tuple[str, ...]) -> str | None:
        """The red line a message about a response code asks for ("提示61超限 能不能拆成两单刷", "显示61 我把金额改小点
        多刷几回凑够 算违规吗"): a pattern or signal in a clause of its own that holds no code, in a message that asks
        something, and the red-line model as sure as CODE_STORY_MODEL_AT. Anything less is the story of that payment
        ("显示65 今天连着刷了几笔 咋回事", "一张刷完额度不够又换一张 刷到第三张的时候显示61"), read as the code's."""
        if len(kept) < 2 or not any(_asks(clause.text) for clause in clauses):
            return None
        found = next((red_line for clause in kept if not any(clause.start <= hit.start < clause.end for hit in hits)
                      and (red_line := self._redline_of(self.normaliser.fix_typos(strip_symbols(clause.text))))), None)
        if found is None:
            return None
        return found if self._verdict_of(normalised, tokens).probability >= CODE_STORY_MODEL_AT else None

    def _redline_in(self, text: str) -> bool:
        """Whether `text` alone is a red line by its patterns, signals or red-line words."""
        literal = self.normaliser.fix_typos(strip_symbols(text))
        if self._redline_of(literal) is not None:
            return True
        normalised = self.normaliser.normalise_folded(literal)
        return any(word in normalised for word in self.refuse)

    def _redline_of(self, literal: str) -> str | None:
        """The red line whose pattern (first in content order) or else signal `literal` holds. Spaces between a
        number and a character are read as not there: patterns are written as merchants type most ("刷5000给他4800
        现金"), and "刷 5000 给他 4800 现金" (or pinyin written back around its numbers) says the same."""
        literal = _SPACE_BY_A_NUMBER.sub("", literal)
        characters = set(literal)
        choices = self._pattern_choices
        keys = characters.union([literal[i:i + 2] for i in range(len(literal) - 1)])
        found = next((self.redline_patterns[n][0] for n in self._patterns_by_character.candidates(keys)
                      if self._pattern_needs[n] <= characters
                      and (not choices[n] or any(map(literal.__contains__, choices[n]))) and self._searches[n](literal)),
                     None)
        return found if found is not None else self.redline_signals.first(literal)

    def _with_markers(self, ranked: list[Candidate], normalised: str, *, story: bool = False) -> list[Candidate]:
        """A redirect whose marker the question holds leads, at MARKER_SCORE or its own score if higher, and
        just over a terminal problem that fits better still where the question names the terminal (posbot asks,
        the redirect first, rather than explain a double charge on a POS), and MARKER_LEAD over it where the
        question never does ("12306退票手续费是多少" is 12306's, whatever it shares with a fee). In a story
        (STORY_CLAUSES or more) a marker is as often context ("手机充电器也试了", "地铁口开店"): there the marker
        lifts its redirect only to just under the best terminal problem, so posbot asks rather than sends the
        merchant away. A redirect that fits by its own examples may lead a story, by at most
        STORY_LEAD: posbot then asks, the redirect first, and an aside about the merchant's own card does not
        make it forget the terminal problem told beside it. So may a redirect two of whose markers the story
        holds."""
        found: dict[str, list[tuple[int, int]]] = {}
        for number in self._markers_by_character.candidates(set(normalised)):
            intent_id, marker = self.markers[number]
            if marker in normalised:
                found.setdefault(intent_id, []).extend(
                    (start, start + len(marker)) for start in positions(normalised, marker))
        # a signal is a marker said in several words ("我的卡 … 丢了"); its place is counted as one marker's
        for intent_id, spans in self.redirect_signals.held(normalised).items():
            found.setdefault(intent_id, []).extend(spans)
        marked = set(found)
        # two of a redirect's own words apart in one story ("食堂 … 饭卡", "停车场 … 道闸") say the story is about that
        # world, not that it passes through it ("笔记本电脑" and "地铁闸机" are one word each, whatever they hold)
        told = {intent_id for intent_id, spans in found.items() if _apart(spans) >= 2}
        problem = max((c.score for c in ranked if c.kind in ("code", "symptom")), default=0.0)
        # a story is held to its terminal problem only if one fits at all (an agent's long question shares a
        # few words with transaction_lookup at 0.17: that is no problem told beside it)
        story = story and problem >= STORY_PROBLEM_FROM
        if story and problem:
            ranked = [_scored(c, min(c.score, problem + STORY_LEAD)) if c.kind == "redirect" else c
                      for c in ranked]
        if not marked:
            return ranked
        kept = [c for c in ranked if c.intent not in marked]
        level = MARKER_SCORE
        if story and problem:
            level = min(MARKER_SCORE, problem - STORY_SECOND)
        elif problem:
            # the terminal not named at all ("12306退票手续费是多少"): the problem fits by shared words only, and
            # the redirect answers; named ("停车场刷etc … 我的pos机"), posbot asks, the redirect first
            lead = STORY_SECOND if any(name in normalised for name in TERMINAL_NAMES) else MARKER_LEAD
            level = min(FULL_MATCH, max(MARKER_SCORE, problem + lead))
        redline = max((c.score for c in ranked if c.kind == "redline"), default=0.0)
        if redline >= MARKER_YIELDS_AT:
            level = min(level, redline - MARKER_UNDER_REDLINE)
        own_scores = {intent_id: next((c.score for c in ranked if c.intent == intent_id), 0.0) for intent_id in marked}
        # two redirects' markers in one question ("征信" is the bank's and the lender's): the one that fits better by
        # its own examples comes first, the other MARKER_TIE under it
        order = sorted(marked, key=lambda intent_id: (-own_scores[intent_id], intent_id))
        for place, intent_id in enumerate(order):
            lifted = (problem + STORY_LEAD if story and intent_id in told else level) - place * MARKER_TIE
            kept.append(Candidate(intent_id, None, max(own_scores[intent_id], lifted), "fuzzy", "", "redirect"))
        return kept

    def _quoted_codes(self, text: str) -> set[str]:
        """The codes whose display text `text` quotes (_quotes), read once a question: whether there are any
        says the question is about a code, and which they are is what _with_displays adds."""
        compact = _compact(text)
        return {code for display, codes in self.displays if display in compact and _quotes(compact, display)
                for code in codes}

    def _with_displays(self, ranked: list[Candidate], quoted: set[str]) -> list[Candidate]:
        """A terminal's own message quoted word for word ("提示拒绝 重复交易 请稍后重试", "显示无效交易")
        names its code as surely as the number would: its codes (`quoted`, by _quoted_codes) lead at
        DISPLAY_SCORE (two codes sharing the text are asked about)."""
        if not quoted:
            return ranked
        ids = {self.content.by_code[code].id: code for code in quoted}
        kept = [c for c in ranked if c.intent not in ids]
        for intent_id, code in sorted(ids.items()):
            kept.append(Candidate(intent_id, code, DISPLAY_SCORE, "display", self.content.by_code[code].display or "",
                                  "code"))
        return kept

    def _keep_best(self, scores: np.ndarray, phrase_ids: np.ndarray, best: np.ndarray,
                   best_phrase: np.ndarray) -> None:
        """Raise `best` (per intent) to each intent's highest of `scores`, and `best_phrase` to the first phrase
        that reached it, where that beats what `best` holds."""
        if not len(scores):
            return
        owners = self._owner[phrase_ids]
        # per intent, its highest score first, the earliest phrase among equals
        order = np.lexsort((np.arange(len(scores)), -scores, owners))
        sorted_owners = owners[order]
        first = order[np.concatenate(([True], sorted_owners[1:] != sorted_owners[:-1]))]
        owners, top = owners[first], scores[first]
        better = top > best[owners]
        best[owners[better]] = top[better]
        best_phrase[owners[better]] = phrase_ids[first][better]

    def _nearest_negatives(self, intent_ids: list[str], units: list[str]) -> dict[str, float]:
        """For each of `intent_ids` with `not_examples`, how close the question comes to the nearest one
        (all of them in one rapidfuzz call: a question meets up to ten candidates)."""
        forms = [unit for unit in units if unit]
        owners = [(intent_id, self._negatives[intent_id]) for intent_id in dict.fromkeys(intent_ids)
                  if self._negatives.get(intent_id)]
        if not forms or not owners:
            return {}
        scores = _blend_many(forms, [form for _intent_id, negatives in owners for form in negatives],
                             [sorted_words(form) for form in forms],
                             [form for intent_id, _ in owners for form in self._sorted_negatives[intent_id]]).max(axis=0)
        nearest: dict[str, float] = {}
        start = 0
        for intent_id, negatives in owners:
            nearest[intent_id] = float(scores[start:start + len(negatives)].max())
            start += len(negatives)
        return nearest

    def _closer_to_a_negative(self, intent_id: str, units: list[str], score: float) -> bool:
        """A question at least as close to one of an intent's `not_examples` as to the intent."""
        return self._nearest_negatives([intent_id], units).get(intent_id, -1.0) >= score

    def _excluded(self, exclude: tuple[str, str]) -> np.ndarray:
        numbers = self._numbers_of_sources.get(exclude, ())
        return np.array(numbers, dtype=np.intp)


DISPLAY_SCORE = 0.9
"""A code's display text quoted in the question: above ANSWER_AT with a margin over most phrases."""
MIN_DISPLAY = 3
"""Shorter display texts (密码错, 请重试) are everyday words, not a quotation."""
MAX_SHARED_DISPLAY = 3
"""A display text shared by more codes ("交易失败，请联系发卡行": 13 codes) says nothing about which."""
_DISPLAY_CUE = ("显示", "提示", "报", "写着", "跳出", "弹出", "跳出来", "弹出来", "出现", "屏幕上", "说", "显示的是",
                "提示的是")
_APPROVED = frozenset({"00", "10", "11", "A2", "A4", "A5", "A6"})
"""Codes that mean the payment went through: "交易成功" in a story ("交易成功了但没出小票") is what
happened, not a code to explain."""


ELSEWHERE_FLOOR = 0.35
"""A redirect this close to a question that says it is not about the terminal is taken as what it is about."""
ELSEWHERE_CAP = 0.35
"""Where no redirect fits a question that says it is not about the terminal, its terminal problems (and red
lines found by examples alone) score at most this: under decide.CLARIFY_AT and REFUSE_LEAD_AT, so posbot says
it cannot help rather than offer them."""
ELSEWHERE_LEAD = 0.16
"""...and leads every terminal problem by this much (a little over decide.MARGIN: enough to answer, whatever
the rounding)."""


def _redirect_first(ranked: list[Candidate]) -> list[Candidate]:
    """The best redirect (if it fits at all) at the level of the best terminal problem, and the problems
    and red lines ELSEWHERE_LEAD under it: the merchant has said the question is not about the terminal."""
    redirect = max((c for c in ranked if c.kind == "redirect" and c.score >= ELSEWHERE_FLOOR),
                   key=lambda c: c.score, default=None)
    if redirect is None:
        # nobody else's job fits either: what the message shares with a terminal problem is only words
        # ("跟机器没关系 … 下个月办酒席 会不会下雨"), never worth a "您是想问…"; nor is a red line's by its
        # examples ("我老婆的信用卡丢了 里面还有两万额度" is no cash-out)
        return [_scored(c, round(min(c.score, ELSEWHERE_CAP), 4))
                if c.kind in ("code", "symptom") or (c.kind == "redline" and c.via == "fuzzy") else c for c in ranked]
    level = max([redirect.score] + [c.score for c in ranked if c.kind in ("code", "symptom")])
    moved = []
    for candidate in ranked:
        if candidate is redirect:
            candidate = _scored(candidate, level)
        elif candidate.kind in ("code", "symptom", "redline"):
            # a red line is done with the terminal too ("我自己的信用卡 … 刷" is not swiping it on my machine)
            candidate = _scored(candidate, round(min(candidate.score, level - ELSEWHERE_LEAD), 4))
        moved.append(candidate)
    return moved


_SPACE_BY_A_NUMBER = re.compile(r"(?<=\d) +(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff]) +(?=\d)")


def _compact(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text.lower())


def _quotable_displays(content: Content) -> tuple[tuple[str, tuple[str, ...]], ...]:
    by_display: dict[str, list[str]] = {}
    for code, intent in content.by_code.items():
        if intent.display and code not in _APPROVED:
            by_display.setdefault(_compact(intent.display), []).append(code)
    return tuple((display, tuple(sorted(codes))) for display, codes in sorted(by_display.items())
                 if len(display) >= MIN_DISPLAY and len(codes) <= MAX_SHARED_DISPLAY)


def _quotes(compact: str, display: str) -> bool:
    """The display text appears right after a cue (显示/提示/报 …), or whole and long (≥ 6 characters)."""
    start = compact.find(display)
    while start >= 0:
        if len(display) >= 6 or compact[max(0, start - 4):start].endswith(_DISPLAY_CUE):
            return True
        start = compact.find(display, start + 1)
    return False


_COUNTED = re.compile(r"(\d+(?:\.\d+)?)\s*(个小时|小时|分钟|公里|次|笔|个|张|台|年|天|块|元|遍|期|岁|秒)")
"""A number and its measure word ("3次", "2个小时", "380元"): the measure word ends there, so segmentation
never joins it with what follows ("挥了3次卡" is 次 + 卡, not the word 次卡, a punch card)."""


_SMALL_COUNT = dict(zip("123456789", "一两三四五六七八九", strict=True))


def _counted(match: re.Match[str]) -> str:
    """"2笔" as the examples write it ("两笔": a count of two is what a duplicate charge is), and a space
    after the measure word."""
    number, measure = match.group(1), match.group(2)
    return (_SMALL_COUNT.get(number, number) if len(number) == 1 else number) + measure + " "


_ASKING = re.compile(r"(吗|嘛|么|不|没|呢|没有|问题|行不行|可不可以|能不能|对不对)[\s?？!！。.~～]*$")
_ASKING_WITHIN = re.compile(r"^请问|是否|能否|可否|有没有|会不会|要不要|能不能|可不可以|行不行|算不算")
"""A clause that asks before its end ("请问是否可行", "大单子能不能分着收")."""
_REASSURANCE = re.compile(r"(没事|有事|没问题|可以|行|能行|对|安全|没关系|合法|稳)吧[\s?？!！。.~～]*$")
"""Asking whether something done is all right ("…我照着输了 没事吧"): never small talk, though without its 吧
"没事" is how a goodbye starts ("没事了"). 吧 elsewhere ("好吧", "就这样吧") is small talk's own."""


_DISOWNING = re.compile(r"^(?:我|我们|咱|咱们|俺|本店|我家|我这边)?(?:可|也|从来|从|根本|并|又|绝|真|确实|压根)?"
                        r"(?:没有|没|不是|不会|不想|不敢|不要|不用|不打算|从不|不|未|并非)(?!.{0,3}被)")
"""A clause that starts by saying the merchant does not do something ("我没有…", "不想让人家…", "我真没…");
not one about being caught ("我不想被风控"), which is how evading risk control is asked."""


_TURNED_DOWN = re.compile(
    r"(?:^|我|我们|俺|咱)(?:一直|当时|就|也|都|可|从来|压根|坚决|根本)?(?:没|没有|不|不想|不愿意?)"
    r"(?:干|弄|搞|做|要|借|碰|接|参与|那样|那么干|那样做|掺和)"
    r"|(?<!还)(?:没答应|没同意|没理他|没理她|没理会|没搭理)|不答应|不同意|不理他|不理她|拒绝了|回绝了|撵走|撵出去|轰走|"
    r"想想算了|想了想算了|就算了|那种事我不|没那么干|没这么干|没上当|不上当|没敢(?:按|输|碰|接|收|答应|同意)|"
    r"我说(?:只能|不行|不能|不可以|不给|没法|不好|不干|不弄)")
"""A clause in which the merchant turns an offer or a tip down: 我没答应, 没理他, 我不干, 后来想想算了, 我没敢按,
我说只能退回卡里."""
_ACCUSING = re.compile(
    r"(?:^|客人|顾客|客户|持卡人|他|她|银行|对方|人家|收单|警察|他们)(?:就|还|都|一直|老是|非|却|反而)?"
    r"(?:(?:怀疑|冤枉|以为|认为|咬定|诬赖|污蔑)(?:是)?(?:我|我们|本店|我家|商户)|说(?:我|我们|本店)(?:是)?(?:故意|偷偷|恶意|存心))")
"""A clause telling what someone suspects the merchant of: 客人怀疑我故意拆开刷的, 银行认为我们是套现, 他说我故意多刷."""
_REPORTING = re.compile(
    r"(?:怎么|如何|要不要|该不该|需不需要|需要|能不能|可以|去哪里?|哪里|向谁|找谁|应该)去?(?:举报|报警|投诉)"
    r"|(?:举报|报警|投诉)(?:他|她|他们|这种人|这种|这个|对方)|(?:举报|报警)(?:吗|不)")
"""A clause asking how or whether to report someone: 怎么举报, 要不要报警, 举报他; not 被举报 or 举报我."""
CODE_STORY_MODEL_AT = 0.95
"""How sure the red-line model must be before a message about a response code is refused for a red line a clause of it
asks for (Matcher._asked_beside_a_code). At 0.95 it refused two more red lines of the read evaluation sets (dev16, dev20)
and no honest question; at 0.9, one honest question more ("客户拿好几张卡凑 … 刷到第三张的时候显示61")."""
TURNED_DOWN_REACH = 2
"""How many clauses before such a refusal may be what was turned down ("有人跟我说 借他的营业执照就能办机器 我没理他")."""


def _asks(text: str) -> bool:
    """A clause that ends as a question ("可以吗", "有啥问题", "没事吧")."""
    text = text.strip()
    return bool(_ASKING.search(text) or _ASKING_WITHIN.search(text)) or _seeks_reassurance(text)


def _seeks_reassurance(text: str) -> bool:
    return bool(_REASSURANCE.search(text.strip()))


def _listed(ranked: list[Candidate]) -> tuple[Candidate, ...]:
    """The first MAX_CANDIDATES, with the best candidate that is not small talk kept among them: small talk is
    answered only when it leads everything else by a margin (bot/core/decide.py), so what it leads must be listed
    even when five small-talk intents come first ("股市明天会涨吗" was "goodbye" against nothing)."""
    listed = ranked[:MAX_CANDIDATES]
    if listed and all(c.kind == "smalltalk" for c in listed):
        other = next((c for c in ranked[MAX_CANDIDATES:] if c.kind != "smalltalk"), None)
        if other is not None:
            listed = [*listed[:-1], other]
    return tuple(listed)


def _apart(spans: list[tuple[int, int]]) -> int:
    """How many separate places `spans` cover (overlapping or touching spans are one place)."""
    places = 0
    end = -1
    for start, stop in sorted(spans):
        if start > end:
            places += 1
        end = max(end, stop)
    return places


def _chinese_length(text: str) -> int:
    return sum(1 for char in text if "\u4e00" <= char <= "\u9fff")


def _no_numbers(tokens: list[str]) -> list[str]:
    """Numbers left in a question once its codes are out are times, amounts, counts and ids: they say
    nothing about the problem (and "51" must not pull towards code 51's examples)."""
    return [t for t in tokens if not t.isdigit()]


def sorted_words(form: str) -> str:
    """A form's words in sorted order: what token_sort_ratio compares, made once per form. rapidfuzz's
    token_sort_ratio(a, b) is ratio(sorted_words(a), sorted_words(b)) (it splits on whitespace and sorts by code
    point, as str.split and sorted do; tests/core/test_match.py checks every phrase pair kind), and sorting at each
    comparison was four fifths of its cost."""
    return " ".join(sorted(form.split()))


def _scorer_inputs(scorer: Scorer, forms: list[str], texts: list[str], sorted_forms: list[str],
                   sorted_texts: list[str]) -> tuple[Scorer, list[str], list[str]]:
    """token_sort_ratio as ratio on the forms' words sorted in advance; any other scorer on the forms."""
    if scorer is fuzz.token_sort_ratio:
        return fuzz.ratio, sorted_forms, sorted_texts
    return scorer, forms, texts


def _blend_pairs(forms: list[str], texts: list[str], sorted_forms: list[str], sorted_texts: list[str]) -> np.ndarray:
    """The SCORERS blend of each of `forms` against the text beside it in `texts`, 0..1 (`sorted_forms` and
    `sorted_texts`: the same, by sorted_words)."""
    total = np.zeros(len(forms), dtype=np.float64)
    if forms:
        for scorer, weight in SCORERS:
            used, left, right = _scorer_inputs(scorer, forms, texts, sorted_forms, sorted_texts)
            total += weight * process.cpdist(left, right, scorer=used, processor=None, dtype=np.float32, workers=1)
    return total / 100.0


def _blend_many(forms: list[str], texts: list[str], sorted_forms: list[str], sorted_texts: list[str]) -> np.ndarray:
    """The SCORERS blend of each of `forms` (rows) against each of `texts` (columns), 0..1, in one pass."""
    total = np.zeros((len(forms), len(texts)), dtype=np.float64)
    for scorer, weight in SCORERS:
        used, left, right = _scorer_inputs(scorer, forms, texts, sorted_forms, sorted_texts)
        total += weight * process.cdist(left, right, scorer=used, processor=None, dtype=np.float32, workers=1)
    return total / 100.0


def _phrases_of(intent: Intent) -> Iterable[tuple[str, str]]:
    yield "name", intent.name
    for index, alias in enumerate(intent.aliases):
        yield f"aliases.{index}", alias
    for index, example in enumerate(intent.examples):
        yield f"examples.{index}", example


def _told_text(prepared: str, clauses: list[Clause], told: list[Clause], hits: list[CodeHit]) -> str:
    """The question as the merchant wrote it, without the clauses left out of `told` (each becomes a space) and
    with its codes blanked: clauses cut at a connective ("刷|不过去") stay joined as they were typed."""
    out: list[str] = []
    end = 0
    for clause in clauses:
        if clause in told:
            out.append(prepared[end:clause.start] + _without(prepared[clause.start:clause.end], hits, offset=clause.start))
        else:
            out.append(" ")
        end = clause.end
    out.append(prepared[end:])
    return "".join(out)


def _without(text: str, hits: list[CodeHit], *, offset: int = 0) -> str:
    """`text` (which starts at `offset` in the question) with the codes found in it blanked out."""
    for hit in sorted(hits, key=lambda h: h.start, reverse=True):
        start, end = hit.start - offset, hit.end - offset
        if 0 <= start and end <= len(text):
            text = text[:start] + " " + text[end:]
    return text
