"""One place where a turn is decided: understand → dialog → state → events → question log → handoff.

Every front end (the console, Telegram text, photos after OCR, the tests) hands the service what
happened and where, and gets back typed effects to carry out (bot.turn.effects). The chat's state is
one value (bot.turn.state.ChatState), read once at the start of the turn and written once at its end,
after the effects were carried out, so the ids of the messages just sent are kept with it.

When a human is offered, and what a merchant in a case hears, is decided here for every front end:
- blank, whitespace-only, emoji-only messages and stickers are not misunderstandings;
- a pending handoff offer never swallows a message posbot understands confidently (it answers it and
  the offer stays open); anything else is the offer's line of detail and opens the case;
- while a case waits for staff (no staff reply yet), a clear question is answered, with a note that
  staff will see it too, and both the question and the answer go into the case's topic;
- once staff are talking with the merchant, posbot stays quiet and only relays.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Protocol, Sequence, TypeVar

from bot.core import actions as act
from bot.core.dialog import Dialog, DialogState, StaleChoice, Turn
from bot.core.reply import Option, Reply
from bot.handoff.desk import whole
from bot.handoff.models import CaseContext
from bot.handoff.rules import is_noise, offers_handoff, understood, wants_human
from bot.storage.outcomes import OutcomeLog
from bot.storage.questions import QuestionLog, in_flow, record_action, record_turn
from bot.turn import inputs as ev
from bot.turn.cases import Cases, CaseView
from bot.turn.effects import (AskPrivately, Edit, Effect, NoteToCase, OfferHandoff, OpenCase, Relay, RemoveKeyboard,
                              Role, Send)
from bot.turn.state import ChatState, Pending

T = TypeVar("T")

EDITED_IN_PLACE = frozenset({"step", "feedback", "info", "answer", "human", "welcome", "fallback", "clarify"})
"""Replies that may replace a tapped menu or the flow message; an answer or a script is never
replaced (the merchant reads it at the counter), and scripts always arrive as new messages."""
HANDED_OVER_MEDIA = frozenset({"photo", "voice", "video", "video_note", "document", "audio"})
"""Media a human can look at: posbot offers to pass it on with the case."""
MAX_DETAIL = 300
STAFF_WILL_SEE = "客服也会看到这条消息，稍后回复你。先看看这个："

UNSUPPORTED = Reply(kind="info", title="", text=(
    "这个我看不了。请把屏幕上的两位应答码或提示文字打出来发给我，比如“显示51”“签到失败”。"))
NO_SUPPORT = Reply(kind="human", title="人工客服", text=(
    "请联系你的收单机构或服务商客服（电话一般在机身背面、签购单或服务商 App 里），"
    "说明商户号、终端号、交易时间、金额、卡号后四位和屏幕上的提示。"))


def offer_reply(opening: str = "") -> Reply:
    """The handoff offer: one optional line of detail, nothing required."""
    text = (opening + "\n" if opening else "") + (
        "转人工客服：可以先补充一句情况（比如终端号、交易时间、金额），直接发给我；不想补充就点“直接转人工”。")
    return Reply(kind="info", title="转人工客服", text=text,
                 options=(Option("直接转人工", act.encode(act.OpenNow())), Option("不用了", act.encode(act.Menu()))))


@dataclass(frozen=True)
class Shown:
    """A message a front end sent or edited while carrying out effects."""

    message: int
    role: Role
    keyboard: bool


@dataclass(frozen=True)
class Carried:
    """What carrying out the effects did: the messages shown, and the case opened (its ticket id)."""

    shown: tuple[Shown, ...] = ()
    case: int | None = None


class Front(Protocol):
    """A front end, as the service sees it."""

    async def think(self, work: Callable[[], T]) -> T:
        """Run core work (matching) off the event loop, e.g. showing "typing…" meanwhile."""

    async def carry_out(self, effects: Sequence[Effect]) -> Carried: ...


class StateStore(Protocol):
    """Where the front end keeps the chat's state (aiogram's FSM storage in Telegram)."""

    async def load(self) -> Mapping[str, Any]: ...

    async def save(self, data: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class Outcome:
    effects: tuple[Effect, ...]
    state: ChatState
    turn: Turn | None = None
    """The dialog's turn, when the dialog ran (tests look at it)."""
    stale: bool = False
    """A tapped button that no longer resolves (answered with the fresh menu)."""


