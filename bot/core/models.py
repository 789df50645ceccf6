"""The content schema: what admins write in intents/, as frozen pydantic models.

The same models validate the YAML, give the error locations the loader turns into file:line
messages, and generate the JSON Schema for editors (bot/core/schema.py; field docstrings become the
editor's hover texts). After loading nothing touches raw dicts.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Mapping

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, GetJsonSchemaHandler, StringConstraints, field_validator,
                      model_validator)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

CODE_PATTERN = r"^[0-9A-Z]{2}$"
ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class EditorHint:
    """Extra JSON Schema keywords for editors only: validation is unchanged. Used where a rule lives in
    a validator (which the JSON Schema cannot see), or to improve the editor's messages
    (`patternErrorMessage`, `enumDescriptions`, `doNotSuggest` are VS Code YAML extensions)."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.keywords)
        return schema

    def __repr__(self) -> str:
        return f"EditorHint({self.keywords!r})"


_NOT_BLANK = EditorHint(pattern=r"\S", patternErrorMessage="must not be empty or only spaces")
_SNAKE = "snake_case ASCII: lower-case letters, digits and _, starting with a letter"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, strict=True), _NOT_BLANK]
"""A non-empty string; strict, so an unquoted `03` (YAML reads it as the number 3) is an error."""

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16, strict=True), _NOT_BLANK]
"""A short title, shown on buttons."""

NOW_LIMIT = 40
"""The first line of an answer, what to do now: at most this many characters, about two lines of a
phone screen (a phone shows 18–20 Chinese characters a line in Telegram)."""


def _now_fits(value: str) -> str:
    if "\n" in value:
        raise ValueError("第一句只能写一行：现在先做什么，一句话说完；其余写进 steps 或 details")
    if len(value) > NOW_LIMIT:
        raise ValueError(f"第一句是商户最先看到的“现在先做什么”，最多 {NOW_LIMIT} 个字（手机上约两行），"
                         f"现在有 {len(value)} 个：只留下马上要做的那件事，原因和细节写进 details")
    return value


NowLine = Annotated[Text, AfterValidator(_now_fits),
                    EditorHint(maxLength=NOW_LIMIT, pattern=r"^[^\n]*\S[^\n]*$",
                               patternErrorMessage=f"one line, at most {NOW_LIMIT} characters")]
"""The first line of an answer: what the merchant does now, ≤ 40 characters, one line."""

IntentId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=40, strict=True),
                     EditorHint(patternErrorMessage=_SNAKE)]
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN, strict=True),
                 EditorHint(patternErrorMessage='a response code: two digits or capital letters, quoted, e.g. "51" or "A0"')]


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

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["enumDescriptions"] = [PARTY_LABELS[party] for party in cls]
        return schema


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

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["enumDescriptions"] = ["可靠 well sourced", "一般 partly sourced",
                                      "不确定 uncertain: the answer adds “以收单机构/发卡行答复为准”"]
        return schema


