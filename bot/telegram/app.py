"""Build the whole bot (for `posbot run` and for tests alike) and run it by polling or webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (TelegramAPIError, TelegramNetworkError, TelegramRetryAfter, TelegramServerError,
                                TelegramUnauthorizedError)
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.core.dialog import Dialog
from bot.core.errors import PosbotError
from bot.handoff.store import TicketStore
from bot.records import Records
from bot.storage.recipients import BlockedChats
from bot.coordination import LocalShared, RedisShared, Shared, connect_redis, is_unavailable
from bot.core.holder import DialogHolder
from bot.telegram.fsm import ChatLocks, DatabaseStorage
from bot.telegram.handlers import admin, case, errors, merchant, photos, support
from bot.telegram.handlers.errors import Redelivery
from bot.telegram.handoff import Handoff, parse_hours
from bot.telegram.conversation import send
from bot.handoff.desk import BANNED_NOTICE
from bot.telegram.middlewares import MerchantGate, QuietCallbackAnswers, RetryRequests, Throttling
from bot.admin.reload import Reloader, ReloadResult
from bot.admin.uploads import Uploads
from bot.settings.run import Settings
from bot.telegram.staff import Staff
from bot.turn.cases import TicketCases
from bot.turn.service import TurnService

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

CHAT_LOCK_SECONDS = 10
"""Longest one update may hold its chat's lock across workers (Redis): handling takes milliseconds
(a photo about a second), and a worker killed mid-update holds up its chat no longer than this."""
MERCHANT_COMMANDS = (("start", "常见问题"), ("help", "怎么问我"), ("human", "转人工客服"), ("cancel", "退出当前排查"))


@dataclass
class Stores:
    """Everything the bot keeps, opened once and closed on shutdown: the records (SQLite or
    PostgreSQL), conversation state and what workers share (in-process, or Redis with REDIS_URL)."""

    records: Records
    fsm: BaseStorage
    isolation: BaseEventIsolation
    shared: Shared

    @classmethod
    async def open(cls, settings: Settings) -> "Stores":
        records = await Records.at(data_dir=settings.data_dir, database_url=settings.database())
        if settings.redis_url:
            from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

            redis = connect_redis(settings.redis_url.get_secret_value())
            fsm: BaseStorage = RedisStorage(redis=redis)
            # a worker killed mid-update holds its chat's lock until this expires
            isolation: BaseEventIsolation = RedisEventIsolation(redis, lock_kwargs={"timeout": CHAT_LOCK_SECONDS})
            shared: Shared = RedisShared(redis)
        else:
            fsm = await DatabaseStorage.open(records.db)
            isolation = ChatLocks()
            shared = LocalShared()
        return cls(records=records, fsm=fsm, isolation=isolation, shared=shared)

    @property
    def blocked(self) -> BlockedChats:
        return self.records.blocked

    @property
    def tickets(self) -> TicketStore:
        return self.records.tickets

    async def close(self) -> None:
        await self.isolation.close()
        await self.fsm.close()
        await self.shared.close()
        await self.records.close()


def create_bot(settings: Settings, stores: Stores) -> Bot:
    api = TelegramAPIServer.from_base(settings.telegram_api_base) if settings.telegram_api_base else None
    session = (AiohttpSession(api=api, timeout=settings.request_timeout) if api
               else AiohttpSession(timeout=settings.request_timeout))
    session.middleware(RetryRequests(blocked=stores.blocked))
    session.middleware(QuietCallbackAnswers())
    return Bot(settings.bot_token.get_secret_value(), session=session,
               default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True))


def create_dispatcher(settings: Settings, stores: Stores, dialog: Dialog) -> Dispatcher:
    """The dispatcher with every router, middleware and dependency; handlers get `dialogs`,
    `outcomes`, `blocked`, `bans` and `settings` by parameter name."""
    dispatcher = Dispatcher(storage=stores.fsm, events_isolation=stores.isolation)
    holder = DialogHolder(dialog)
    dispatcher["dialogs"] = holder
    dispatcher["shared"] = stores.shared
    dispatcher["reloader"] = Reloader(holder, stores.shared)
    dispatcher["uploads"] = Uploads(dialog.content.root, settings.data_dir)
    dispatcher["database"] = stores.records.db
    dispatcher["outcomes"] = stores.records.outcomes
    dispatcher["blocked"] = stores.records.blocked
    dispatcher["questions"] = stores.records.questions
    dispatcher["bans"] = stores.records.bans  # MerchantGate checks it first; handlers may too
    dispatcher["settings"] = settings
    handoff = staff = None
    if settings.support_chat_id is not None:
        handoff = Handoff(store=stores.tickets, support_chat_id=settings.support_chat_id, blocked=stores.blocked,
                          shared=stores.shared, hours=parse_hours(settings.support_hours), bans=stores.records.bans,
                          actions=stores.records.actions, remind_after=settings.support_remind_after * 60,
                          aliases=dict(settings.support_staff_aliases))
        staff = Staff(settings.support_chat_id, ids=frozenset(settings.support_staff_ids))
    dispatcher["handoff"] = handoff
    dispatcher["staff"] = staff
    dispatcher["turns"] = TurnService(lambda: holder.dialog, questions=stores.records.questions,
                                      outcomes=stores.records.outcomes,
                                      cases=TicketCases(stores.tickets) if handoff is not None else None)
    exempt = frozenset({settings.support_chat_id}) if settings.support_chat_id is not None else frozenset()
    throttling = Throttling(shared=stores.shared, rate=settings.throttle_rate, burst=settings.throttle_burst, exempt_chats=exempt)
    dispatcher.message.outer_middleware(throttling)
    dispatcher.edited_message.outer_middleware(throttling)
    dispatcher.callback_query.outer_middleware(throttling)
    gate = MerchantGate(bans=stores.records.bans, actions=stores.records.actions, notice=BANNED_NOTICE,
                        exempt_users=frozenset(settings.admin_ids))
    dispatcher.message.outer_middleware(gate)
    dispatcher.edited_message.outer_middleware(gate)
    dispatcher.callback_query.outer_middleware(gate)
    if settings.support_chat_id is not None:
        dispatcher.include_router(support.create_router(settings.support_chat_id))
    photos.attach(dispatcher)
    dispatcher.include_routers(photos.create_router(), admin.create_router(settings.admin_ids), case.create_router(),
                               merchant.create_router(), errors.create_router())
    dispatcher.startup.register(_register_commands)
    dispatcher.startup.register(_resume_relays)
    dispatcher.startup.register(_follow_other_workers)
    return dispatcher


async def _follow_other_workers(reloader: Reloader, dispatcher: Dispatcher) -> None:
    """Content reloaded by another worker (an admin's /reload or upload there) is reloaded here too."""
    following = asyncio.create_task(reloader.follow())

    async def stop_following() -> None:  # and wait, so the Redis subscription closes its connection
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following

    dispatcher.shutdown.register(stop_following)


async def _resume_relays(bot: Bot, handoff: Handoff | None, dialogs: DialogHolder,
                         dispatcher: Dispatcher) -> None:
    """Relays written down but not delivered before the last stop are sent now, and later ones that
    fail for a passing reason are retried in the background."""
    if handoff is None:
        return
    resent = await handoff.resume(bot, dialogs.dialog.content)
    if resent:
        log.info("resent %d relays left pending by the last run", resent)
    retrying = asyncio.create_task(handoff.keep_retrying(bot, lambda: dialogs.dialog.content))
    reminding = asyncio.create_task(handoff.keep_reminding(bot, lambda: dialogs.dialog.content))

    async def stop_retrying() -> None:
        retrying.cancel()
        reminding.cancel()

    dispatcher.shutdown.register(stop_retrying)


async def _register_commands(bot: Bot, settings: Settings) -> None:
    """The command menu: merchant commands for everyone, plus admin commands in admins' chats, and
    the ticket commands in the support group."""
    merchant_commands = [BotCommand(command=c, description=d) for c, d in MERCHANT_COMMANDS]
    await bot.set_my_commands(merchant_commands, scope=BotCommandScopeDefault())
    admin_commands = merchant_commands + [BotCommand(command=c, description=d) for c, d in admin.ADMIN_COMMANDS]
    for admin_id in settings.admin_ids:
        try:
            await bot.set_my_commands(admin_commands, scope=BotCommandScopeChat(chat_id=admin_id))
        except TelegramAPIError as error:  # an admin who never opened a chat with the bot
            log.warning("could not set admin commands for %s: %s", admin_id, error.message)
    if settings.support_chat_id is not None:  # staff see the ticket commands in the support group's menu
        staff_commands = [BotCommand(command=c, description=d) for c, d in support.STAFF_MENU]
        try:
            await bot.set_my_commands(staff_commands, scope=BotCommandScopeChat(chat_id=settings.support_chat_id))
        except TelegramAPIError as error:
            log.warning("could not set the support group's commands: %s", error.message)


async def poll(dispatcher: Dispatcher, bot: Bot, settings: Settings, *, handle_signals: bool = True,
               polling_timeout: int = 10) -> None:
    """Long polling with a bound on updates in flight: after downtime Telegram hands over the whole
    backlog, and without the bound every queued update would become a task at once."""
    await dispatcher.start_polling(bot, handle_signals=handle_signals, polling_timeout=polling_timeout,
                                   tasks_concurrency_limit=settings.max_concurrent_updates)


def watch_content(dispatcher: Dispatcher, settings: Settings) -> None:
    """posbot run --watch: reload on every change under intents/ and knowledge/; admins hear about
    content that does not validate (with file:line), since the old content keeps running."""
    reloader: Reloader = dispatcher["reloader"]

    async def report(result: ReloadResult, bot: Bot) -> None:
        if result.ok:
            return
        for admin_id in settings.admin_ids:
            try:
                await send(bot, admin_id, admin.result_reply(result))
            except TelegramAPIError as error:
                log.warning("could not tell admin %s about invalid content: %s", admin_id, error.message)

    async def start(bot: Bot) -> None:
        task = asyncio.create_task(reloader.watch(lambda result: report(result, bot)))

        async def stop() -> None:
            task.cancel()

        dispatcher.shutdown.register(stop)

    dispatcher.startup.register(start)


class StartupError(PosbotError):
    """The bot cannot start: the Bot API cannot be reached or refuses the token (one line for the CLI)."""


async def check_api(bot: Bot, settings: Settings) -> None:
    """getMe before anything else, so an unreachable API or a revoked token stops start-up with one
    clear line (after the request middleware's retries) instead of a traceback from the first call."""
    where = settings.telegram_api_base or "https://api.telegram.org"
    try:
        await bot.get_me()
    except TelegramUnauthorizedError:
        await bot.session.close()
        raise StartupError(f"the Bot API at {where} refused BOT_TOKEN (401 Unauthorized): check the token "
                           "@BotFather gave you") from None
    except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as error:
        await bot.session.close()
        raise StartupError(f"cannot reach the Telegram Bot API at {where}: {error.message}") from None


async def run_polling(settings: Settings, dialog: Dialog, *, watch: bool = False) -> None:
    stores = await Stores.open(settings)
    bot = create_bot(settings, stores)
    dispatcher = create_dispatcher(settings, stores, dialog)
    if watch:
        watch_content(dispatcher, settings)
    try:
        await check_api(bot, settings)
        await bot.delete_webhook(drop_pending_updates=False)
        await poll(dispatcher, bot, settings)
    finally:
        await stores.close()


def create_webhook_app(dispatcher: Dispatcher, bot: Bot, *, url: str, secret: str, set_webhook: bool = True,
                       max_connections: int = 40) -> "web.Application":
    """aiogram's aiohttp integration at the URL's path; the secret token is checked on every request.

    Each update is answered once it has been handled, not before: Telegram's Bot API sends a chat's
    next update only after the previous one was answered (its webhook sender keeps one queue per
    chat), so one merchant's messages are handled in order even when several workers share the URL,
    while updates from different chats arrive in parallel, up to `max_connections`. An update whose
    worker dies before answering is sent again, to whichever worker takes the connection.
    """
    from aiohttp import web
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    async def on_startup(bot: Bot) -> None:
        await bot.set_webhook(url, secret_token=secret, max_connections=max_connections,
                              allowed_updates=dispatcher.resolve_used_update_types())

    class RefuseDuringOutage(SimpleRequestHandler):
        """503 instead of a crash when a store is away (bot.telegram.handlers.errors): Telegram keeps
        the update and sends it again later."""

        async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
            try:
                return await super()._handle_request(bot, request)
            except Exception as error:
                if not is_unavailable(error):
                    raise
                return web.Response(status=503, text="a store is unavailable; send this update again later")

    if set_webhook:
        dispatcher.startup.register(on_startup)
    dispatcher["redeliver"] = Redelivery(dispatcher["shared"])
    app = web.Application()
    RefuseDuringOutage(dispatcher, bot, secret_token=secret, handle_in_background=False).register(
        app, path=urlsplit(url).path or "/")
    setup_application(app, dispatcher, bot=bot)
    return app


async def run_webhook(settings: Settings, dialog: Dialog, url: str, *, watch: bool = False,
                      worker: bool = False, set_webhook: bool = True) -> None:
    """Serve the webhook until SIGTERM or SIGINT, then finish the updates in hand and stop.

    `worker`: one of several processes (`posbot run --workers N`, or several `posbot run --webhook
    URL --worker` under a process manager): the port is shared (SO_REUSEPORT: the kernel spreads
    connections over the workers), and only the one told to (`set_webhook`) calls setWebhook.
    """
    from aiohttp import web

    stores = await Stores.open(settings)
    bot = create_bot(settings, stores)
    try:
        await check_api(bot, settings)
    except StartupError:
        await stores.close()
        raise
    dispatcher = create_dispatcher(settings, stores, dialog)
    if watch:
        watch_content(dispatcher, settings)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else secrets.token_urlsafe(32)
    runner = web.AppRunner(create_webhook_app(dispatcher, bot, url=url, secret=secret, set_webhook=set_webhook,
                                              max_connections=settings.webhook_max_connections),
                           handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_host, settings.webhook_port, reuse_port=worker or None).start()
    log.info("webhook listening on %s:%s%s", settings.webhook_host, settings.webhook_port, urlsplit(url).path or "/")
    if worker:
        from bot.telegram.workers import tell_ready

        tell_ready()
    try:
        await stop.wait()
        log.info("stopping: finishing the updates in hand")
    finally:
        await runner.cleanup()
        await bot.session.close()
        await stores.close()
