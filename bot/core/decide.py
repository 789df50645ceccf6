"""Turn ranked candidates into what the bot does: answer, ask which one, or admit it does not know."""

from __future__ import annotations

from dataclasses import dataclass
import re
import unicodedata
from typing import Callable, Literal, Sequence

from bot.core.match import Candidate
from bot.core.redline_model import Verdict

# The three thresholds come from `python benchmarks/accuracy.py --sweep` on tests/eval/questions.yaml:
# of the settings that keep answer precision >= 0.99 (a wrong explanation costs a merchant money)
# and send >= 90% of out-of-scope questions to fallback, this one resolves the most questions
# (answered right, or the right intent offered), then answers the most outright. The held-out set
# tests/eval/holdout.yaml checks the choice generalises; both are in the README.
ANSWER_AT = 0.60
"""Top score from which the bot answers outright (if the margin rule also holds)."""
MARGIN = 0.15
"""How far the top candidate must lead the runner-up to answer without asking."""
CLARIFY_AT = 0.40
"""Below this the question is treated as not understood (fallback)."""
VAGUE_CLARIFY_AT = 0.50
"""Without a domain word, a clarification needs this score ("打印不出来" 0.56 is asked about, "今天天气" 0.41
falls back)."""
TALK_AT = 0.40
"""Small talk answered from here (when it leads everything else by MARGIN)."""
REFUSE_AT = 0.55
"""A red-line intent leading with this score is refused. Lower values refuse more red lines of the
evaluation sets, but `posbot validate`'s leave-one-out check then shows ordinary examples refused
(0.50: `卡刷不过去` as 拆单, `跨省用机器有影响吗` as 养卡); 0.55 refuses none of them."""
REFUSE_MARGIN = 0.05
"""A red line found by its examples (not by a pattern or a signal) is refused only when it leads the next
intent by this much. On the read blind sets 0.05 took false refusals from 3 to 1 and lost one red line
of 618; 0.10 lost three; the holdout's totals are the same at 0, 0.05 and 0.10."""
REFUSE_LEAD_AT = 0.44
"""Below REFUSE_AT, a red line is still refused from here when it leads every ordinary intent by
REFUSE_LEAD: a request told in words no example has ("装修款两万八 能刷成四笔七千的吗", 0.50) fits its red
line loosely but nothing else at all. On the read blind sets 0.44/0.10 refused five more red lines and no
other question; `posbot validate` shows no example refused."""
REFUSE_LEAD = 0.10
REFUSE_SURE_AT = 0.70
"""A red line found by examples alone is refused as sure from this score when it also leads every ordinary intent
by MARGIN; below, the refusal is worded as "如果你问的是「套现」…" with a way to say it was not."""
CLARIFY_CHOICES = 3

DecisionKind = Literal["answer", "clarify", "fallback", "refuse"]
NOT_OFFERED = frozenset({"smalltalk", "redline"})
"""Kinds never offered as a "您是想问…" choice: asking "did you mean hello?" helps nobody, and a red line
is refused when it is sure and otherwise not suggested."""


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    intent: str | None = None
    """The answered intent (answer), or the red line matched (refuse; None for a red-line word)."""
    choices: tuple[Candidate, ...] = ()
    """What to offer (clarify only), best first."""
    sure: bool = True
    """False for a red line refused on its examples' loose fit (under REFUSE_SURE_AT, or close to an ordinary
    intent): the reply says what it took the question for and asks to be corrected, rather than tell a merchant
    who meant something honest that they asked for fraud."""

    @property
    def refused(self) -> bool:
        """The question crosses a red line: refused, not "not understood"."""
        return self.kind == "refuse"


def decide(candidates: Sequence[Candidate], *, answer_at: float = ANSWER_AT, margin: float = MARGIN,
           clarify_at: float = CLARIFY_AT, specific: bool = True, talk_at: float = TALK_AT,
           refuse_at: float = REFUSE_AT, vague_clarify_at: float = VAGUE_CLARIFY_AT) -> Decision:
    """Answer when sure, clarify when close, fall back when nothing fits.

    A response code found in the question is certain (score 1.0, via "code"); two different codes
    in one question are asked about rather than guessed. Small talk is answered from `talk_at` when
    nothing else comes close (a wrong "不客气" costs nothing); a red line is refused from `refuse_at`
    when it leads. Without a `specific` word (one that says something about the terminal, not
    only 卡/机器/怎么办), a question needs `vague_clarify_at` for a "您是想问…", else it falls back.
    """
    if not candidates:
        return Decision("fallback")
    top = candidates[0]
    codes = [c for c in candidates if c.via == "code"]
    if len(codes) > 1:
        return Decision("clarify", choices=tuple(codes[:CLARIFY_CHOICES]))
    if top.via == "code":
        return Decision("answer", intent=top.intent)
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    if top.kind == "redline":
        # the margin is over the best ordinary intent: two red lines close together are still a red line
        ordinary = [c for c in candidates if c.kind != "redline"]
        lead = top.score - max((c.score for c in ordinary), default=0.0)
        sure = top.via != "fuzzy" or (top.score >= REFUSE_SURE_AT and lead >= margin)
        if top.score >= refuse_at and (top.via != "fuzzy" or lead >= REFUSE_MARGIN):
            return Decision("refuse", intent=top.intent, sure=sure)
        if top.score >= min(refuse_at, REFUSE_LEAD_AT) and lead >= REFUSE_LEAD:
            return Decision("refuse", intent=top.intent, sure=sure)
        if top.score >= refuse_at:
            # a red line's example barely ahead of an ordinary question ("想办一台刷卡机 … 没营业执照"): decide
            # among the others rather than tell an honest merchant they asked for fraud
            return decide(ordinary, answer_at=answer_at, margin=margin, clarify_at=clarify_at, specific=specific,
                          talk_at=talk_at, refuse_at=refuse_at, vague_clarify_at=vague_clarify_at)
    if top.kind == "smalltalk":
        others = max((c.score for c in candidates if c.kind != "smalltalk"), default=0.0)
        if top.score >= talk_at and top.score - others >= margin:
            return Decision("answer", intent=top.intent)
    elif top.score >= answer_at and top.score - runner_up >= margin:
        return Decision("answer", intent=top.intent)
    if top.score >= (clarify_at if specific else vague_clarify_at):
        choices = tuple(c for c in candidates if c.score >= clarify_at and c.kind not in NOT_OFFERED)
        if choices:
            return Decision("clarify", choices=choices[:CLARIFY_CHOICES])
    return Decision("fallback")