class _Model(BaseModel):
    # the attribute docstrings below are the JSON schema's field descriptions: bot/core/schema.py reads them
    # when it writes the schemas (pydantic's use_attribute_docstrings would read every class's source at each
    # start, about 50 ms)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class CodeIntent(_Model):
    """A China UnionPay POS response code (ISO 8583 field 39) as merchants meet it."""

    kind: Annotated[Literal["code"], EditorHint(doNotSuggest=True)] = "code"
    """Not needed: the top-level key `codes:` says it."""
    id: Annotated[IntentId, EditorHint(pattern=r"^code_[0-9a-z]{2}$",
                                       patternErrorMessage='"code_" + the code in lower case, e.g. code_51, code_a0')]
    """"code_" + the code in lower case, e.g. code_51, code_a0 (ASCII only)."""
    code: Code
    """应答码 The response code, always quoted: two digits or capital letters, e.g. "51", "A0"."""
    name: Text
    """标准名称 The short standard name, e.g. 余额不足."""
    aliases: tuple[Text, ...] = ()
    """别名 Other names, and what terminals display; merchants quote them."""
    display: Text | None = None
    """屏幕提示 What the terminal screen typically shows for this code."""
    meaning: Text
    """含义 What it means, in plain Chinese, 1–2 sentences; shown under 详细说明."""
    party: Party
    """谁来处理 Who must act: merchant | cardholder | issuer | acquirer | terminal | unionpay."""
    now: NowLine
    """现在先做 The answer's first line: what to do now, ≤ 40 characters, naming who acts
    ("请顾客换卡或改扫码，别重刷同一张卡"). No step may repeat it."""
    steps: tuple[Text, ...] = Field(min_length=1)
    """处理步骤 The few short steps under the first line (the whole answer ≤ 8 lines, each step ≤ 40 characters)."""
    details: tuple[Text, ...] = ()
    """详细说明 Optional: rare cases, what to report to the acquirer; shown with the meaning under 详细说明."""
    tell_customer: Text
    """对顾客说 One sentence the merchant can say to the cardholder."""
    confidence: Confidence
    """可信度 high | medium | low; low answers add “以收单机构/发卡行答复为准”."""
    examples: tuple[Text, ...] = ()
    """例句 How merchants really type it (≥ 5 for the 30 most common codes)."""
    notes: Text | None = None
    """管理员备注 Notes for admins (corrections, sources); never shown to merchants."""

    @field_validator("id")
    @classmethod
    def _id_names_code(cls, value: str) -> str:
        if not value.startswith("code_"):
            raise ValueError('应答码意图的 id 是 "code_" 加小写的应答码，例如 code_a0')
        return value

    @property
    def title(self) -> str:
        return f"{self.code} {self.name}"


class _TitledIntent(_Model):
    """What every intent but a code's shares: an id that is not "code_…", and its title as its name."""

    if TYPE_CHECKING:  # declared by each subclass, in its own place in the schema
        title: str

    @field_validator("id", check_fields=False)
    @classmethod
    def _not_code_id(cls, value: str) -> str:
        if value.startswith("code_"):
            raise ValueError('以 "code_" 开头的 id 留给应答码意图用，请换一个')
        return value

    @property
    def name(self) -> str:
        return self.title


class SymptomIntent(_TitledIntent):
    """A problem merchants describe without a response code."""

    kind: Annotated[Literal["symptom"], EditorHint(doNotSuggest=True)] = "symptom"
    """Not needed: the top-level key `symptoms:` says it."""
    id: Annotated[IntentId, EditorHint(**{"not": {"pattern": "^code_"}})]
    """snake_case ASCII, not starting with "code_"; the required symptom ids are fixed (posbot refers to them)."""
    title: Title
    """标题 Short title shown on buttons, ≤ 16 characters."""
    answer: Text
    """说明 What it is and why, 1–3 sentences; shown under 详细说明, not in the answer itself."""
    now: NowLine
    """现在先做 The answer's first line: what to do now, ≤ 40 characters. No step may repeat it."""
    steps: tuple[Text, ...] = Field(min_length=1)
    """排查步骤 The few short steps under the first line (the whole answer ≤ 8 lines, each step ≤ 40 characters)."""
    details: tuple[Text, ...] = ()
    """详细说明 Optional: further steps, rare cases, what to report; shown under 详细说明."""
    tell_customer: Text | None = None
    """对顾客说 Optional: one sentence the merchant can say to the cardholder."""
    related_codes: tuple[Code, ...] = ()
    """相关应答码 Optional: quoted codes whose answer mentions this symptom, e.g. ["68"]."""
    confidence: Confidence = Confidence.HIGH
    """可信度 Optional, default high."""
    aliases: tuple[Text, ...] = ()
    """别名 Optional short names."""
    not_examples: tuple[Text, ...] = ()
    """反例 Optional: questions that share this problem's words but belong elsewhere ("我的信用卡额度太低" is the
    card's bank, not the terminal's limit); a question closer to one of them than to this intent is not given it."""
    examples: tuple[Text, ...] = ()
    """例句 ≥ 10, the way merchants type on a phone."""
    notes: Text | None = None
    """管理员备注 Notes for admins; never shown to merchants."""


