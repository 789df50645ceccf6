"""The content schema: what admins write in intents/, as frozen pydantic models.

The same models validate the YAML, give the error locations the loader turns into file:line
messages, and (later) generate the JSON Schema for editors. After loading nothing touches raw dicts.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

CODE_PATTERN = r"^[0-9A-Z]{2}$"
ID_PATTERN = r"^[a-z][a-z0-9_]*$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, strict=True)]
"""A non-empty string; strict, so an unquoted `03` (YAML reads it as the number 3) is an error."""

IntentId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=40, strict=True)]
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN, strict=True)]


class Party(str, Enum):
    """Who must act on a response code."""

    MERCHANT = "merchant"
    CARDHOLDER = "cardholder"
    ISSUER = "issuer"
    ACQUIRER = "acquirer"
    TERMINAL = "terminal"
    UNIONPAY = "unionpay"

    @property
    def label(self) -> str:
        return PARTY_LABELS[self]


PARTY_LABELS = {
    Party.MERCHANT: "商户（你）",
    Party.CARDHOLDER: "持卡人（顾客）",
    Party.ISSUER: "发卡行",
    Party.ACQUIRER: "收单机构/服务商",
    Party.TERMINAL: "终端（机器本身）",
    Party.UNIONPAY: "银联",
}


class Confidence(str, Enum):
    """How well the explanation is sourced; low answers defer to the acquirer or issuer."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CodeIntent(_Model):
    """A China UnionPay POS response code (ISO 8583 field 39) as merchants meet it."""

    kind: Literal["code"] = "code"
    id: IntentId
    code: Code
    name: Text
    aliases: tuple[Text, ...] = ()
    display: Text | None = None
    meaning: Text
    party: Party
    steps: tuple[Text, ...] = Field(min_length=1)
    tell_customer: Text
    confidence: Confidence
    examples: tuple[Text, ...] = ()
    notes: Text | None = None

    @field_validator("id")
    @classmethod
    def _id_names_code(cls, value: str) -> str:
        if not value.startswith("code_"):
            raise ValueError('a code intent id is "code_" + the code in lower case, e.g. code_a0')
        return value

    @property
    def title(self) -> str:
        return f"{self.code} {self.name}"


class SymptomIntent(_Model):
    """A problem merchants describe without a response code."""

    kind: Literal["symptom"] = "symptom"
    id: IntentId
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16, strict=True)]
    answer: Text
    steps: tuple[Text, ...] = Field(min_length=1)
    tell_customer: Text | None = None
    related_codes: tuple[Code, ...] = ()
    confidence: Confidence = Confidence.HIGH
    aliases: tuple[Text, ...] = ()
    examples: tuple[Text, ...] = ()
    notes: Text | None = None

    @field_validator("id")
    @classmethod
    def _not_code_id(cls, value: str) -> str:
        if value.startswith("code_"):
            raise ValueError('ids starting with "code_" are reserved for code intents')
        return value

    @property
    def name(self) -> str:
        return self.title


Intent = CodeIntent | SymptomIntent


class IntentFile(_Model):
    """One YAML file under intents/codes or intents/symptoms."""

    codes: tuple[CodeIntent, ...] = ()
    symptoms: tuple[SymptomIntent, ...] = ()


class Lexicon(_Model):
    """intents/lexicon.yaml: words for jieba, synonyms, stopwords, typos and red-line words."""

    words: tuple[Text, ...] = ()
    synonyms: tuple[tuple[Text, ...], ...] = ()
    stopwords: tuple[Text, ...] = ()
    typos: dict[Text, Text] = Field(default_factory=dict)
    refuse: tuple[Text, ...] = ()
    """Words that mark a request posbot must decline (red lines), whatever else the question says."""

    @field_validator("synonyms")
    @classmethod
    def _groups_have_two(cls, groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for group in groups:
            if len(group) < 2:
                raise ValueError(f"a synonym group needs at least two entries: {list(group)}")
        return groups


StepId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=24, strict=True)]
"""Flow and step ids travel in Telegram callback data (64 bytes), hence the short cap."""
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=14, strict=True)]
"""A button label: 14 Chinese characters still fit a phone-width inline button."""
StepText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400, strict=True)]
"""One short thing to do or check: phone-sized, far inside Telegram's 4096-character message."""
ScriptLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, strict=True)]
IntentRef = Annotated[str, StringConstraints(pattern=r"^([a-z][a-z0-9_]*|[0-9A-Z]{2})$", strict=True)]
"""An intent id (printer_problem, code_51) or a response code ("51")."""
End = Literal["resolved", "escalate"]