class TurnService:
    def __init__(self, dialog: Callable[[], Dialog], *, questions: QuestionLog | None = None,
                 outcomes: OutcomeLog | None = None, cases: Cases | None = None) -> None:
        """`dialog`: the current dialog (content can be reloaded between turns). `cases`: the
        support group's cases; None when there is none (the console, or no SUPPORT_CHAT_ID)."""
        self._dialog = dialog
        self.questions = questions
        self.outcomes = outcomes
        self.cases = cases

    @property
    def dialog(self) -> Dialog:
        return self._dialog()

    async def handle(self, event: ev.Input, where: ev.Where, front: Front, store: StateStore) -> Outcome:
        """Decide the turn, record it, have `front` carry it out: one state read, one write."""
        loaded = ChatState.from_dict(await store.load())
        decided = await self._decide(event, where, front, loaded)
        # recorded before it is shown: whatever the merchant has seen is already in the question log
        # and the flow outcomes (an admin's /stats right after it counts it)
        await self._record(event, where, decided, before=loaded.dialog)
        carried = await front.carry_out(decided.effects)
        state = _seen(decided.state, carried)
        superseded = loaded.look.live
        if state.pending is not None and superseded == state.pending.offer:
            superseded = None  # an offer still open keeps its 直接转人工 under the answers that follow
        if superseded is not None and state.look.live != superseded and any(s.keyboard for s in carried.shown):
            await front.carry_out((RemoveKeyboard(superseded),))
        if carried.case is not None:
            state = replace(state, case=carried.case, cases_known=True, pending=None)
        if state != loaded:
            await store.save(state.to_dict())
        return replace(decided, state=state)

    # ---- deciding ----------------------------------------------------------------------

    async def _decide(self, event: ev.Input, where: ev.Where, front: Front, state: ChatState) -> Outcome:
        if isinstance(event, ev.Tap):
            return await self._tap(event.data, where, front, state)
        case, state = await self._case(where, state)
        if case is not None:
            return await self._in_case(event, case, front, state)
        if isinstance(event, ev.Start):
            fresh = replace(state, dialog=DialogState(), pending=None)
            return Outcome((Send(self.dialog.welcome()),), fresh)
        if isinstance(event, ev.Cancel):
            left = replace(state, dialog=DialogState(version=state.dialog.version))
            menu = self.dialog.welcome()
            return Outcome((Send(Reply(kind="info", title="已退出当前排查", text="有新问题直接发给我。",
                                       options=menu.options)),), left)
        if isinstance(event, ev.Human):
            if self.cases is None:
                return Outcome((Send(NO_SUPPORT),), state)
            if not where.private:
                return Outcome((AskPrivately(),), state)
            return self._offer(state, "command")
        if isinstance(event, ev.Sticker):  # not a misunderstanding: the dialog state is left as it was
            return Outcome((Send(UNSUPPORTED),), state)
        if isinstance(event, ev.Unreadable):
            if self.cases is not None and where.private and event.kind in HANDED_OVER_MEDIA:
                return self._offer(state, "media", "这个我看不了，可以转给人工客服看。", media=event.media)
            return Outcome((Send(UNSUPPORTED),), state)
        if isinstance(event, ev.Screen):
            return await self._screen(event, where, front, state)
        return await self._text(event.text, where, front, state)

    async def _text(self, text: str, where: ev.Where, front: Front, state: ChatState) -> Outcome:
        support = self.cases is not None
        pending = state.pending if support and where.private else None
        if support and wants_human(text):
            if not where.private:
                return Outcome((AskPrivately(),), state)
            if pending is None:
                return self._offer(state, "words")
        dialog = self.dialog
        turn = await front.think(lambda: dialog.on_text(text, state.dialog))
        if pending is not None and not (understood(turn) or is_noise(text)):
            # the offer asked for one line of detail: this is it (a clear question is answered
            # instead, below, and so is a blank or emoji-only message; the offer stays open)
            return Outcome(_offer_done(pending.offer) + (self._open(state, pending, detail=text),),
                           replace(state, pending=None), turn)
        state = replace(state, dialog=turn.state)
        if support and where.private and pending is None and offers_handoff(turn):
            return replace(self._offer(state, "fallbacks", "抱歉，我还是没看懂。"), turn=turn)
        return Outcome(self._place(turn.reply, state, tapped=None), state, turn)

    async def _screen(self, event: ev.Screen, where: ev.Where, front: Front, state: ChatState) -> Outcome:
        support = self.cases is not None
        if support and state.pending is not None:  # the photo goes along with the handoff
            return self._offer(state, "media", "这张图片会一起转给人工客服。", media=event.media)
        if event.refused is not None:
            return Outcome((Send(event.refused),), state)
        dialog = self.dialog
        turn = await front.think(lambda: dialog.on_screen(event.lines, state.dialog, caption=event.caption))
        if turn.understanding is None:  # no text, or only buttons and key hints
            if support:
                return self._offer(state, "media", "图片上没认出文字，这张图片我可以转给人工客服看。", media=event.media)
            return Outcome((Send(turn.reply),), state, turn)
        state = replace(state, dialog=turn.state)
        if support and offers_handoff(turn):
            return replace(self._offer(state, "fallbacks", "抱歉，我还是没看懂。", media=event.media), turn=turn)
        return Outcome(self._place(turn.reply, state, tapped=None), state, turn)

    async def _tap(self, data: str, where: ev.Where, front: Front, state: ChatState) -> Outcome:
        support = self.cases is not None
        if isinstance(act.decode(data), act.OpenNow):
            if not where.private:
                return Outcome((AskPrivately(),), state)
            if not support:
                return Outcome((Send(NO_SUPPORT),), state)
            pending = state.pending or Pending("button")
            return Outcome(_offer_done(where.message) + (self._open(state, pending),), replace(state, pending=None))
        withdrawn = state.pending.offer if state.pending is not None else None
        state = replace(state, pending=None)
        dialog = self.dialog
        try:
            turn = dialog.on_action(data, state.dialog)
        except StaleChoice:
            effects: tuple[Effect, ...] = (Send(dialog.expired()),)
            if where.message is not None and where.message != state.look.live:
                effects = (RemoveKeyboard(where.message),) + effects
            return Outcome(effects, state, stale=True)
        state = replace(state, dialog=turn.state)
        outcome = self._tapped(turn, where, state)
        if withdrawn is not None and withdrawn not in (where.message, state.look.live):
            outcome = replace(outcome, effects=(RemoveKeyboard(withdrawn),) + outcome.effects)
        return outcome

    def _tapped(self, turn: Turn, where: ev.Where, state: ChatState) -> Outcome:
        support = self.cases is not None
        trigger = _handoff_trigger(turn)
        if support and trigger is not None:
            if not where.private:
                return Outcome((AskPrivately(),), state, turn)
            edit = where.message if where.message not in (None, state.look.answer) else None
            return replace(self._offer(state, trigger, edit=edit), turn=turn)
        return Outcome(self._place(turn.reply, state, tapped=where.message), state, turn)

    async def _case(self, where: ev.Where, state: ChatState) -> tuple[CaseView | None, ChatState]:
        """The merchant's open case, if any: the ticket store is asked only for merchants who have
        (or may have, for a state saved before cases were kept) a ticket."""
        if self.cases is None or not where.private:
            return None, state
        if not state.cases_known:
            state = replace(state, case=await self.cases.latest(where.user), cases_known=True)
        if state.case is None:
            return None, state
        return await self.cases.open_case(state.case), state

    async def _in_case(self, event: ev.Input, case: CaseView, front: Front, state: ChatState) -> Outcome:
        """A merchant with a case open: everything goes to the topic. While staff have not replied
        yet, a clear question is answered too, and the answer is put in the topic for staff."""
        relay = Relay(case)
        if case.staff_replied or not isinstance(event, ev.Text) or is_noise(event.text):
            return Outcome((relay,), state)
        dialog = self.dialog
        turn = await front.think(lambda: dialog.on_text(event.text, state.dialog))
        if not understood(turn):
            return Outcome((relay,), state, turn)
        state = replace(state, dialog=turn.state)
        human = act.encode(act.Human())  # the case is open already: no 转人工 under this answer
        reply = replace(turn.reply, preface=STAFF_WILL_SEE,
                        options=tuple(option for option in turn.reply.options if option.action != human))
        note = NoteToCase(case, f"🤖 机器人先回答了：{_gist(turn.reply)}")
        return Outcome((relay, *self._place(reply, state, tapped=None), note), state, turn)

    def _offer(self, state: ChatState, trigger: str, opening: str = "", *, media: Any = None,
               edit: int | None = None) -> Outcome:
        pending = Pending(trigger, tuple(media) if media else None)
        return Outcome((OfferHandoff(offer_reply(opening), edit=edit),), replace(state, pending=pending))

    def _open(self, state: ChatState, pending: Pending, *, detail: str = "") -> OpenCase:
        dialog_state = state.dialog
        intent = dialog_state.last_intent
        content = self.dialog.content
        code = getattr(content.by_id.get(intent or ""), "code", None)
        context = CaseContext(trigger=pending.trigger, intent=intent, code=code, score=dialog_state.last_score,
                              flow_path=dialog_state.history or dialog_state.tried,
                              last_messages=dialog_state.recent,
                              detail=whole(detail, MAX_DETAIL))
        return OpenCase(context, media=pending.media)

    def _place(self, reply: Reply, state: ChatState, *, tapped: int | None) -> tuple[Effect, ...]:
        """Where a reply goes: a flow step edits the flow message when that is what was tapped, and
        otherwise starts a new one (the answer above stays); answers and scripts are never replaced;
        a tapped menu is replaced by what it led to."""
        role: Role = "flow" if reply.kind == "step" else "answer" if reply.kind in ("answer", "script") else "menu"
        look = state.look
        if tapped is not None and reply.kind in EDITED_IN_PLACE and reply.kind != "script":
            if tapped == look.flow and role != "answer":
                return (Edit(tapped, reply, role),)
            if tapped not in (look.flow, look.answer) and role != "flow":
                return (Edit(tapped, reply, role),)
        return (Send(reply, role),)

    # ---- recording ---------------------------------------------------------------------

    async def _record(self, event: ev.Input, where: ev.Where, decided: Outcome, *, before: DialogState) -> None:
        """`before`: the dialog state the merchant typed into (a reply typed at a flow step is not a question
        for the review inbox)."""
        turn, user = decided.turn, str(where.user)
        if turn is None:
            return
        if self.outcomes is not None:
            for flow_event in turn.events:
                await self.outcomes.record(user, flow_event)
        if self.questions is None or any(isinstance(e, OpenCase) for e in decided.effects):
            return  # a line of detail for the case is not a question
        if isinstance(event, ev.Tap):
            await record_action(self.questions, user, event.data)
        elif isinstance(event, ev.Text):
            await record_turn(self.questions, user, event.text, turn.understanding, flow=in_flow(before))
        elif isinstance(event, ev.Screen):
            await record_turn(self.questions, user, turn.state.last_question, turn.understanding)


