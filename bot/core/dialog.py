"""The dialog engine: a question or a tapped choice in, a Reply and the next state out.

The console chat, the Telegram layer and the tests all drive this same object. The per-user state is
a tiny serialisable value (content version, flow, step, the steps behind it for 上一步, details the
merchant gave), so any front end can keep it wherever it keeps state. Flows are data (knowledge/)
walked by this one generic engine.

Buttons carry typed actions (bot.core.actions), encoded as short ASCII ids for Telegram's 64 bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Literal, Mapping, Sequence

from rapidfuzz import fuzz, process

from bot.core import actions as act
from bot.core.decide import Decision
from bot.core.engine import Engine, Understanding
from bot.core.errors import PosbotError
from bot.core.loader import Content
from bot.core.answer import UNSURE_NOTE as UNSURE_NOTE  # re-exported: front ends and tests import it from here
from bot.core.answer import problem_answer, problem_details, redirect_answer, refusal_answer
from bot.core.models import (Choice, CodeIntent, Flow, RedirectIntent, RedlineIntent, Script, SmalltalkIntent, Step,
                             SymptomIntent)
from bot.handoff.rules import is_noise, wants_human
from bot.core.normalise import fold
from bot.core.reply import Option, Reply
from bot.core.screen import ScreenLine, read_screen
from bot.core.cards import mask_card_numbers
from bot.core.context import (FOLLOWUP_OVER_ANSWER_AT, known_choice, known_note, match_followup, start_topic,
                              topic_refs, topic_slots)
from bot.core.slots import extract_slots, fill

SHOW, FLOW, CHOOSE, BACK, RESTART, SCRIPT, HELPED, NOT_HELPED = "i", "f", "c", "b", "r", "s", "y", "n"
DETAILS = "d"
DETAILS_LABEL = "详细说明"
CURRENT, NONE_OF_THESE, HUMAN, MENU = "g", "x", "h", "m"
FULL = "full"
"""Second argument of a script action: the longer version."""
FULL_SCRIPT_LABEL = "完整话术"

HUMAN_LABEL = "转人工"
MENU_LABEL = "常见问题"
MENU_SYMPTOMS = ("charged_but_failed", "signin_failure", "network_failure", "printer_problem",
                 "card_read_failure", "settlement_delay")
"""The most common problems, offered as buttons on the welcome menu."""
OFFER_SYMPTOM_AT = 0.6
"""With a code in the question, the rest of it must fit a symptom this well to offer that symptom."""
YES_LABELS = ("好了", "好，", "可以了", "解决了")
NO_LABELS = ("还是", "不行")
STILL_FAILING_WORDS = ("还是", "还不行", "也不行")
"""A "still failing" reply at a step with no 还是…/不行… label and no escalate choice picks the one label
holding one of these ("等了很久还不行", "插卡也不行", "对得上，还是不行"); with two such labels it picks
neither ("用手机付不行" / "用卡还是不行" name different things)."""
REPLY_AT = 75
"""A typed reply this close (rapidfuzz ratio, 0-100) to a yes/no word or to a button label picks it.
At 75, "还是报51"/"还是报" (75), "还是没反应"/"没反应" (75) and "付成了"/"好了，付成了" (75) pick, while a
new question such as "扫码不行" (67 against 不行) does not."""
EXTRA_AFTER_REPLY = 3
"""A yes/no word followed by at most this many characters still counts ("好了谢谢", "不行啊")."""
NUDGE = "请点下面的按钮，或者直接说新问题。"
AGAIN = "还是没看懂。请直接发屏幕上的应答码（比如 51），或者点下面的按钮。"
NOISE = "有问题直接发给我就行，比如“显示51”“签到失败”。"
MAX_HISTORY = 30
MAX_REMEMBERED_QUESTION = 500
MAX_RECENT = 5
MAX_SKIPPED = 6
"""Known steps skipped in a row when a flow is entered: more than any shipped flow needs, and a bound
should content ever make skipped steps lead back to each other."""
SURE_AT = 0.8
"""A code read off a photo with less OCR confidence than this is asked about, not answered. On the
fixture photos (benchmarks/ocr.py) codes read right scored 0.87 and up; rapidocr drops text under 0.5."""


def action(kind: str, *args: str) -> str:
    """An action id in its encoded form, for tests written before typed actions:
    action(CHOOSE, "printer_problem", "blank", "0") == act.encode(act.Choose("printer_problem", "blank", 0))."""
    return ":".join((kind, *args))


class StaleChoice(PosbotError):
    """A choice that no longer resolves (content reloaded, an old or double-tapped button);
    the front end answers it with `Dialog.expired()`."""


@dataclass(frozen=True)
class DialogState:
    """Everything the dialog remembers about one merchant between messages."""

    version: str = ""
    fallbacks: int = 0
    """Fallbacks in a row; the handoff to a human keys off it."""
    last_question: str = ""
    """Card numbers masked."""
    flow: str | None = None
    step: str | None = None
    history: tuple[str, ...] = ()
    """Earlier positions in the flow walk, as "flow/step", for 上一步."""
    slots: tuple[tuple[str, str], ...] = ()
    """What the merchant already said (bot/core/slots.py, bot/core/context.py): amount, time, last4,
    card_type, terminal, charged, code, symptom; they fill scripts and answer flow steps."""
    recent: tuple[str, ...] = ()
    """The merchant's last few messages (masked), for a human taking over."""
    last_intent: str | None = None
    last_score: float | None = None
    tried: tuple[str, ...] = ()
    """The steps of the last flow walked, kept after it ends, for a human taking over."""
    topic: str | None = None
    """The intent last answered (kept while its flow runs): follow-ups are answered for it."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("history", "recent", "tried"):
            data[key] = list(getattr(self, key))
        data["slots"] = dict(self.slots)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "DialogState":
        """Tolerant of missing and unknown keys, so states saved by older versions still load; what
        the merchant typed is masked again (a state saved before the masker knew a way of typing a
        card number, e.g. on Redis, which no migration rewrites)."""
        if not data:
            return cls()
        known: dict[str, Any] = {k: data[k] for k in ("version", "fallbacks", "last_question", "flow", "step", "last_intent",
                                      "last_score", "topic") if k in data}
        if "last_question" in known:
            known["last_question"] = mask_card_numbers(str(known["last_question"]))
        lists: dict[str, Any] = {k: tuple(str(v) for v in data.get(k) or ()) for k in ("history", "recent", "tried")}
        lists["recent"] = tuple(mask_card_numbers(text) for text in lists["recent"])
        slots = tuple(sorted((str(k), str(v)) for k, v in dict(data.get("slots") or {}).items()))
        return cls(**known, **lists, slots=slots)


@dataclass(frozen=True)
class FlowEvent:
    """Something front ends record: a flow started or reached an end, or the merchant said whether
    it helped."""

    kind: Literal["started", "ended", "feedback"]
    flow: str
    end: str = ""
    """resolved | escalate | script:ID (ended only)."""
    helped: bool | None = None
    path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    reply: Reply
    state: DialogState
    understanding: Understanding | None = None
    events: tuple[FlowEvent, ...] = field(default_factory=tuple)


class Dialog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def content(self) -> Content:
        return self.engine.content

    # ---- replies that need no state -------------------------------------------------------

    def welcome(self) -> Reply:
        options = tuple(Option(self.content.by_id[i].name, act.encode(act.Show(i)))
                        for i in MENU_SYMPTOMS if i in self.content.by_id)
        return Reply(
            kind="welcome",
            title="POS 机故障助手",
            text=("你好！直接把机器屏幕上的提示发给我就行，比如“显示51”“A0”，"
                  "或者说说遇到的情况，比如“签到失败”“扣钱了没出小票”。\n下面是最常见的问题："),
            options=options + (Option(HUMAN_LABEL, act.encode(act.Human())),),
        )

    def expired(self) -> Reply:
        return Reply(kind="expired", title="这个菜单已过期",
                     text="这个按钮已经用过或内容刚更新过。请重新描述问题，或点下面的常见问题。",
                     options=self.welcome().options)

    # ---- typed text ----------------------------------------------------------------------

    def on_text(self, text: str, state: DialogState, *, followups: bool = True) -> Turn:
        """Understand a typed question. Mid-flow, 好了/不行 pick the obvious choice; after an answer,
        a follow-up is answered for its topic (`followups=False`: text read off a photo, which is
        never a follow-up); anything else is a new question (a new code or problem leaves the flow)."""
        masked = mask_card_numbers(text)[:MAX_REMEMBERED_QUESTION]
        said = extract_slots(masked)
        state = replace(state, last_question=masked, recent=(state.recent + (masked,))[-MAX_RECENT:],
                        slots=_merge_slots(state.slots, said))
        position = self._position(state)
        if position is not None:
            picked = self._typed_choice(position[1], _typed(text))
            if picked is not None:
                return self._choose(position[0], position[1], picked, state)
        state = replace(state, version=self.engine.version)
        understanding = self.engine.understand(text)
        decision = understanding.decision
        followup = self._followup(text, understanding, state, position) if followups else None
        if followup is not None:
            return followup
        if position is not None and (is_noise(text) or decision.kind == "fallback"):
            # not a new question: the step is still the way on; not counted towards a handoff either,
            # the merchant has the step's buttons in front of them
            return Turn(replace(self._step_reply(*position, state), text=NUDGE), state, understanding)
        if is_noise(text):
            return Turn(self._noise(blank=not text.strip()), state, understanding)
        back = (Option("回到排查", act.encode(act.Current())),) if position is not None else ()
        if wants_human(text):
            return Turn(self._human(), _leave_flow(state), understanding)
        intent = self.content.by_id.get(decision.intent or "")
        if decision.kind == "answer" and isinstance(intent, SmalltalkIntent):
            if position is not None and intent.keeps_flow:
                return Turn(self._step_reply(*position, state, note=intent.answer), state, understanding)
            reply = Reply(kind="smalltalk", text=intent.answer, intent=intent.id, options=back)
            return Turn(reply, state, understanding)
        if decision.kind == "answer" and isinstance(intent, RedirectIntent):
            reply = self._redirect(intent)
            reply = replace(reply, options=back + reply.options)
            return Turn(reply, replace(state, fallbacks=0, last_intent=intent.id, last_score=None), understanding)
        if decision.kind == "refuse":
            reply = self._refusal(intent if isinstance(intent, RedlineIntent) else None, sure=decision.sure)
            return Turn(replace(reply, options=reply.options + back), state, understanding)
        if decision.kind == "answer" and decision.intent is not None:
            reply = self._answer(decision.intent, understanding)
            top = understanding.analysis.candidates[0].score if understanding.analysis.candidates else None
            state = replace(self._new_topic(state, decision.intent, said), fallbacks=0, last_intent=decision.intent,
                            last_score=top)
            return Turn(reply, _leave_flow(state), understanding)
        if decision.kind == "clarify":
            options = tuple(Option(self.content.by_id[c.intent].title, act.encode(act.Show(c.intent)))
                            for c in decision.choices)
            reply = Reply(kind="clarify", title="您是想问…", text="我不太确定你的意思，请选一个最接近的：",
                          options=options + (Option("都不是", act.encode(act.NoneOfThese())),) + back)
            return Turn(reply, replace(state, fallbacks=0), understanding)
        if state.fallbacks == 0 and state.topic is not None and state.topic in self.content.by_id:
            # right after an answer: its buttons are still the way on, so a short line, not the long
            # explanation (issue 15); still counted towards a handoff, as any misunderstanding
            reply = Reply(kind="fallback", title="", text=NUDGE, options=self._topic_options(state.topic))
        else:
            reply = self._fallback(blank=False) if state.fallbacks == 0 else self._again()
        return Turn(reply, replace(state, fallbacks=state.fallbacks + 1), understanding)

    # ---- context: the topic and its follow-ups ---------------------------------------------

    def _new_topic(self, state: DialogState, intent_id: str, said: Mapping[str, str]) -> DialogState:
        """The state once `intent_id` is answered: the same topic keeps what was said about it; a new
        one starts from what the merchant just said (and what the intent itself states, its code)."""
        now = {**said, **topic_slots(self.content, intent_id)}
        if state.topic == intent_id:
            return replace(state, slots=_merge_slots(state.slots, now))
        return replace(state, topic=intent_id, slots=_merge_slots((), start_topic(dict(state.slots), now)))

    def _followup(self, text: str, understanding: Understanding, state: DialogState,
                  position: tuple[Flow, Step] | None) -> Turn | None:
        """A follow-up to the current topic, answered for that topic; None when the message is not one
        (no topic, a new code, a red line, a confident answer the follow-up is not much closer than)."""
        topic = state.topic if state.topic in self.content.by_id else None
        if topic is None or is_noise(text) or wants_human(text):
            return None
        decision, refs = understanding.decision, topic_refs(self.content, topic)
        if decision.kind == "refuse" or any(code not in refs for code in understanding.analysis.codes):
            return None
        followups = [f for f in self.content.followups if position is None or f.in_flow]
        hit = match_followup(text, followups)
        if hit is None:
            return None
        if decision.kind == "answer" and decision.intent != topic and hit.score < FOLLOWUP_OVER_ANSWER_AT:
            return None
        back = (Option("回到排查", act.encode(act.Current())),) if position is not None else ()
        script = self.content.script_for(topic) if hit.followup.show_script else None
        if script is not None:
            reply = self._script(script, state, in_flow=False)
            reply = replace(reply, options=back + reply.options)
        else:
            answer = hit.followup.answer_for(refs, dict(state.slots))
            if answer is None:
                return None
            if position is not None:
                options = back + (Option(HUMAN_LABEL, act.encode(act.Human())),)
            else:
                options = (Option(MENU_LABEL, act.encode(act.Menu())),) if hit.followup.closing else self._topic_options(topic)
            reply = Reply(kind="followup", title=f"接着说：{self.content.by_id[topic].title}", text=answer,
                          intent=topic, options=options)
        return Turn(reply, replace(state, fallbacks=0), understanding)

    def _topic_options(self, topic: str) -> tuple[Option, ...]:
        """The ways on from a topic's answer: its flow, its script, a human."""
        return (*self._problem_options(topic, details=False), Option(HUMAN_LABEL, act.encode(act.Human())))

    # ---- photos of the screen ------------------------------------------------------------

    def on_screen(self, lines: Sequence[ScreenLine], state: DialogState, *, caption: str = "") -> Turn:
        """Text read off a photo, understood as if typed; the reply starts with what was read.

        When the whole text holds no code and gives no answer, the first line that does is taken (a
        screen's title line often says it all, the instructions under it only dilute the match). A
        code read with low confidence is offered as a choice instead of answered. What the merchant
        wrote under the photo (`caption`) is answered instead when the picture itself gives no answer."""
        turn = self._screen_turn(lines, state)
        caption = caption.strip()
        if caption and (turn.understanding is None or turn.understanding.decision.kind != "answer"):
            typed = self.on_text(caption, state)
            if (typed.understanding is not None and typed.understanding.decision.kind == "answer"
                    and typed.reply.kind != "smalltalk"):
                read = turn.reply.preface or "图片上没认出文字"
                quoted = mask_card_numbers(caption)[:30]
                return replace(typed, reply=replace(typed.reply, preface=f"{read}；按你写的“{quoted}”回答："))
        return turn

    def _screen_turn(self, lines: Sequence[ScreenLine], state: DialogState) -> Turn:
        screen = read_screen(lines, self.engine.matcher.known_codes)
        if not screen.text:
            return Turn(self._unreadable(), state)
        turn = self.on_text(screen.text, state, followups=False)
        if turn.reply.kind == "smalltalk":  # "欢迎光临" on a screen is not a greeting to answer
            turn = replace(turn, reply=self._fallback(blank=False),
                           understanding=None if turn.understanding is None else replace(
                               turn.understanding, decision=Decision("fallback")))
        whole = turn.understanding
        if whole is not None and whole.decision.kind != "answer" and not whole.analysis.codes:
            for line in screen.lines:
                if self.engine.understand(line.text).decision.kind == "answer":
                    turn = self.on_text(line.text, state, followups=False)
                    break
        preface = f"识别到：{screen.shown}"
        decision = turn.understanding.decision if turn.understanding is not None else None
        if decision is None or decision.refused or turn.reply.kind not in ("answer", "clarify", "fallback"):
            return replace(turn, reply=replace(turn.reply, preface=preface))
        if decision.kind == "answer" and decision.intent is not None:
            code = getattr(self.content.by_id[decision.intent], "code", None)
            confidence = screen.confidence_of(code, self.engine.matcher.known_codes) if code else None
            if confidence is None or confidence >= SURE_AT:
                return replace(turn, reply=replace(turn.reply, preface=preface))
            options = (Option(self.content.by_id[decision.intent].title, act.encode(act.Show(decision.intent))),
                       Option("都不是", act.encode(act.NoneOfThese())))
            return replace(turn, reply=Reply(kind="clarify", title="是这个应答码吗？", preface=preface, options=options,
                                             text="照片有点模糊，我不太确定。是下面这个吗？不是的话，请直接把屏幕上的应答码打给我。"))
        text = ("我不太确定是哪一个，请选一个最接近的，或者直接把屏幕上的应答码打给我：" if decision.kind == "clarify" else
                "没从图片里认出应答码或问题。请直接把屏幕上的两位应答码打给我，比如 51、A0，或者说说屏幕上的提示。")
        return replace(turn, reply=replace(turn.reply, preface=preface, text=text))

    def _unreadable(self) -> Reply:
        return Reply(kind="fallback", title="", options=(Option(HUMAN_LABEL, act.encode(act.Human())),),
                     text="图片上没认出文字。请把屏幕上的两位应答码或提示文字打出来发给我，比如“显示51”“签到失败”。")

    # ---- tapped choices ------------------------------------------------------------------

    def on_action(self, action: str, state: DialogState) -> Turn:
        """Follow a tapped choice. Raises StaleChoice when it no longer resolves; a flow whose step
        disappeared in a content update restarts politely from its first step."""
        try:
            return self._act(action, state)
        except _Restart as restart:
            note = "排查内容刚更新过，我们从第一步重新开始。"
            return self._enter(restart.flow, replace(state, history=()), note=note)

    def _act(self, data: str, state: DialogState) -> Turn:
        action = act.decode(data)
        content = self.content
        match action:
            case act.Show(intent) if intent in content.by_id:
                state = replace(self._new_topic(state, intent, {}), fallbacks=0, last_intent=intent, last_score=None)
                return Turn(self._answer(intent, None), _leave_flow(state))
            case act.Details(intent) if intent in content.by_id:
                return Turn(self._details(intent), state)
            case act.StartFlow(flow_id) if flow_id in content.flows_by_id:
                turn = self._enter(content.flows_by_id[flow_id], replace(state, history=()))
                return replace(turn, events=(FlowEvent("started", flow_id),))
            case act.Choose(flow_id, step_id, choice):
                flow, step = self._current(state, flow_id, step_id)
                if choice >= len(step.choices):
                    raise StaleChoice(data)
                return self._choose(flow, step, choice, state)
            case act.Back(flow_id, step_id):
                self._current(state, flow_id, step_id)
                return self._back(state)
            case act.Restart(flow_id) if flow_id in content.flows_by_id:
                return self._enter(content.flows_by_id[flow_id], replace(state, history=()))
            case act.ShowScript(script_id, full) if script_id in content.scripts_by_id:
                script = content.scripts_by_id[script_id]
                offering = self._offering_flow(state, script.id)
                return Turn(self._script(script, state, in_flow=offering is not None, flow=offering, full=full), state)
            case act.Feedback(flow_id, helped):
                return self._feedback(flow_id, helped, state)
            case act.Current():
                position = self._position(state)
                if position is None:
                    raise StaleChoice(data)
                return Turn(self._step_reply(*position, state), state)
            case act.NoneOfThese():
                reply = self._fallback(blank=False) if state.fallbacks == 0 else self._again()
                return Turn(reply, replace(state, fallbacks=state.fallbacks + 1))
            case act.Human():
                return Turn(self._human(), _leave_flow(state))
            case act.Menu():
                return Turn(self.welcome(), _leave_flow(state))
        raise StaleChoice(data)

    # ---- flows ---------------------------------------------------------------------------

    def _position(self, state: DialogState) -> tuple[Flow, Step] | None:
        """Where the merchant is in a flow, if that flow and step still exist."""
        if state.flow is None or state.step is None:
            return None
        flow = self.content.flows_by_id.get(state.flow)
        step = flow.step(state.step) if flow is not None else None
        return (flow, step) if flow is not None and step is not None else None

    def _current(self, state: DialogState, flow_id: str, step_id: str) -> tuple[Flow, Step]:
        """The step a button was made for, which must be where the merchant is now: a button from
        an older message, or tapped twice, is stale. If content changed under the merchant and the
        step is gone, the flow restarts politely (raised as _Restart)."""
        if (state.flow, state.step) != (flow_id, step_id):
            raise StaleChoice(f"{flow_id}:{step_id}")
        position = self._position(state)
        if position is None:
            flow = self.content.flows_by_id.get(flow_id)
            if flow is None:
                raise StaleChoice(flow_id)
            raise _Restart(flow)
        return position

    def _enter(self, flow: Flow, state: DialogState, step: Step | None = None, *, note: str = "",
               skip_known: bool = True) -> Turn:
        """Show a step; steps whose answer the merchant already gave (`answered_by`) are passed with
        one line each saying so, and kept in the history, so 上一步 shows them (not skipped then)."""
        step = step or flow.start
        notes = [note] if note else []
        slots = dict(state.slots)
        for _ in range(MAX_SKIPPED if skip_known else 0):
            picked = known_choice(step, slots)
            if picked is None:
                break
            choice = step.choices[picked]
            notes.append(known_note(step, slots, choice.label))
            state = replace(state, history=(state.history + (f"{flow.id}/{step.id}",))[-MAX_HISTORY:])
            kind, target = choice.target
            if kind == "flow":
                flow = self.content.flows_by_id[target]
                step = flow.start
            else:
                step = flow.step(target) or step
        state = replace(state, version=self.engine.version, flow=flow.id, step=step.id,
                        topic=self._flow_topic(state.topic, flow))
        return Turn(self._step_reply(flow, step, state, note="\n".join(notes)), state)

    def _flow_topic(self, topic: str | None, flow: Flow) -> str | None:
        """The topic while a flow runs: the one answered, if this is its flow; else the problem the
        flow is for (96 → its flow → 扣款了但没成功: follow-ups are now about the charge)."""
        if topic is not None and self.content.flow_for(topic) is flow:
            return topic
        first = next((self.content.intent_id(ref) for ref in flow.intents if self.content.intent_id(ref)), None)
        return first or topic

    def _choose(self, flow: Flow, step: Step, index: int, state: DialogState) -> Turn:
        choice = step.choices[index]
        kind, target = choice.target
        here = f"{flow.id}/{step.id}"
        history = (state.history + (here,))[-MAX_HISTORY:]
        if kind == "next":
            return self._enter(flow, replace(state, history=history), flow.step(target))
        if kind == "flow":
            return self._enter(self.content.flows_by_id[target], replace(state, history=history))
        path = history
        if kind == "script":
            script = self.content.scripts_by_id[target]
            state = replace(state, history=history, step=step.id)
            event = FlowEvent("ended", flow.id, f"script:{script.id}", path=path)
            return Turn(self._script(script, state, in_flow=True, flow=flow), state, events=(event,))
        if target == "resolved":
            event = FlowEvent("ended", flow.id, "resolved", path=path)
            reply = Reply(kind="feedback", title="太好了！", text="问题解决了。这次的排查对你有帮助吗？",
                          options=(Option("👍 有帮助", act.encode(act.Feedback(flow.id, helped=True))),
                                   Option("👎 没帮上", act.encode(act.Feedback(flow.id, helped=False)))))
            return Turn(reply, _leave_flow(state, keep_flow=flow.id), events=(event,))
        event = FlowEvent("ended", flow.id, "escalate", path=path, helped=False)
        return Turn(self._human(escalated=True), _leave_flow(state), events=(event,))

    def _back(self, state: DialogState) -> Turn:
        if not state.history:
            flow = self.content.flows_by_id[state.flow] if state.flow else None
            if flow is None:
                raise StaleChoice("back")
            return self._enter(flow, state, skip_known=False)
        *earlier, last = state.history
        flow_id, _, step_id = last.partition("/")
        flow = self.content.flows_by_id.get(flow_id)
        step = flow.step(step_id) if flow is not None else None
        if flow is None or step is None:
            raise StaleChoice("back")
        return self._enter(flow, replace(state, history=tuple(earlier)), step, skip_known=False)

    def _feedback(self, flow_id: str, helped: bool, state: DialogState) -> Turn:
        if flow_id not in self.content.flows_by_id:
            raise StaleChoice(flow_id)
        event = FlowEvent("feedback", flow_id, helped=helped)
        state = _leave_flow(state)
        if helped:
            reply = Reply(kind="info", title="谢谢反馈！", text="有别的问题随时发给我。",
                          options=(Option("常见问题", act.encode(act.Menu())),))
        else:
            reply = Reply(kind="info", title="抱歉没帮上", text="可以转人工客服帮你继续处理，或者换个说法再描述一下问题。",
                          options=(Option(HUMAN_LABEL, act.encode(act.Human())), Option("常见问题", act.encode(act.Menu()))))
        return Turn(reply, state, events=(event,))

    def _typed_choice(self, step: Step, typed: str) -> int | None:
        """A reply typed instead of tapped: a button label it is close to, or, for 好了/搞定/还是报 …
        (the lexicon's `replies`), the step's obvious yes or no choice, if it has one."""
        if not typed:
            return None
        labels = {n: _typed(choice.label) for n, choice in enumerate(step.choices)}
        exact = next((n for n, label in labels.items() if label == typed), None)
        if exact is not None:
            return exact
        replies = self.content.lexicon.replies
        yes, no = _says(typed, replies.fixed), _says(typed, replies.not_fixed)
        if yes > no:
            return _first(step, lambda c: c.target == ("end", "resolved") or c.label.startswith(YES_LABELS))
        if no > yes:
            labelled = _first(step, lambda c: c.label.startswith(NO_LABELS))
            if labelled is None:
                labelled = _first(step, lambda c: c.target == ("end", "escalate"))
            if labelled is None:
                still = [n for n, c in enumerate(step.choices) if any(w in c.label for w in STILL_FAILING_WORDS)]
                labelled = still[0] if len(still) == 1 else None
            return labelled
        best = process.extractOne(typed, labels, scorer=fuzz.ratio, processor=None, score_cutoff=REPLY_AT)
        return int(best[2]) if best is not None else None

    def _step_reply(self, flow: Flow, step: Step, state: DialogState, *, note: str = "") -> Reply:
        options = [Option(choice.label, act.encode(act.Choose(flow.id, step.id, n))) for n, choice in enumerate(step.choices)]
        if state.history or step is not flow.start:
            options.append(Option("上一步", act.encode(act.Back(flow.id, step.id))))
        if step is not flow.start:
            options.append(Option("重新开始", act.encode(act.Restart(flow.id))))
        options.append(Option(HUMAN_LABEL, act.encode(act.Human())))
        text = f"{note}\n{step.text}" if note else step.text
        return Reply(kind="step", title=f"排查：{flow.title}", text=text, options=tuple(options))

    # ---- answers, scripts, fallbacks -----------------------------------------------------

    def _redirect(self, intent: RedirectIntent) -> Reply:
        shape = redirect_answer(intent)
        return Reply(kind="redirect", title=shape.title, intent=intent.id, text="\n".join(shape.lines),
                     options=(Option(HUMAN_LABEL, act.encode(act.Human())),))

    def _answer(self, intent_id: str, understanding: Understanding | None) -> Reply:
        """The phone-sized answer (bot/core/answer.py); the rest of what the intent knows is one tap
        away under 详细说明."""
        intent = self.content.by_id[intent_id]
        if isinstance(intent, RedirectIntent):
            return self._redirect(intent)
        if isinstance(intent, SmalltalkIntent):
            return Reply(kind="smalltalk", text=intent.answer, intent=intent.id)
        if isinstance(intent, RedlineIntent):
            return self._refusal(intent)
        shape = problem_answer(intent)
        lines = list(shape.lines)
        analysis = understanding.analysis if understanding is not None else None
        if analysis is not None and analysis.vendor_codes and not analysis.codes:
            lines.insert(0, f"“{analysis.vendor_codes[0]}”不是银联标准应答码，多半是厂商自己的代码，含义要问服务商。")
        offered = analysis.symptom if analysis is not None else None
        extra: tuple[Option, ...] = ()
        if offered is not None and offered.score >= OFFER_SYMPTOM_AT and offered.intent != intent_id:
            extra = (Option(f"另外：{self.content.by_id[offered.intent].title}", act.encode(act.Show(offered.intent))),)
        options = self._problem_options(intent_id, details=True) + extra + (Option(HUMAN_LABEL, act.encode(act.Human())),)
        return Reply(kind="answer", title=shape.title, text="\n".join(lines), options=options, intent=intent_id)

    def _details(self, intent_id: str) -> Reply:
        """详细说明: what the code means and who acts, or the explanation, and the rare cases. Its own
        kind, so a front end shows it below the answer instead of in its place: the answer is what the
        merchant needs at the counter."""
        intent = self.content.by_id[intent_id]
        if not isinstance(intent, (CodeIntent, SymptomIntent)):
            raise StaleChoice(act.encode(act.Details(intent_id)))
        shape = problem_details(intent)
        options = self._problem_options(intent_id, details=False) + (Option(HUMAN_LABEL, act.encode(act.Human())),)
        return Reply(kind="details", title=shape.title, text="\n".join(shape.lines), options=options, intent=intent_id)

    def _problem_options(self, intent_id: str, *, details: bool) -> tuple[Option, ...]:
        options: list[Option] = []
        flow = self.content.flow_for(intent_id)
        if flow is not None:
            options.append(Option("一步步排查", act.encode(act.StartFlow(flow.id))))
        script = self.content.script_for(intent_id)
        if script is not None:
            options.append(Option("对顾客怎么说", act.encode(act.ShowScript(script.id))))
        if details:
            options.append(Option(DETAILS_LABEL, act.encode(act.Details(intent_id))))
        return tuple(options)

    def _offering_flow(self, state: DialogState, script_id: str) -> Flow | None:
        """The flow whose current step offered this script (the merchant is still at that step), if any."""
        position = self._position(state)
        if position is None:
            return None
        flow, step = position
        return flow if any(choice.target == ("script", script_id) for choice in step.choices) else None

    def _script(self, script: Script, state: DialogState, *, in_flow: bool, flow: Flow | None = None,
                full: bool = False) -> Reply:
        """The short form first, with a button for the longer version; the six moves when asked
        (or when the script has no short form)."""
        slots = dict(state.slots)
        lines: tuple[str, ...] = script.lines
        short = script.short is not None and not full
        if script.short is not None and short:
            lines = (script.short,)
        text = "\n".join(fill(line, slots) for line in lines)
        more = (Option(FULL_SCRIPT_LABEL, act.encode(act.ShowScript(script.id, full=True))),) if short else ()
        options: tuple[Option, ...]
        if in_flow and flow is not None:
            options = more + (Option("好了，解决了", act.encode(act.Feedback(flow.id, helped=True))), Option("还是不行", act.encode(act.Feedback(flow.id, helped=False))),
                              Option("回到排查", act.encode(act.Current())), Option(HUMAN_LABEL, act.encode(act.Human())))
        else:
            options = more + (Option(HUMAN_LABEL, act.encode(act.Human())),)
        title = f"对顾客这样说：{script.title}" if not full else f"对顾客这样说（完整）：{script.title}"
        return Reply(kind="script", title=title, text=text, options=options)

    def _again(self) -> Reply:
        """The second misunderstanding in a row: a short line, not the long explanation again."""
        return Reply(kind="fallback", title="", text=AGAIN,
                     options=(Option(HUMAN_LABEL, act.encode(act.Human())), Option(MENU_LABEL, act.encode(act.Menu()))))

    def _noise(self, *, blank: bool) -> Reply:
        """Nothing to understand (blank, emoji or punctuation only): not a misunderstanding."""
        return Reply(kind="fallback", title="", text=("你好像还没输入内容。" if blank else "收到。") + NOISE,
                     options=(Option(MENU_LABEL, act.encode(act.Menu())),))

    def _fallback(self, *, blank: bool) -> Reply:
        opening = "你好像还没输入内容。" if blank else "抱歉，这个问题我没看懂。"
        text = (opening + "\n可以这样问我：\n"
                "· 直接发屏幕上的两位应答码，比如 51、A0\n"
                "· 说说看到的现象，比如“签到失败”“扣钱了没出小票”“打印空白”\n"
                "· 想找人工客服，点下面的“转人工”")
        return Reply(kind="fallback", title="", text=text, options=(Option(HUMAN_LABEL, act.encode(act.Human())),))

    def _refusal(self, redline: RedlineIntent | None, *, sure: bool = True) -> Reply:
        """A red line: what cannot be done and the lawful way, then why and what follows. A red-line
        word without a matched red-line intent gets the general text; a loose fit says what it was taken for."""
        shape = refusal_answer(redline, sure=sure)
        return Reply(kind="refusal", title=shape.title, text="\n".join(shape.lines),
                     intent=redline.id if redline is not None else None, options=(Option(HUMAN_LABEL, act.encode(act.Human())),))

    def _human(self, *, escalated: bool = False) -> Reply:
        """Who to call. Front ends with a support group offer their handoff instead of this text."""
        opening = "这一步需要人工处理。" if escalated else ""
        return Reply(kind="human", title="人工客服",
                     text=(opening + "请联系你的收单机构或服务商客服（电话一般在机身背面、签购单或服务商 App 里），"
                           "说明商户号、终端号、交易时间、金额、卡号后四位和屏幕上的提示。"),
                     options=(Option(MENU_LABEL, act.encode(act.Menu())),))