class _ConversationIntent(_TitledIntent):
    """Shared fields of the intents that are not a terminal problem: small talk, someone else's job,
    red lines. They are matched like the others (names, aliases, examples) and answered with one
    short text; `not_examples` are questions that must not land here (checked by `posbot validate`,
    and a question closer to one of them than to any example is not given this intent)."""

    id: Annotated[IntentId, EditorHint(**{"not": {"pattern": "^code_"}})]
    """snake_case ASCII, not starting with "code_"."""
    title: Title
    """标题 Short title (buttons, reports), ≤ 16 characters."""
    answer: Text
    """回答 What posbot says, short enough for a phone."""
    aliases: tuple[Text, ...] = ()
    """别名 Optional short names."""
    examples: tuple[Text, ...] = Field(min_length=3)
    """例句 ≥ 3, the way people type them."""
    not_examples: tuple[Text, ...] = ()
    """反例 Questions that look alike but must NOT get this intent (they belong elsewhere)."""
    notes: Text | None = None
    """管理员备注 Notes for admins; never shown to merchants."""



class SmalltalkIntent(_ConversationIntent):
    """闲聊 Greetings, thanks, goodbyes, "are you a robot?", praise and complaints: a short reply."""

    kind: Annotated[Literal["smalltalk"], EditorHint(doNotSuggest=True)] = "smalltalk"
    """Not needed: the top-level key `smalltalk:` says it."""
    keeps_flow: bool = False
    """在排查中不打断 True for 好的/嗯/收到: said in the middle of a flow, the flow goes on."""
    opener: bool = False
    """只是开场白 True for 你好/在吗: in a message that goes on to ask or tell something else, it is not
    the answer ("您好，本人经营一家建材门店，…请问是否可行" is not a greeting, though nothing else fits it)."""


def _signals_have_words(signals: tuple[str, ...]) -> tuple[str, ...]:
    for signal in signals:
        groups = signal_groups(signal)
        if len(groups) < 2 or any(not group for group in groups):
            raise ValueError(f"{signal!r}：要写两组以上的词，组之间用 + 分开，组内的词用 | 分开，"
                             "例如 “自己的卡|我的信用卡 + 自己的机器|店里的机器”")
    return signals


SignalList = Annotated[tuple[Text, ...], AfterValidator(_signals_have_words)]
"""Signals ("a|b + c|d"), each of two groups or more (bot/core/signals.py)."""


class RedirectIntent(_ConversationIntent):
    """不归我们管 A question close to ours that someone else answers (the card's issuing bank, a wallet
    app, a transit-card operator, a phone shop …): say kindly who to contact instead."""

    kind: Annotated[Literal["redirect"], EditorHint(doNotSuggest=True)] = "redirect"
    """Not needed: the top-level key `redirects:` says it."""
    contact: NowLine
    """找谁 Who to contact instead: the answer's first line, ≤ 40 characters (e.g. 让顾客打卡背面的发卡银行客服电话)."""
    markers: tuple[Text, ...] = ()
    """标志词 Words that only this other party's world uses (公交卡, 饭卡, 路由器, 微信零钱): a question holding
    one, and no response code, is offered this intent first whatever else it says."""
    signals: SignalList = ()
    """同时出现 Word groups that together say this other party's business where no one word does, written as a
    red line's signals are ("我的卡|客人的卡 + 丢了|挂失"): a question holding a word of every group within 30
    characters is treated as holding a marker."""


