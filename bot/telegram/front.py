"""The Telegram front end of the turn service: carries out its effects with the Bot API."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Mapping, Sequence, TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, User
from aiogram.utils.chat_action import ChatActionSender

from bot.core.holder import DialogHolder
from bot.core.reply import Reply
from bot.handoff.models import Merchant
from bot.turn.effects import (AskPrivately, Edit, Effect, NoteToCase, OfferHandoff, OpenCase, Relay, RemoveKeyboard,
                              Role, Send)
from bot.turn.service import Carried, Shown
from bot.telegram.conversation import TYPING_AFTER
from bot.telegram.render import render

log = logging.getLogger(__name__)
T = TypeVar("T")


class FsmStore:
    """The chat's state in aiogram's FSM storage (SQLite, PostgreSQL or Redis): one value, the
    whole of the chat's FSM data."""

    def __init__(self, state: FSMContext) -> None:
        self.state = state

    async def load(self) -> Mapping[str, Any]:
        return await self.state.get_data()

    async def save(self, data: Mapping[str, Any]) -> None:
        await self.state.set_data(dict(data))


class TelegramFront:
    """One update's front end: the chat it answers in, and the merchant's message it is about."""

    def __init__(self, bot: Bot, chat_id: int, *, dialogs: DialogHolder, message: Message | None = None,
                 user: User | None = None, thread_id: int | None = None, handoff: Any = None,
                 callback: CallbackQuery | None = None) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.dialogs = dialogs
        self.message = message
        """The merchant's message (relayed into a case), when the turn is about one."""
        self.user = user
        self.thread_id = thread_id
        self.handoff = handoff
        self.callback = callback
        """A tapped button, answered (its spinner stopped) before anything else is shown."""

    async def think(self, work: Callable[[], T]) -> T:
        async with ChatActionSender.typing(bot=self.bot, chat_id=self.chat_id, initial_sleep=TYPING_AFTER):
            return await asyncio.to_thread(work)

    async def carry_out(self, effects: Sequence[Effect]) -> Carried:
        shown: list[Shown] = []
        case: int | None = None
        if self.callback is not None:
            callback, self.callback = self.callback, None
            expired = any(isinstance(e, Send) and e.reply.kind == "expired" for e in effects)
            await callback.answer("这个菜单已过期" if expired else None)
        for effect in effects:
            if isinstance(effect, Send):
                shown.append(await self._send(effect.reply, effect.role))
            elif isinstance(effect, Edit):
                shown.append(await self._edit(effect.message, effect.reply, effect.role))
            elif isinstance(effect, OfferHandoff):
                if effect.edit is not None:
                    shown.append(await self._edit(effect.edit, effect.reply, "offer"))
                else:
                    shown.append(await self._send(effect.reply, "offer"))
            elif isinstance(effect, RemoveKeyboard):
                await self._remove_keyboard(effect.message)
            elif isinstance(effect, OpenCase):
                case, note = await self._open(effect)
                shown.append(note)
            elif isinstance(effect, Relay):
                if self.message is not None:
                    await self.handoff.relay_to_support(self.bot, effect.case.ticket, self.message,
                                                        self.dialogs.dialog.content)
            elif isinstance(effect, NoteToCase):
                await self.handoff.notice(self.bot, effect.case.ticket, effect.text)
            elif isinstance(effect, AskPrivately):
                from bot.telegram.handlers.case import ask_privately  # the handlers import this module

                await ask_privately(self.bot, self.chat_id, thread_id=self.thread_id)
        return Carried(tuple(shown), case)

    async def _send(self, reply: Reply, role: Role) -> Shown:
        rendered = render(reply)
        last: Message | None = None
        for index, chunk in enumerate(rendered.chunks):  # the keyboard under the last piece
            last = await self.bot.send_message(self.chat_id, chunk, message_thread_id=self.thread_id,
                                               reply_markup=rendered.keyboard if index == len(rendered.chunks) - 1
                                               else None)
        assert last is not None, "render() gives at least one chunk"
        return Shown(last.message_id, role, rendered.keyboard is not None)

    async def _edit(self, message_id: int, reply: Reply, role: Role) -> Shown:
        """Edit in place, or send anew when editing is not possible (too old, deleted, too long …)."""
        rendered = render(reply)
        if len(rendered.chunks) == 1:
            try:
                await self.bot.edit_message_text(text=rendered.chunks[0], chat_id=self.chat_id, message_id=message_id,
                                                 reply_markup=rendered.keyboard)
                return Shown(message_id, role, rendered.keyboard is not None)
            except TelegramBadRequest as error:
                log.info("could not edit message %s: %s; sending a new one", message_id, error.message)
        return await self._send(reply, role)

    async def _remove_keyboard(self, message_id: int) -> None:
        try:
            await self.bot.edit_message_reply_markup(chat_id=self.chat_id, message_id=message_id, reply_markup=None)
        except TelegramBadRequest as error:  # already without one, deleted, too old: nothing looks live
            log.info("could not remove the keyboard of message %s: %s", message_id, error.message)

    async def _open(self, effect: OpenCase) -> tuple[int, Shown]:
        """Open (or continue) the merchant's case, pass any photo or file on, confirm to the merchant."""
        from bot.core.cards import mask_card_numbers
        from bot.telegram.handoff import display_name

        user, handoff, content = self.user, self.handoff, self.dialogs.dialog.content
        assert user is not None and handoff is not None, "cases open in private chats with a support group"
        name = " ".join(filter(None, [user.first_name, user.last_name])) or str(user.id)
        ticket = await handoff.open(self.bot, Merchant(user.id, self.chat_id, display_name(mask_card_numbers(name))),
                                    effect.context, content)
        if effect.media:
            chat, message_id, kind, caption = effect.media
            await handoff.relay_by_id(self.bot, ticket, chat, message_id, content, text=caption, media=kind)
        note = Reply(kind="info", title=f"已转人工客服（工单 #{ticket.id}）",
                     text="接下来你发的消息都会直接转给客服。" + handoff.waiting_note())
        return ticket.id, await self._send(note, "menu")

