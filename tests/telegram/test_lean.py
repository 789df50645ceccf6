"""aiogram imported the lean way (bot/telegram/lean.py): models compile when first used, and work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import bot.telegram
from bot.telegram.lean import deferred_models
at_import = len(list(deferred_models()))
from aiogram.types import Update, InlineKeyboardMarkup, InlineKeyboardButton
from aiogram.methods import SendMessage, EditMessageReplyMarkup, GetUpdates
from aiogram.methods.base import Response
update = Update.model_validate({
    "update_id": 1,
    "message": {"message_id": 7, "date": 0, "chat": {"id": 5, "type": "supergroup", "is_forum": True},
                "from": {"id": 5, "is_bot": False, "first_name": "王"}, "message_thread_id": 3,
                "photo": [{"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1}],
                "caption": "显示51", "reply_to_message": {"message_id": 6, "date": 0, "chat": {"id": 5, "type": "private"},
                                                        "text": "你好"}},
})
responses = Response[list[Update]].model_validate({"ok": True, "result": [update.model_dump()]})
keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="一步步排查", callback_data="f:x")]])
sent = SendMessage(chat_id=5, text="好", reply_markup=keyboard).model_dump(exclude_defaults=True)
EditMessageReplyMarkup(chat_id=5, message_id=7, reply_markup=None)
print(at_import, len(list(deferred_models())), update.message.photo[0].file_id, responses.result[0].update_id,
      sent["reply_markup"].inline_keyboard[0][0].text if hasattr(sent["reply_markup"], "inline_keyboard")
      else sent["reply_markup"]["inline_keyboard"][0][0]["text"])
"""


def test_models_compile_on_first_use_and_validate_what_telegram_sends() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    at_import, afterwards, file_id, update_id, button = done.stdout.split()
    assert int(at_import) > 300, "aiogram's models were built at import: the lean import did not take effect"
    assert int(afterwards) < int(at_import), "using models compiled them"
    assert (file_id, update_id, button) == ("a", "1", "一步步排查")


def test_an_aiogram_imported_first_is_left_as_it_is() -> None:
    script = ("import aiogram.types\nimport bot.telegram\nfrom bot.telegram.lean import deferred_models\n"
              "print(len(list(deferred_models())))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 50
