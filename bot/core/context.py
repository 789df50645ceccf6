"""What the conversation already knows, and what follows from it.

The dialog keeps the details the merchant gave (bot/core/slots.py: amount, time, card tail, card type,
terminal type, whether the customer was charged; and from the matcher: the response code and the
symptom) and the current topic: the intent last answered, kept while its flow runs. This module holds
the rules that use them, as pure functions:

- a new topic forgets what belonged to the old one (its code, symptom, charge, card), while the
  merchant's own details (terminal type) and the transaction's (amount, time, card tail, which fill
  the scripts) stay;
- a flow step that declares `answered_by:` a known detail is answered by it (`known_choice`), told in
  one line (`known_note`);
- a follow-up ("那要退钱吗") is recognised (`match_followup`) and answered for the current topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from rapidfuzz import fuzz

from bot.core.loader import Content
from bot.core.models import CodeIntent, Followup, Step
from bot.core.normalise import fold

TOPIC_SLOTS = ("code", "symptom", "charged", "card_type")
"""Details that belong to one problem: a new topic starts without them."""
ANY_VALUE = "*"
FOLLOWUP_AT = 80
"""A message this close (rapidfuzz ratio, 0-100, after fillers are dropped) to a follow-up's example
is that follow-up. At 80 "那我要退钱给顾客吗"/"要退钱给顾客吗" (containment, 100) and "顾客急着要走"/"顾客急着走"
(91) are taken, while "签到失败" is 50 at best against the shipped examples."""
FOLLOWUP_OVER_ANSWER_AT = 90
"""A follow-up this close wins over a confident answer for another intent: "要退钱给顾客吗" after 51 is
the 51 follow-up, although the matcher would answer it as 撤销/退货 on its own."""
EXTRA_AROUND_EXAMPLE = 6
"""An example inside a message with at most this many characters around it still counts as said
("那我现在要退钱给顾客吗" holds "要退钱给顾客吗")."""
_LEADING = ("那么", "那我", "那", "所以", "请问", "我")
_TRAILING = "吗呢啊呀吧么嘛啦"


@dataclass(frozen=True)
class FollowupHit:
    followup: Followup
    score: float


def start_topic(slots: Mapping[str, str], said_now: Mapping[str, str]) -> dict[str, str]:
    """The details kept when a new topic starts: the old ones but those of the old topic, then what
    the merchant just said (which may belong to the new topic: "扣钱了但显示96")."""
    kept = {key: value for key, value in slots.items() if key not in TOPIC_SLOTS}
    kept.update(said_now)
    return kept


def topic_slots(content: Content, intent_id: str) -> dict[str, str]:
    """The details an intent itself states: its code, or that it is a symptom."""
    intent = content.by_id.get(intent_id)
    if isinstance(intent, CodeIntent):
        return {"code": intent.code}
    if intent is not None and intent.kind == "symptom":
        return {"symptom": intent.id}
    return {}


def known_choice(step: Step, slots: Mapping[str, str]) -> int | None:
    """The choice a known detail answers at this step, if the step declares one (`answered_by`) and
    the detail is known; a choice whose `when` lists the value, else one listing "*"."""
    if step.answered_by is None or step.answered_by not in slots:
        return None
    value = slots[step.answered_by]
    listed = next((n for n, choice in enumerate(step.choices) if value in choice.when), None)
    if listed is not None:
        return listed
    return next((n for n, choice in enumerate(step.choices) if ANY_VALUE in choice.when), None)


def known_note(step: Step, slots: Mapping[str, str], label: str) -> str:
    """The one line that says why a step was not asked."""
    slot = step.answered_by or ""
    value = slots.get(slot, "")
    said = {
        "code": f"你说过屏幕上是 {value}",
        "charged": "你说过已经扣款了" if value == "yes" else "你说过没有扣款",
        "card_type": f"你说过是{value}",
        "terminal": f"你说过是{value}机" if value != "智能POS" else "你说过是智能POS",
    }.get(slot, "你说过了")
    return f"{said}，所以按“{label}”往下走。"


def followup_form(text: str) -> str:
    """A message or an example as follow-ups are compared: folded, letters and digits only, without
    the fillers around a follow-up ("那我…吗")."""
    form = "".join(ch for ch in fold(text) if ch.isalnum())
    changed = True
    while changed and form:
        changed = False
        for lead in _LEADING:
            if form.startswith(lead) and len(form) > len(lead) + 1:
                form, changed = form[len(lead):], True
        if form and form[-1] in _TRAILING and len(form) > 2:
            form, changed = form[:-1], True
    return form


def _closeness(form: str, example: str) -> float:
    if not form or not example:
        return 0.0
    if example in form and len(form) - len(example) <= EXTRA_AROUND_EXAMPLE:
        return 100.0
    return float(fuzz.ratio(form, example, processor=None))


def match_followup(text: str, followups: Sequence[Followup]) -> FollowupHit | None:
    """The follow-up a message says, if any is close enough and the message is not closer to one of
    that follow-up's `not_examples`."""
    form = followup_form(text)
    best: FollowupHit | None = None
    for followup in followups:
        score = max((_closeness(form, followup_form(e)) for e in followup.examples), default=0.0)
        if score < FOLLOWUP_AT:
            continue
        negative = max((_closeness(form, followup_form(e)) for e in followup.not_examples), default=0.0)
        if negative >= score:
            continue
        if best is None or score > best.score:
            best = FollowupHit(followup, score)
    return best


def topic_refs(content: Content, topic: str | None) -> tuple[str, ...]:
    """How content may name a topic: its intent id, and its code for a code intent."""
    if topic is None:
        return ()
    intent = content.by_id.get(topic)
    return (topic, intent.code) if isinstance(intent, CodeIntent) else (topic,)
