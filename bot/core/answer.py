"""The shape every answer keeps on a phone, and the longer 详细说明 behind it.

An answer is read on a phone at the counter, with the customer waiting: a title, a first line that
says what to do now, a few short numbered steps, the one sentence to say to the customer, and at most
ANSWER_LINES lines in all before the buttons. Everything else an intent knows (what the code means,
who must act, rare cases, what to report) is its 详细说明, one tap away. The dialog builds both from
here, and `posbot validate` (bot/core/checks.py) measures content with the same functions, so what is
checked is exactly what the merchant sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.models import NOW_LIMIT, CodeIntent, Confidence, ProblemIntent, RedirectIntent, RedlineIntent

ANSWER_LINES = 8
"""Lines before the buttons, the title included: what fits a phone screen above the keyboard."""
STEP_LIMIT = 40
"""Characters of one step in the answer, like the first line: about two phone lines (18–20 Chinese
characters a line). The customer line is one sentence (`tell_customer`), not capped here."""
PHONE_LINE = 18
"""Chinese characters one line of a Telegram message holds on a small phone; for measurements."""
FIRST_LINE_LIMIT = NOW_LIMIT
UNSURE_NOTE = "以上仅供参考，以收单机构/发卡行答复为准。"
SAY_PREFIX = "对顾客可以说："


@dataclass(frozen=True)
class Shape:
    """An answer as shown: its title and its lines, in order (the first says what to do now)."""

    title: str
    lines: tuple[str, ...]

    @property
    def count(self) -> int:
        """Lines the merchant sees before the buttons, the title included."""
        return len(self.lines) + (1 if self.title else 0)


def problem_title(intent: ProblemIntent) -> str:
    return f"应答码 {intent.code}：{intent.name}" if isinstance(intent, CodeIntent) else intent.title


def problem_answer(intent: ProblemIntent) -> Shape:
    """The answer to a code or symptom: the first line, the numbered steps, the customer line and,
    for a code or topic that is not well sourced, the note that the acquirer's word counts."""
    lines = [intent.now]
    lines.extend(f"{n}. {step}" for n, step in enumerate(intent.steps, 1))
    if intent.tell_customer:
        lines.append(f"{SAY_PREFIX}“{intent.tell_customer}”")
    if intent.confidence is not Confidence.HIGH:
        lines.append(UNSURE_NOTE)
    return Shape(problem_title(intent), tuple(lines))


def problem_details(intent: ProblemIntent) -> Shape:
    """详细说明: the meaning and who acts (a code) or the explanation (a symptom), then the rest."""
    if isinstance(intent, CodeIntent):
        lines = [f"意思：{intent.meaning}", f"谁来处理：{intent.party.label}"]
        if intent.display:
            lines.append(f"屏幕上常见：{intent.display}")
    else:
        lines = [intent.answer]
    lines.extend(f"· {line}" for line in intent.details)
    if intent.confidence is not Confidence.HIGH:
        lines.append(UNSURE_NOTE)
    return Shape(f"详细说明 · {problem_title(intent)}", tuple(lines))


def redirect_answer(intent: RedirectIntent) -> Shape:
    """Someone else's job: who to contact first, then why it is not ours."""
    return Shape(f"这个要找别人：{intent.title}", (f"找谁：{intent.contact}", intent.answer))


NOT_WHAT_I_MEANT = "不是这个意思的话，请换个说法再问一次，或者点“转人工”。"


def refusal_answer(intent: RedlineIntent | None, *, sure: bool = True) -> Shape:
    """A red line: what cannot be done and the lawful way first, then why and what follows. Refused on a loose
    fit (`sure` False), the title says what the question was taken for and the last line how to correct it."""
    if intent is not None and not sure:
        return Shape(f"如果你问的是「{intent.title}」", (intent.now, *intent.answer.splitlines(), NOT_WHAT_I_MEANT))
    if intent is None:
        return Shape("这个不能帮你", (
            "POS 机只能收真实交易的钱，不能绕过风控",
            "套现、拆单、换卡轮刷或者想办法绕过风控，都违反收单规定，可能导致商户被冻结、终端被关停，"
            "严重的要承担法律责任。额度不够用，可以通过收单机构官方渠道申请调整。"))
    return Shape("这个不能帮你", (intent.now, *intent.answer.splitlines()))


def phone_lines(text: str, *, width: int = PHONE_LINE) -> int:
    """Lines a text takes on a phone, at `width` characters a line (ASCII counts half)."""
    total = 0
    for line in text.splitlines() or [""]:
        units = sum(1 if ord(ch) < 128 else 2 for ch in line)
        total += max(1, -(-units // (2 * width)))
    return total
