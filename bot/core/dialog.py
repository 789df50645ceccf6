"""The dialog engine: a question or a tapped choice in, a Reply and the next state out.

The console chat, the Telegram layer and the tests all drive this same object. The per-user state is
a tiny serialisable value, so any front end can keep it wherever it keeps state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping

from bot.core.engine import Engine, Understanding
from bot.core.errors import PosbotError
from bot.core.models import CodeIntent, Confidence, Intent
from bot.core.reply import Option, Reply

SHOW = "i:"
"""Action prefix: show the answer for an intent id (i:code_51)."""
NONE_OF_THESE = "x"
HUMAN = "h"
MENU = "m"

UNSURE_NOTE = "以上仅供参考，以收单机构/发卡行答复为准。"
HUMAN_LABEL = "转人工"
MENU_SYMPTOMS = ("charged_but_failed", "signin_failure", "network_failure", "printer_problem",
                 "card_read_failure", "settlement_delay")
"""The most common problems, offered as buttons on the welcome menu."""
OFFER_SYMPTOM_AT = 0.6
"""With a code in the question, the rest of it must fit a symptom this well to offer that symptom."""


class StaleChoice(PosbotError):
    """A choice that no longer resolves (content reloaded, or an old button); the front end
    answers it with `Dialog.expired()`."""


@dataclass(frozen=True)
class DialogState:
    """Everything the dialog remembers about one merchant between messages."""

    version: str = ""
    fallbacks: int = 0
    """Fallbacks in a row; the handoff to a human keys off it."""
    last_question: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "DialogState":
        if not data:
            return cls()
        known = {k: data[k] for k in ("version", "fallbacks", "last_question") if k in data}
        return cls(**known)


@dataclass(frozen=True)
class Turn:
    reply: Reply
    state: DialogState
    understanding: Understanding | None = None


class Dialog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def welcome(self) -> Reply:
        options = tuple(Option(self._intent(i).name, SHOW + i)
                        for i in MENU_SYMPTOMS if i in self.engine.content.by_id)
        return Reply(
            kind="welcome",
            title="POS 机故障助手",
            text=("你好！直接把机器屏幕上的提示发给我就行，比如“显示51”“A0”，"
                  "或者说说遇到的情况，比如“签到失败”“扣钱了没出小票”。\n下面是最常见的问题："),
            options=options + (Option(HUMAN_LABEL, HUMAN),),
        )

    def expired(self) -> Reply:
        return Reply(kind="expired", title="这个菜单已过期",
                     text="内容刚刚更新过，旧按钮不能用了。请重新描述问题，或点下面的常见问题。",
                     options=self.welcome().options)

    def on_text(self, text: str, state: DialogState) -> Turn:
        """Understand a typed question and answer, ask which one, or admit not knowing."""
        state = replace(state, version=self.engine.version, last_question=text[:500])
        understanding = self.engine.understand(text)
        decision = understanding.decision
        if decision.kind == "answer" and decision.intent is not None:
            reply = self._answer(decision.intent, understanding)
            return Turn(reply, replace(state, fallbacks=0), understanding)
        if decision.kind == "clarify":
            options = tuple(Option(self._label(c.intent), SHOW + c.intent) for c in decision.choices)
            reply = Reply(kind="clarify", title="您是想问…", text="我不太确定你的意思，请选一个最接近的：",
                          options=options + (Option("都不是", NONE_OF_THESE),))
            return Turn(reply, replace(state, fallbacks=0), understanding)
        return Turn(self._fallback(blank=not text.strip()), replace(state, fallbacks=state.fallbacks + 1),
                    understanding)

    def on_action(self, action: str, state: DialogState) -> Turn:
        """Follow a tapped choice. Raises StaleChoice when it no longer resolves."""
        if state.version and state.version != self.engine.version and action.startswith(SHOW):
            raise StaleChoice(action)
        if action.startswith(SHOW):
            intent_id = action[len(SHOW):]
            if intent_id not in self.engine.content.by_id:
                raise StaleChoice(action)
            return Turn(self._answer(intent_id, None), replace(state, fallbacks=0))
        if action == NONE_OF_THESE:
            return Turn(self._fallback(blank=False), replace(state, fallbacks=state.fallbacks + 1))
        if action == HUMAN:
            return Turn(self._human(), state)
        if action == MENU:
            return Turn(self.welcome(), state)
        raise StaleChoice(action)

    def _intent(self, intent_id: str) -> Intent:
        return self.engine.content.by_id[intent_id]

    def _label(self, intent_id: str) -> str:
        intent = self._intent(intent_id)
        return intent.title

    def _answer(self, intent_id: str, understanding: Understanding | None) -> Reply:
        intent = self._intent(intent_id)
        lines: list[str] = []
        if understanding is not None and understanding.analysis.vendor_codes and not understanding.analysis.codes:
            vendor = understanding.analysis.vendor_codes[0]
            lines.append(f"“{vendor}”不是银联标准应答码，多半是终端厂商自己的代码，具体含义要问你的服务商。")
        if isinstance(intent, CodeIntent):
            title = f"应答码 {intent.code}：{intent.name}"
            lines.append(f"意思：{intent.meaning}")
            lines.append(f"谁来处理：{intent.party.label}")
            lines.append("你现在可以：")
        else:
            title = intent.title
            lines.append(intent.answer)
            lines.append("可以这样处理：")
        lines.extend(f"{n}. {step}" for n, step in enumerate(intent.steps, 1))
        if intent.tell_customer:
            lines.append(f"对顾客可以说：“{intent.tell_customer}”")
        if intent.confidence is not Confidence.HIGH:
            lines.append(UNSURE_NOTE)
        options: list[Option] = []
        offered = understanding.analysis.symptom if understanding is not None else None
        if offered is not None and offered.score >= OFFER_SYMPTOM_AT and offered.intent != intent_id:
            options.append(Option(f"另外：{self._label(offered.intent)}", SHOW + offered.intent))
        options.append(Option(f"没解决，{HUMAN_LABEL}", HUMAN))
        return Reply(kind="answer", title=title, text="\n".join(lines), options=tuple(options),
                     intent=intent_id)

    def _fallback(self, *, blank: bool) -> Reply:
        opening = "你好像还没输入内容。" if blank else "抱歉，这个问题我没看懂。"
        text = (opening + "\n可以这样问我：\n"
                "· 直接发屏幕上的两位应答码，比如 51、A0\n"
                "· 说说看到的现象，比如“签到失败”“扣钱了没出小票”“打印空白”\n"
                "· 想找人工客服，点下面的“转人工”")
        return Reply(kind="fallback", title="", text=text, options=(Option(HUMAN_LABEL, HUMAN),))

    def _human(self) -> Reply:
        return Reply(kind="human", title="人工客服",
                     text=("请联系你的收单机构或服务商客服（电话一般在机身背面、签购单或服务商 App 里），"
                           "说明商户号、终端号、交易时间、金额和屏幕上的提示。"))

