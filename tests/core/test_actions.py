"""Typed actions: one encoding, within Telegram's 64 bytes, and buttons already in chats still decode."""

from __future__ import annotations

import pytest

from bot.core import actions as act
from bot.core.dialog import Dialog, DialogState
from bot.core.engine import Engine

EVERY = [act.Show("code_51"), act.StartFlow("printer_problem"), act.Choose("printer_problem", "blank", 2),
         act.Back("printer_problem", "blank"), act.Restart("printer_problem"), act.ShowScript("charged_no_receipt"),
         act.ShowScript("charged_no_receipt", full=True), act.Feedback("printer_problem", helped=True),
         act.Feedback("printer_problem", helped=False), act.Current(), act.NoneOfThese(), act.Human(), act.Menu(),
         act.OpenNow()]

OLD_FORMS = {  # as releases before typed actions wrote them into buttons
    "i:code_51": act.Show("code_51"), "f:printer_problem": act.StartFlow("printer_problem"),
    "c:printer_problem:blank:0": act.Choose("printer_problem", "blank", 0),
    "b:printer_problem:blank": act.Back("printer_problem", "blank"), "r:signin_failure": act.Restart("signin_failure"),
    "s:charged_no_receipt": act.ShowScript("charged_no_receipt"),
    "s:charged_no_receipt:full": act.ShowScript("charged_no_receipt", full=True),
    "y:printer_problem": act.Feedback("printer_problem", True), "n:printer_problem": act.Feedback("printer_problem", False),
    "g": act.Current(), "x": act.NoneOfThese(), "h": act.Human(), "m": act.Menu(), "ho": act.OpenNow(),
}


@pytest.mark.parametrize("action", EVERY, ids=repr)
def test_every_action_survives_its_encoding(action: act.Action) -> None:
    data = act.encode(action)
    assert act.decode(data) == action
    assert data.isascii() and len(data.encode()) <= act.CALLBACK_DATA_LIMIT


@pytest.mark.parametrize("data", sorted(OLD_FORMS))
def test_buttons_already_in_chats_decode(data: str) -> None:
    assert act.decode(data) == OLD_FORMS[data]
    assert act.encode(OLD_FORMS[data]) == data


@pytest.mark.parametrize("data", ["", "i", "i:", "c:flow:step", "c:flow:step:x", "s:x:short", "z:1", "y:", "c:a::1",
                                  "rate:3:1", "i:a:b"])
def test_what_is_not_an_action_is_none(data: str) -> None:
    assert act.decode(data) is None


def test_an_id_too_long_for_telegram_is_refused() -> None:
    with pytest.raises(act.TooLong):
        act.encode(act.Choose("f" * 30, "s" * 30, 1))


def test_every_button_the_dialog_makes_decodes(engine: Engine) -> None:
    dialog = Dialog(engine)
    replies = [dialog.welcome(), dialog.on_text("pos机显示51", DialogState()).reply]
    flow = dialog.on_action(act.encode(act.StartFlow("signin_failure")), DialogState())
    replies.append(flow.reply)
    for reply in replies:
        for option in reply.options:
            assert act.decode(option.action) is not None, option