def _seen(state: ChatState, carried: Carried) -> ChatState:
    """The state with the messages just shown: the flow message, the last answer, the live keyboard."""
    look, pending = state.look, state.pending
    for shown in carried.shown:
        if shown.role == "offer" and pending is not None:
            pending = replace(pending, offer=shown.message)
        if shown.role == "flow":
            look = replace(look, flow=shown.message)
        elif shown.role == "answer":
            look = replace(look, answer=shown.message)
        if shown.keyboard:
            look = replace(look, live=shown.message)
    if state.dialog.flow is None or state.dialog.step is None:
        look = replace(look, flow=None)
    return replace(state, look=look, pending=pending)


def _offer_done(offer: int | None) -> tuple[Effect, ...]:
    """The offer's 直接转人工 / 不用了 would only open the same case again once it is open."""
    return (RemoveKeyboard(offer),) if offer is not None else ()


def _handoff_trigger(turn: Turn) -> str | None:
    if any(e.kind == "ended" and e.end == "escalate" for e in turn.events):
        return "escalate"
    if any(e.kind == "feedback" and e.helped is False for e in turn.events):
        return "not_helped"
    if turn.reply.kind == "human":
        return "button"
    return None


def _gist(reply: Reply) -> str:
    """What posbot answered, in a line or two for staff."""
    first = reply.text.strip().splitlines()[0] if reply.text.strip() else ""
    return " ".join(filter(None, [reply.title, first]))[:200]