def _compiled(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """`patterns` unchanged if each is a regular expression, else a Chinese message saying where it breaks."""
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            where = f"第 {error.pos + 1} 个字符附近" if error.pos is not None else "某处"
            raise ValueError(f"{pattern!r} 不是正确的正则表达式（{where}出错）：检查括号是否配对；"
                             "要匹配 ( ) [ ] . * ? + 这些符号本身，前面加 \\") from error
    return patterns


class RedlineIntent(_ConversationIntent):
    """红线 A request posbot must refuse whatever its wording (套现, 拆单, 养卡, recording PINs …):
    matched by meaning through its examples and its patterns; the answer says why and what follows."""

    kind: Annotated[Literal["redline"], EditorHint(doNotSuggest=True)] = "redline"
    """Not needed: the top-level key `redlines:` says it."""
    now: NowLine
    """不能做什么、该怎么做 The answer's first line, ≤ 40 characters ("POS 机只能收真实交易的钱，不能套现");
    `answer` under it says why and what follows."""
    patterns: tuple[Text, ...] = ()
    """句式 Regular expressions for the shapes of this request ("刷.{0,6}还.{0,3}网贷"), matched against the
    question in simplified lower-case Chinese after a denied clause is dropped; any match refuses."""

    signals: SignalList = ()
    """同时出现 Word groups that together make this request, in any order: groups are joined by "+",
    words inside a group by "|" ("自己的卡|我的信用卡 + 自己的机器|店里的机器"). A question holding a word
    of every group within 30 characters, and no response code, is refused. Easier to write than a
    pattern, and the order of what merchants say does not matter."""

    model_examples: tuple[Text, ...] = ()
    """更多说法 More ways merchants ask for this, for the red-line model only (bot/core/redline_model.py): the
    matcher does not compare questions with them, so hundreds here change no other question's score. Write the
    request in everyday words, without naming the act ("先刷我卡上的 你过两天打回来")."""
    model_not_examples: tuple[Text, ...] = ()
    """正常的问法 Honest questions in this red line's words ("客人一半刷卡一半付现金 可以吧"), for the red-line
    model only: they teach it which words do not make a request."""

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        return _compiled(patterns)


def signal_groups(signal: str) -> tuple[tuple[str, ...], ...]:
    """"a|b + c|d" as its groups of words, spaces dropped (the question is compared without them)."""
    return tuple(tuple(word for word in (w.replace(" ", "").lower() for w in group.split("|")) if word)
                 for group in signal.split("+"))


Intent = CodeIntent | SymptomIntent | SmalltalkIntent | RedirectIntent | RedlineIntent
ProblemIntent = CodeIntent | SymptomIntent
"""The intents about a terminal problem: they have steps, flows and scripts."""
IntentKind = Literal["code", "symptom", "smalltalk", "redirect", "redline"]


class IntentFile(_Model):
    """One YAML file under intents/ (lexicon.yaml aside)."""

    codes: tuple[CodeIntent, ...] = ()
    """应答码意图 Code intents (files under intents/codes)."""
    symptoms: tuple[SymptomIntent, ...] = ()
    """症状意图 Symptom intents (files under intents/symptoms)."""
    smalltalk: tuple[SmalltalkIntent, ...] = ()
    """闲聊 Small talk (intents/smalltalk.yaml)."""
    redirects: tuple[RedirectIntent, ...] = ()
    """转介 Someone else's job (intents/redirects.yaml)."""
    redlines: tuple[RedlineIntent, ...] = ()
    """红线 Requests posbot refuses (intents/redlines.yaml)."""

    KEYS: ClassVar[tuple[str, ...]] = ("codes", "symptoms", "smalltalk", "redirects", "redlines")


class StepReplies(_Model):
    """Typed replies at a flow step that mean "it worked" / "it still fails"; matched fuzzily. (Not
    `yes`/`no`: YAML 1.1 reads those keys as booleans.)"""

    fixed: tuple[Text, ...] = ("好了", "好啦", "解决了", "可以了", "行了", "成功了", "搞定", "搞定了", "ok了", "ok", "好使了",
                             "能用了", "弄好了", "没问题了", "正常了")
    """It worked: picks the step's 好了… choice (or the one that ends resolved)."""
    not_fixed: tuple[Text, ...] = ("不行", "还是不行", "不可以", "没用", "没解决", "还不行", "失败了", "还是失败", "不好使",
                            "还是不好使", "没好", "还没好", "不能用", "还是报", "还是显示", "没反应", "还是没反应", "还是一样")
    """Still failing: picks the step's 还是不行… choice (or the one that goes to a human)."""


class Lexicon(_Model):
    """The lexicon: words for jieba, synonyms, stopwords, typos and red-line words."""

    words: tuple[Text, ...] = ()
    """分词词语 Extra jieba words; intent names and aliases are added automatically."""
    synonyms: tuple[Annotated[tuple[Text, ...], EditorHint(minItems=2)], ...] = ()
    """同义词 Groups of at least two; the first entry is canonical, the rest are rewritten to it."""
    stopwords: tuple[Text, ...] = ()
    """停用词 Filler words ignored when scoring."""
    typos: dict[Text, Text] = Field(default_factory=dict)
    """错别字 Misspelling: correction, for misspellings that do not sound alike."""
    refuse: tuple[Text, ...] = ()
    """红线词 Words that mark a request posbot must decline (red lines), whatever else the question says."""
    redline_names: tuple[Text, ...] = ()
    """红线的名字 套现, 养卡, 跳码 …: where the merchant says they do not do one ("我不搞套现") or asks whether
    what they did counts as one ("这样算不算套现"), the name is taken out and what they did is read instead."""
    not_the_terminal: tuple[Text, ...] = ()
    """不是终端的事 Regular expressions for a merchant saying the question is not about the terminal
    ("跟机器没关系", "不是刷卡机的事", "刷卡机倒是好的"), matched against the whole question in simplified
    lower-case Chinese: someone else's job (a redirect) then comes before any terminal problem."""
    english: dict[Text, Text] = Field(default_factory=dict)
    """英文词 English words or phrases merchants mix in, and the Chinese they mean (printer: 打印机);
    matched as whole words, lower case."""
    everyday: tuple[Text, ...] = ()
    """日常的话 Ordinary messages that are no intent's and cross no red line: chat, off-topic requests, long honest
    stories ("帮我算算这个月房租水电一共多少", "今天下雨 客人少得很 心烦"). Only the red-line model reads them
    (bot/core/redline_model.py), as ordinary talk: without them, the friendly words of a long story ("反正",
    "干脆", "生日") count as a red line's, because red-line requests are often told as stories and examples seldom."""
    replies: StepReplies = Field(default_factory=StepReplies)
    """排查回复 What a merchant types at a flow step instead of tapping 好了 or 还是不行. Only the dialog
    reads these (never the matcher); left out, the defaults below apply."""

    @field_validator("not_the_terminal")
    @classmethod
    def _not_the_terminal_compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        return _compiled(patterns)

    @field_validator("synonyms")
    @classmethod
    def _groups_have_two(cls, groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for group in groups:
            if len(group) < 2:
                raise ValueError(f"一组同义词至少要有两个词：{list(group)}")
        return groups


StepId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=24, strict=True),
                   EditorHint(patternErrorMessage=_SNAKE)]
