"""The chat's one state value: what it keeps, and states saved by older releases loading unchanged."""

from __future__ import annotations

from bot.core.dialog import DialogState
from bot.turn.state import ChatState, Look, Pending


def test_everything_survives_a_round_trip() -> None:
    state = ChatState(dialog=DialogState(version="v1", fallbacks=1, flow="printer_problem", step="blank",
                                         history=("printer_problem/start",), slots=(("amount", "100"),)),
                      pending=Pending("media", (7001, 12, "photo", "卡号****7894"), offer=15),
                      look=Look(flow=14, answer=13, live=14), case=3, cases_known=True)
    assert ChatState.from_dict(state.to_dict()) == state
    assert ChatState.from_dict(ChatState().to_dict()) == ChatState()


def test_fsm_data_saved_by_an_older_release_loads() -> None:
    old = {"dialog": {"version": "v0", "fallbacks": 1, "last_question": "显示51", "flow": None, "step": None,
                      "history": [], "slots": {}, "recent": ["显示51"], "last_intent": "code_51", "last_score": 1.0,
                      "tried": []},
           "handoff": {"trigger": "media", "media": [7001, 12]}}
    state = ChatState.from_dict(old)
    assert state.dialog.last_intent == "code_51" and state.dialog.fallbacks == 1
    assert state.pending == Pending("media", (7001, 12, "media", ""))
    assert state.look == Look() and state.case is None
    assert not state.cases_known, "a state from before cases were kept must look for earlier cases"


def test_no_pending_offer_and_unknown_keys() -> None:
    state = ChatState.from_dict({"dialog": {}, "handoff": None, "something": "else"})
    assert state.pending is None and state == ChatState()


def test_a_caption_kept_with_a_pending_photo_is_masked_again() -> None:
    state = ChatState.from_dict({"handoff": {"trigger": "media", "media": [1, 2, "photo", "卡号6222021234567894"]}})
    assert state.pending is not None and state.pending.media == (1, 2, "photo", "卡号****7894")


def test_a_known_absence_of_cases_is_kept() -> None:
    state = ChatState(cases_known=True)
    assert ChatState.from_dict(state.to_dict()).cases_known
