"""The turn service without any front end: the real dialog, a recording front, state in memory."""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

from bot.console import MemoryStore
from bot.core import actions as act
from bot.core.dialog import Dialog
from bot.turn.effects import AskPrivately, Edit, Effect, OfferHandoff, RemoveKeyboard, Send
from bot.turn.inputs import Input, Sticker, Tap, Text, Where
from bot.turn.service import Carried, Outcome, Shown, TurnService

T = TypeVar("T")
CHAT = Where(chat=5, user=5)


class Recorder:
    def __init__(self) -> None:
        self.effects: list[Effect] = []
        self.next_id = 100

    async def think(self, work: Callable[[], T]) -> T:
        return work()

    async def carry_out(self, effects: Sequence[Effect]) -> Carried:
        self.effects.extend(effects)
        shown = []
        for effect in effects:
            if isinstance(effect, Send):
                self.next_id += 1
                shown.append(Shown(self.next_id, effect.role, bool(effect.reply.options)))
            elif isinstance(effect, Edit):
                shown.append(Shown(effect.message, effect.role, bool(effect.reply.options)))
        return Carried(tuple(shown))


class Chat:
    def __init__(self, service: TurnService) -> None:
        self.service, self.store, self.front = service, MemoryStore(), Recorder()

    async def say(self, event: Input, where: Where = CHAT) -> Outcome:
        self.front.effects = []
        return await self.service.handle(event, where, self.front, self.store)


async def test_a_sticker_is_not_a_misunderstanding(dialog: Dialog) -> None:
    chat = Chat(TurnService(lambda: dialog))
    assert (await chat.say(Text("阿萨德发个"))).state.dialog.fallbacks == 1
    outcome = await chat.say(Sticker())
    assert outcome.state.dialog.fallbacks == 1 and isinstance(outcome.effects[0], Send)


async def test_a_flow_step_goes_to_a_new_message_then_edits_it(dialog: Dialog) -> None:
    chat = Chat(TurnService(lambda: dialog))
    answer = await chat.say(Text("显示51"))
    answer_id = answer.state.look.answer
    assert answer_id is not None and answer.state.look.live == answer_id
    start = next(o.action for o in answer.effects[0].reply.options if o.label == "一步步排查")  # type: ignore[union-attr]
    step = await chat.say(Tap(start), Where(chat=5, user=5, message=answer_id))
    [sent] = [e for e in chat.front.effects if isinstance(e, Send)]
    assert sent.role == "flow" and RemoveKeyboard(answer_id) in chat.front.effects
    flow_id = step.state.look.flow
    first = next(o.action for o in sent.reply.options if o.action.startswith("c:"))
    await chat.say(Tap(first), Where(chat=5, user=5, message=flow_id))
    assert [type(e) for e in chat.front.effects] == [Edit] and chat.front.effects[0].message == flow_id  # type: ignore[union-attr]


async def test_a_stale_button_gets_the_menu_and_loses_its_keyboard(dialog: Dialog) -> None:
    chat = Chat(TurnService(lambda: dialog))
    await chat.say(Text("显示51"))
    outcome = await chat.say(Tap("c:issuer_decline:stop_retry:0"), Where(chat=5, user=5, message=3))
    assert outcome.stale
    assert chat.front.effects[0] == RemoveKeyboard(3)
    assert isinstance(chat.front.effects[1], Send) and chat.front.effects[1].reply.kind == "expired"


async def test_without_a_support_group_human_words_get_who_to_call(dialog: Dialog) -> None:
    chat = Chat(TurnService(lambda: dialog))
    outcome = await chat.say(Text("转人工"))
    assert outcome.turn is not None and outcome.turn.reply.kind == "human"
    assert not [e for e in outcome.effects if isinstance(e, OfferHandoff)]


async def test_the_open_now_button_without_a_support_group_says_who_to_call(dialog: Dialog) -> None:
    chat = Chat(TurnService(lambda: dialog))
    outcome = await chat.say(Tap(act.encode(act.OpenNow())))
    assert isinstance(outcome.effects[0], Send) and outcome.effects[0].reply.kind == "human"


async def test_in_a_group_with_support_a_human_is_offered_privately(dialog: Dialog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.handoff.sql_store import SQLTicketStore
    from bot.storage.db import SQLiteDatabase
    from bot.turn.cases import TicketCases

    db = SQLiteDatabase(tmp_path / "posbot.sqlite3")
    try:
        chat = Chat(TurnService(lambda: dialog, cases=TicketCases(await SQLTicketStore.open(db))))
        outcome = await chat.say(Text("转人工"), Where(chat=-100, user=5, private=False))
        assert outcome.effects == (AskPrivately(),)
        outcome = await chat.say(Text("转人工"))
        assert isinstance(outcome.effects[0], OfferHandoff) and outcome.state.pending is not None
    finally:
        await db.close()