"""Flow and step ids travel in Telegram callback data (64 bytes), hence the short cap."""
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=14, strict=True), _NOT_BLANK]
"""A button label: 14 Chinese characters still fit a phone-width inline button."""
StepText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400, strict=True),
                     _NOT_BLANK]
"""One short thing to do or check: phone-sized, far inside Telegram's 4096-character message."""
ScriptLine = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, strict=True),
                       _NOT_BLANK]
IntentRef = Annotated[str, StringConstraints(pattern=r"^([a-z][a-z0-9_]*|[0-9A-Z]{2})$", strict=True),
                      EditorHint(patternErrorMessage='an intent id (printer_problem) or a quoted response code ("51")')]
"""An intent id (printer_problem, code_51) or a response code ("51")."""
End = Literal["resolved", "escalate"]


CHOICE_TARGETS = ("next", "end", "script", "flow")
ContextSlot = Literal["code", "charged", "card_type", "terminal"]
"""What the merchant may already have said that answers a step (bot/core/context.py):
code (a response code, "51"), charged (yes | no: the customer was charged or not), card_type (信用卡 |
储蓄卡 | 外卡), terminal (电签 | 传统 | 智能POS)."""


class Choice(_Model):
    """A button on a step: leads to exactly one of another step, an end, a script or another flow."""

    model_config = ConfigDict(json_schema_extra={  # the editor's view of _one_target
        "oneOf": [{"required": [name], "properties": {name: {"type": "string"}}} for name in CHOICE_TARGETS]})

    label: Label
    """按钮文字 Button label, ≤ 14 characters; start success choices with 好了…, failures with 还是不行…"""
    next: StepId | None = None
    """下一步 Go to another step of this flow (its id)."""
    end: End | None = None
    """结束 resolved (problem solved) or escalate (hand over to a human)."""
    script: StepId | None = None
    """话术 Show a customer script (its id)."""
    flow: StepId | None = None
    """转到流程 Continue in another flow, at its first step (its id)."""
    when: tuple[Text, ...] = ()
    """已知就选 On a step with `answered_by`: the values of that detail that pick this choice without
    asking (codes such as "03", yes/no for charged, 电签/传统/智能POS, 信用卡/储蓄卡/外卡); "*" picks it
    for any other known value. Only on choices that go to `next` or `flow`."""

    @model_validator(mode="after")
    def _one_target(self) -> "Choice":
        targets = [name for name in CHOICE_TARGETS if getattr(self, name) is not None]
        if len(targets) != 1:
            raise ValueError("一个按钮只能通向一处：next、end、script、flow 四个里恰好写一个"
                             + (f"（现在写了 {'、'.join(targets)}）" if targets else "（现在一个也没写）"))
        return self

    @property
    def target(self) -> tuple[str, str]:
        for name in CHOICE_TARGETS:
            value = getattr(self, name)
            if value is not None:
                return name, value
        raise AssertionError("validated to have one target")