class _Restart(PosbotError):
    def __init__(self, flow: Flow) -> None:
        super().__init__(flow.id)
        self.flow = flow


def _typed(text: str) -> str:
    """A typed reply or a label as compared: folded, without spaces and punctuation."""
    return "".join(ch for ch in fold(text) if ch.isalnum())


def _says(typed: str, words: Sequence[str]) -> float:
    """How well a typed reply says one of these words: 100 for the word itself or the word followed
    by a few characters ("好了谢谢"), else the best rapidfuzz ratio at or above REPLY_AT, else 0."""
    folded = [_typed(word) for word in words]
    if any(word and typed.startswith(word) and len(typed) - len(word) <= EXTRA_AFTER_REPLY for word in folded):
        return 100.0
    best = process.extractOne(typed, folded, scorer=fuzz.ratio, processor=None, score_cutoff=REPLY_AT)
    return float(best[1]) if best is not None else 0.0


def _first(step: Step, predicate: Callable[[Choice], bool]) -> int | None:
    return next((n for n, choice in enumerate(step.choices) if predicate(choice)), None)


def _leave_flow(state: DialogState, *, keep_flow: str | None = None) -> DialogState:
    tried = state.history + ((f"{state.flow}/{state.step}",) if state.flow and state.step else ())
    return replace(state, flow=keep_flow, step=None, history=(), tried=tried or state.tried)


def _merge_slots(old: tuple[tuple[str, str], ...], new: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    merged = dict(old)
    merged.update(new)
    return tuple(sorted(merged.items()))