MODEL_REFUSE_AT = 0.97
"""The red-line model's probability from which a question the matcher would ask about or fall back on is refused
(unsure): the lowest value of the sweep that refuses at most 10 more of the ~5,000 other questions of the read evaluation
sets (0.2 %; benchmarks/accuracy.py --redline-model). At release it refuses 10 of them more, 20 of their 1,321 red
lines, and 109 of the 497 held-out requests; 0.95 would refuse 16 and 24, 0.98 8 and 19. Two releases on (dev19, dev20
and dev24 read: 5,258 other questions, 1,661 red lines) 9 and 50, and 111 held-out requests (110 of them typed in
pinyin); 0.95 would refuse 15 and 58, 0.98 7 and 42."""
MODEL_REFUSE_AT_LETTERS = 0.95
"""MODEL_REFUSE_AT for a question typed mostly in letters (pinyin, English words), which the model reads as the matcher
wrote it back: homophones and dropped syllables make it less sure of the same request. Calibrated to refuse as few
honest questions as MODEL_REFUSE_AT does in characters: of the model's 340 held-out honest questions, 4 are refused
in characters at 0.97 and 4 typed in pinyin at 0.95 (1 at 0.97), with 132 of the 497 requests typed in pinyin (110
at 0.97) and none of the 133 everyday messages (benchmarks/accuracy.py --redline-model). No question of the read
evaluation sets is refused more; their red lines typed in letters 4 more (dev24 3 of 110, dev10a 1)."""
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_ENGLISH_WORD = re.compile(r"[a-z]{2,}", re.IGNORECASE)
_HAN = re.compile(r"[\u4e00-\u9fff]")


def model_readable(read: str) -> str | None:
    """What of `read` (a question as the matcher reads it) the red-line model can judge: all of it when it is mostly
    Chinese characters; its Chinese alone when letters outnumber the characters but the characters still outnumber
    the English words ("how to make the 刷卡 look like real sales 金额弄随机一点就行吗"); nothing when it is mostly
    English, emoji or anything else. The model learnt from Chinese sentences: English it barely knows is judged by
    its letters, and honest English questions ("customer paid half cash half card, how to refund") read as red
    lines, while their Chinese alone did not. Judging every text with English by its Chinese alone was tried too: it
    lost as many red lines of the read sets as it found (English red-line examples teach the model some English)."""
    folded = unicodedata.normalize("NFKC", read)  # "𝓣𝓱𝓮" and full-width letters are Latin too
    chinese = len(_HAN.findall(folded))
    if chinese == 0:
        return None
    if len(_LATIN.findall(folded)) <= chinese:
        return read
    if len(_ENGLISH_WORD.findall(folded)) > chinese:
        return None
    return " ".join(_ENGLISH_WORD.sub(" ", folded).split())


def _someone_elses_job(decision: Decision, candidates: Sequence[Candidate]) -> bool:
    """posbot asks about what it ranks first, someone else's job as sure as ANSWER_AT ("有没有那种不看征信的借款": a
    loan, or the customer's bank?). The model is not asked there: of the read sets' and held-out red lines (about
    3,000) it refused none there, and two honest questions about a loan (it reads 那种, 急用钱 as red)."""
    return (decision.kind == "clarify" and bool(candidates) and candidates[0].kind == "redirect"
            and candidates[0].score >= ANSWER_AT)


def _mostly_letters(typed: str) -> bool:
    folded = unicodedata.normalize("NFKC", typed)
    return len(_LATIN.findall(folded)) > len(_HAN.findall(folded))


def second_opinion(decision: Decision, verdict: Callable[[str], Verdict], read: str,
                   candidates: Sequence[Candidate] = (), typed: str | None = None) -> Decision:
    """`decision`, or a refusal (unsure) where it would clarify or fall back and the red-line model
    (bot/core/redline_model.py; `verdict` of a text, asked only then) is sure the question asks for a red line.

    `read` is the question as the model reads it, the matcher's normalised text: pinyin written back as the words
    it sounds like, the English words the lexicon knows written in Chinese; the model judges what of it it can
    (model_readable). Judging the raw question instead left every request typed in pinyin to the matcher: of the
    model's held-out requests typed in pinyin, 207 of 497 were refused (394 in characters); judged as read, 318,
    with 2 more of the 340 honest questions typed in pinyin and none of the 133 everyday ones. `candidates`: what
    the decision was made from (_someone_elses_job); `typed`: the question as typed (MODEL_REFUSE_AT_LETTERS)."""
    if decision.kind not in ("clarify", "fallback") or _someone_elses_job(decision, candidates):
        return decision
    readable = model_readable(read)
    if readable is None:
        return decision
    judged = verdict(readable)
    refuse_at = MODEL_REFUSE_AT_LETTERS if typed is not None and _mostly_letters(typed) else MODEL_REFUSE_AT
    if judged.probability >= refuse_at and judged.intent is not None:
        return Decision("refuse", intent=judged.intent, sure=False)
    return decision