class Step(_Model):
    """One step of a flow: one short thing to do or check, and the buttons that follow."""

    id: StepId
    """snake_case ASCII, ≤ 24 characters, unique within the flow."""
    text: StepText
    """步骤 One action or check, phone-sized (≤ 400 characters)."""
    choices: tuple[Choice, ...] = Field(min_length=1, max_length=6)
    """选项 1–6 buttons; posbot adds 上一步, 重新开始 and 转人工 itself."""
    answered_by: ContextSlot | None = None
    """已说过就跳过 The detail that answers this step when the merchant already said it (code, charged,
    card_type, terminal): the choice whose `when` lists the known value is taken without asking, and
    the merchant is told so in one line."""

    @model_validator(mode="after")
    def _when_needs_answered_by(self) -> "Step":
        if any(choice.when for choice in self.choices) and self.answered_by is None:
            raise ValueError("按钮写了 when，这一步就要写 answered_by（用哪个已知信息来回答这一步）")
        if self.answered_by is not None and not any(choice.when for choice in self.choices):
            raise ValueError("写了 answered_by，至少要有一个按钮写 when（哪个值选哪个按钮）")
        for choice in self.choices:
            if choice.when and choice.target[0] not in ("next", "flow"):
                raise ValueError(f"按钮“{choice.label}”写了 when：只有通向 next 或 flow 的按钮能自动选")
        return self


class Flow(_Model):
    """A troubleshooting flow: a small graph of steps; the first step is where it starts."""

    id: StepId
    """snake_case ASCII, ≤ 24 characters."""
    title: Title
    """标题 ≤ 16 characters."""
    intents: tuple[IntentRef, ...] = ()
    """Intents (ids or codes) this flow is for."""
    parties: tuple[Party, ...] = ()
    """Default flow for code intents whose party is listed and that no flow names."""
    steps: tuple[Step, ...] = Field(min_length=1)
    """步骤 The steps; the first is where the flow starts."""

    @property
    def start(self) -> Step:
        return self.steps[0]

    def step(self, step_id: str) -> Step | None:
        return next((step for step in self.steps if step.id == step_id), None)


SHORT_SCRIPT_SENTENCES = 3
"""A customer is waiting at the counter: the words read aloud first are at most this many sentences."""
_SENTENCE_END = re.compile(r"[。！？!?]+")


def sentences(text: str) -> list[str]:
    """The sentences of a line as the merchant would read it aloud (ended by 。！？; a last one may lack it)."""
    return [part for part in (p.strip() for p in _SENTENCE_END.split(text)) if part]


class Script(_Model):
    """What the merchant says to the cardholder at the counter: a short form read aloud first, and
    the six moves, in order, as the longer version shown on request.

    Lines may hold placeholders {amount}, {time}, {last4}: filled from what the merchant already
    said, or shown as a clear blank."""

    id: StepId
    """snake_case ASCII, ≤ 24 characters."""
    title: Title
    """标题 ≤ 16 characters."""
    intents: tuple[IntentRef, ...] = ()
    """Intents (ids or codes) that offer this script."""
    parties: tuple[Party, ...] = ()
    """Default script for code intents whose party is listed and that no script names."""
    short: ScriptLine | None = None
    """简短话术 What the merchant reads aloud with the customer waiting: at most 3 sentences, each true
    in every situation that offers this script. Shown first; the six moves below are the longer
    version (the 完整话术 button). Without it the six moves are shown."""
    apologise: ScriptLine
    """致歉 Acknowledge and apologise (≤ 200 characters)."""
    explain: ScriptLine
    """解释 The cause in plain words; discreet: never announce “余额不足” aloud."""
    solution: ScriptLine
    """方案 The concrete solution: void, refund, wait for the reversal, another card or way to pay."""
    follow_through: ScriptLine
    """跟进 Show you will follow through."""
    check: ScriptLine
    """确认 Ask whether that works for them."""
    door_open: ScriptLine
    """留门 Leave the door open: contact, receipt, reference number."""

    MOVES: ClassVar[tuple[str, ...]] = ("apologise", "explain", "solution", "follow_through", "check",
                                        "door_open")

    @field_validator("short")
    @classmethod
    def _few_sentences(cls, value: str | None) -> str | None:
        if value is not None and len(sentences(value)) > SHORT_SCRIPT_SENTENCES:
            raise ValueError(f"简短话术是当着顾客念的：最多 {SHORT_SCRIPT_SENTENCES} 句（以。！？结尾），"
                             f"现在有 {len(sentences(value))} 句")
        return value

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(getattr(self, move) for move in self.MOVES)