class Choice(_Model):
    """A button on a step: leads to exactly one of another step, an end, a script or another flow."""

    label: Label
    next: StepId | None = None
    end: End | None = None
    script: StepId | None = None
    flow: StepId | None = None

    @model_validator(mode="after")
    def _one_target(self) -> "Choice":
        targets = [name for name in ("next", "end", "script", "flow") if getattr(self, name) is not None]
        if len(targets) != 1:
            raise ValueError("a choice needs exactly one of next, end, script or flow"
                             + (f" (has {', '.join(targets)})" if targets else ""))
        return self

    @property
    def target(self) -> tuple[str, str]:
        for name in ("next", "end", "script", "flow"):
            value = getattr(self, name)
            if value is not None:
                return name, value
        raise AssertionError("validated to have one target")


class Step(_Model):
    id: StepId
    text: StepText
    choices: tuple[Choice, ...] = Field(min_length=1, max_length=6)


class Flow(_Model):
    """A troubleshooting flow: a small graph of steps; the first step is where it starts."""

    id: StepId
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16, strict=True)]
    intents: tuple[IntentRef, ...] = ()
    """Intents (ids or codes) this flow is for."""
    parties: tuple[Party, ...] = ()
    """Default flow for code intents whose party is listed and that no flow names."""
    steps: tuple[Step, ...] = Field(min_length=1)

    @property
    def start(self) -> Step:
        return self.steps[0]

    def step(self, step_id: str) -> Step | None:
        return next((step for step in self.steps if step.id == step_id), None)


class Script(_Model):
    """What the merchant says to the cardholder at the counter, in the six moves, in order.

    Lines may hold placeholders {amount}, {time}, {last4}: filled from what the merchant already
    said, or shown as a clear blank."""

    id: StepId
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16, strict=True)]
    intents: tuple[IntentRef, ...] = ()
    parties: tuple[Party, ...] = ()
    apologise: ScriptLine
    explain: ScriptLine
    solution: ScriptLine
    follow_through: ScriptLine
    check: ScriptLine
    door_open: ScriptLine

    MOVES: ClassVar[tuple[str, ...]] = ("apologise", "explain", "solution", "follow_through", "check",
                                        "door_open")

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(getattr(self, move) for move in self.MOVES)


class KnowledgeFile(_Model):
    """One YAML file under knowledge/flows or knowledge/scripts."""

    flows: tuple[Flow, ...] = ()
    scripts: tuple[Script, ...] = ()


REQUIRED_SYMPTOMS = (
    "charged_but_failed", "duplicate_charge", "signin_failure", "network_failure", "printer_problem",
    "card_read_failure", "contactless_failure", "pin_pad_problem", "settlement_delay", "merchant_frozen",
    "terminal_locked", "power_battery", "wrong_datetime", "void_refund_reversal", "qr_payment_failure",
    "apply_pos", "fee_rate", "relocate_rebind", "customer_dispute", "unknown_decline",
)
"""Symptom ids other parts of posbot (flows, scripts, the Telegram menu) refer to."""


def code_intent_id(code: str) -> str:
    """The id a code intent must have: code_51, code_a0."""
    return "code_" + code.lower()


def looks_like_code(value: str) -> bool:
    return re.fullmatch(CODE_PATTERN, value) is not None