class TopicAnswer(_Model):
    """A follow-up's answer for some topics: what was last answered or the flow running."""

    topics: tuple[IntentRef, ...] = Field(min_length=1)
    """话题 Intent ids or quoted codes ("51") this answer is for."""
    known: dict[ContextSlot, Text] = Field(default_factory=dict)
    """已知情况 Optional: only when the merchant said these details, e.g. {charged: "yes"} for "扣钱了但显示96";
    put such an answer before the one for the same topics without it."""
    answer: Text
    """回答 What posbot says, ≤ 200 characters: true for every topic listed."""

    @field_validator("answer")
    @classmethod
    def _phone_sized(cls, value: str) -> str:
        if len(value) > FOLLOWUP_ANSWER_CHARS:
            raise ValueError(f"跟进回答要短（手机一屏）：最多 {FOLLOWUP_ANSWER_CHARS} 个字，现在 {len(value)} 个")
        return value


FOLLOWUP_ANSWER_CHARS = 200


class Followup(_Model):
    """追问 A question that only makes sense after an answer ("那要退钱吗", "顾客要走了怎么办"): understood
    against the current topic first, and answered for that topic."""

    id: IntentId
    """snake_case ASCII."""
    title: Title
    """标题 ≤ 16 characters (reports)."""
    examples: tuple[Text, ...] = Field(min_length=3)
    """例句 ≥ 3, the way merchants type the follow-up."""
    not_examples: tuple[Text, ...] = ()
    """反例 Questions that look alike but are not this follow-up (checked by `posbot validate`)."""
    answers: tuple[TopicAnswer, ...] = ()
    """按话题回答 Answers for particular topics; the first that lists the topic is given."""
    default: Text | None = None
    """默认回答 For a topic no answer lists. Left out: such a follow-up is taken as a new question."""
    in_flow: bool = True
    """排查中也算 False for 还是不行/好了: in the middle of a flow the step's own buttons answer those."""
    closing: bool = False
    """收尾 True for 好了/没事了: answered with the menu instead of the topic's buttons."""
    show_script: bool = False
    """直接给话术 True for 怎么跟顾客说: the topic's customer script is shown (the answers are for topics
    without a script)."""
    notes: Text | None = None
    """管理员备注 Notes for admins; never shown to merchants."""

    @field_validator("default")
    @classmethod
    def _default_phone_sized(cls, value: str | None) -> str | None:
        if value is not None and len(value) > FOLLOWUP_ANSWER_CHARS:
            raise ValueError(f"跟进回答要短（手机一屏）：最多 {FOLLOWUP_ANSWER_CHARS} 个字，现在 {len(value)} 个")
        return value

    def answer_for(self, topic_refs: tuple[str, ...], slots: Mapping[str, str]) -> str | None:
        """The first answer for a topic known by these references (its intent id, its code) whose
        `known` details match what the merchant said, else the default."""
        for answer in self.answers:
            if (any(ref in answer.topics for ref in topic_refs)
                    and all(slots.get(slot) == value for slot, value in answer.known.items())):
                return answer.answer
        return self.default


class KnowledgeFile(_Model):
    """One YAML file under knowledge/flows, knowledge/scripts or knowledge/followups."""

    flows: tuple[Flow, ...] = ()
    """排查流程 Troubleshooting flows (files under knowledge/flows)."""
    scripts: tuple[Script, ...] = ()
    """话术 Customer-communication scripts (files under knowledge/scripts)."""
    followups: tuple[Followup, ...] = ()
    """追问 Follow-up questions answered for the current topic (files under knowledge/followups)."""


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
