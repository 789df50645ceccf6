"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests.

It speaks the real HTTP protocol aiogram uses (POST /bot<token>/<method>, form fields, JSON replies),
serves scripted updates to getUpdates (long polling), records every call the bot makes, keeps the
messages it sent (so edits and button presses refer to real message ids), and can be told to fail:
429 with retry_after, 500, or a slow answer that times out.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

BOT_ID = 900_000_001
BOT_USERNAME = "posbot_test_bot"
TOKEN = f"{BOT_ID}:TEST-token-0123456789abcdef"
ANONYMOUS_ADMIN = 1087968824
"""GroupAnonymousBot: the `from` of posts sent on behalf of a chat."""
ADMIN_RIGHTS = ("can_be_edited", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users",
                "can_post_stories", "can_edit_stories", "can_delete_stories", "can_send_welcome_messages")


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class Fault:
    status: int
    times: int
    retry_after: int | None = None
    delay: float = 0.0


@dataclass
class FakeBotAPI:
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, Fault] = field(default_factory=dict)
    sent: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    """(chat_id, message_id) -> the message as the bot last left it (text, keyboard)."""

    forums: set[int] = field(default_factory=set)
    """Chats that are forum supergroups (createForumTopic works there)."""
    deleted_topics: set[int] = field(default_factory=set)
    received: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    """file_id -> bytes served by getFile and the file download URL."""
    admins: dict[int, set[int]] = field(default_factory=dict)
    """chat_id -> user ids getChatAdministrators lists (with the bot itself, as Telegram does)."""
    """(chat_id, message_id) -> messages users sent (what copyMessage copies from)."""

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._updates_log: list[dict[str, Any]] = []
        """Every update pushed, kept (getUpdates drops those confirmed)."""
        self._topic_ids = itertools.count(500)
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._new_call = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base = ""
        self.webhook: dict[str, Any] | None = None
        """setWebhook's parameters while a webhook is set: updates are then POSTed to its url."""
        self.deliveries: list[tuple[int, int | str]] = []
        """(update_id, HTTP status or error name) of every webhook delivery attempt."""
        self.delivery_seconds: list[float] = []
        """How long each successful delivery took, from the POST until the bot answered it."""
        self._delivery: asyncio.Task | None = None

    # ---- server ------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/_stats", self._stats)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        if self._delivery is not None:
            self._delivery.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- webhook delivery, as the real Bot API server does it ----------------------------

    async def _deliver(self, retry_delay: float = 0.3) -> None:
        """POST pending updates to the webhook the way telegram-bot-api's WebhookActor does: one
        queue per chat with at most one update of a chat in flight (the next goes only after the
        previous got a 2xx), chats in parallel up to max_connections, and a failed or refused
        delivery retried, to whichever worker then takes the connection."""
        from collections import deque

        from aiohttp import ClientError, ClientSession, ClientTimeout

        queues: dict[Any, deque[dict[str, Any]]] = {}
        in_flight: set[Any] = set()
        taken = 0
        limit = asyncio.Semaphore(int((self.webhook or {}).get("max_connections") or 40))
        done = asyncio.Event()
        posts: set[asyncio.Task[None]] = set()

        async def post(http: ClientSession, update: dict[str, Any], key: Any) -> None:
            assert self.webhook is not None
            headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook.get("secret_token", "")}
            async with limit:
                sent_at = time.perf_counter()
                try:
                    async with http.post(self.webhook["url"], json=update, headers=headers) as response:
                        outcome: int | str = response.status
                except (ClientError, asyncio.TimeoutError, OSError) as error:
                    outcome = type(error).__name__
            self.deliveries.append((update["update_id"], outcome))
            if outcome == 200:
                self.delivery_seconds.append(time.perf_counter() - sent_at)
                queues[key].popleft()
                if not queues[key]:
                    del queues[key]
            else:
                await asyncio.sleep(retry_delay)
            in_flight.discard(key)
            done.set()

        async with ClientSession(timeout=ClientTimeout(total=30)) as http:
            while True:
                while taken < len(self._updates):  # in webhook mode updates are only ever appended
                    update = self._updates[taken]
                    taken += 1
                    queues.setdefault(_queue_of(update), deque()).append(update)
                for key, queue in queues.items():
                    if key not in in_flight:
                        in_flight.add(key)
                        posting = asyncio.create_task(post(http, queue[0], key))
                        posts.add(posting)  # a task nobody references may be collected mid-flight
                        posting.add_done_callback(posts.discard)
                self._new_update.clear()
                done.clear()
                waits = [asyncio.create_task(self._new_update.wait()), asyncio.create_task(done.wait())]
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if request.match_info["token"] != TOKEN or file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])

    async def _stats(self, request: web.Request) -> web.Response:
        counts: dict[str, Any] = {}
        for call in self.calls:
            counts[call.method] = counts.get(call.method, 0) + 1
        if request.query.get("latency"):
            counts["delivery_seconds"] = self.delivery_seconds
        return web.json_response(counts)

    async def start_on(self, port: int) -> str:
        """Like start(), on a fixed port (the benchmark runs the server in its own process)."""
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/_stats", self._stats)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        form = await request.post()
        params = {key: _decode(value) for key, value in form.items()}
        fault = self.faults.get(method)
        if fault is not None and fault.times > 0:
            fault.times -= 1
            self.calls.append(Call(method + "!failed", params))
            if fault.delay:
                await asyncio.sleep(fault.delay)
            body: dict[str, Any] = {"ok": False, "error_code": fault.status, "description": f"fake {fault.status}"}
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            return web.json_response(body, status=fault.status)
        if method == "getUpdates":
            if self.webhook is not None:
                return web.json_response({"ok": False, "error_code": 409, "description": "Conflict: can't use "
                                          "getUpdates method while webhook is active"}, status=409)
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        if method == "setWebhook":
            self.webhook = params
            if self._delivery is None:
                self._delivery = asyncio.create_task(self._deliver())
        refusal = self._refusal(method, params)
        if refusal is not None:
            self.calls.append(Call(method + "!refused", params))
            return web.json_response({"ok": False, "error_code": 400, "description": refusal}, status=400)
        self.calls.append(Call(method, params))
        self._new_call.set()
        return web.json_response({"ok": True, "result": self._result(method, params)})

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=min(float(params.get("timeout") or 0), 1.0))
            except asyncio.TimeoutError:
                pass
        return [u for u in self._updates if u["update_id"] >= offset][: int(params.get("limit") or 100)]

    def _refusal(self, method: str, params: dict[str, Any]) -> str | None:
        """What the real API answers 400 to: topics in non-forums, deleted topics, texts over 4096
        UTF-16 code units once parsed, HTML it cannot parse (unknown or unbalanced tags)."""
        if method == "createForumTopic" and int(params["chat_id"]) not in self.forums:
            return "Bad Request: the chat is not a forum"
        if method in ("sendMessage", "editMessageText"):
            refusal = _text_refusal(str(params.get("text", "")), params.get("parse_mode"))
            if refusal is not None:
                return refusal
        thread = params.get("message_thread_id")
        if thread is not None and int(thread) in self.deleted_topics:
            return "Bad Request: message thread not found"
        return None

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getChatAdministrators":
            bot = {"status": "administrator", "user": {"id": BOT_ID, "is_bot": True, "first_name": "posbot"},
                   "is_anonymous": False, **{right: True for right in ADMIN_RIGHTS}}
            people = [{"status": "creator" if n == 0 else "administrator", "is_anonymous": False,
                       "user": {"id": user, "is_bot": False, "first_name": "客服"},
                       **({} if n == 0 else {right: True for right in ADMIN_RIGHTS})}
                      for n, user in enumerate(sorted(self.admins.get(int(params["chat_id"]), ())))]
            return people + [bot]
        if method == "getFile":
            return {"file_id": params["file_id"], "file_unique_id": "u" + params["file_id"],
                    "file_path": f"documents/{params['file_id']}"}
        if method == "createForumTopic":
            return {"message_thread_id": next(self._topic_ids), "name": params["name"], "icon_color": 7322096}
        if method == "copyMessage":
            source = (self.received.get((int(params["from_chat_id"]), int(params["message_id"])))
                      or self.sent.get((int(params["from_chat_id"]), int(params["message_id"]))) or {})
            chat_id = int(params["chat_id"])
            copy = self._message(chat_id, next(self._message_ids), {"text": source.get("text", "")})
            for key in ("photo", "voice", "document", "caption"):
                if key in source:
                    copy[key] = source[key]
            if "caption" in params:  # as Telegram does: a caption given replaces the original ("" removes it)
                copy.pop("caption", None)
                if params["caption"]:
                    copy["caption"] = params["caption"]
            if params.get("message_thread_id"):
                copy["message_thread_id"] = int(params["message_thread_id"])
            copy["copied_from"] = [int(params["from_chat_id"]), int(params["message_id"])]
            self.sent[(chat_id, copy["message_id"])] = copy
            return {"message_id": copy["message_id"]}
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "posbot", "username": BOT_USERNAME}
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            message = self._message(chat_id, next(self._message_ids), params)
            if params.get("message_thread_id"):
                message["message_thread_id"] = int(params["message_thread_id"])
            self.sent[(chat_id, message["message_id"])] = message
            return message
        if method == "editMessageReplyMarkup":  # the message keeps its text; its buttons change (or go)
            chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
            message = dict(self.sent.get((chat_id, message_id)) or self._message(chat_id, message_id, {}))
            message.pop("reply_markup", None)
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            self.sent[(chat_id, message_id)] = message
            return message
        if method == "editMessageText":
            chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
            message = self._message(chat_id, message_id, params)
            self.sent[(chat_id, message_id)] = message
            return message
        return True

    @staticmethod
    def _message(chat_id: int, message_id: int, params: dict[str, Any]) -> dict[str, Any]:
        message = {"message_id": message_id, "date": int(time.time()), "text": params.get("text", ""),
                   "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "posbot", "username": BOT_USERNAME}}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    # ---- scripting updates ---------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> int:
        update = {"update_id": next(self._update_ids), **update}
        message = update.get("message") or update.get("edited_message")
        if message is not None:
            self.received[(message["chat"]["id"], message["message_id"])] = message
        self._updates.append(update)
        self._updates_log.append(update)
        self._new_update.set()
        return update["update_id"]

    def received_id(self, update_id: int) -> int:
        """The message id of the message a pushed update carried."""
        for update in self._updates_log:
            if update["update_id"] == update_id:
                return (update.get("message") or update["edited_message"])["message_id"]
        raise KeyError(update_id)

    def text(self, user_id: int, text: str, *, chat_id: int | None = None, chat_type: str = "private",
             reply_to_bot: bool = False, thread_id: int | None = None, reply_to: int | None = None,
             is_bot: bool = False, sender_chat: dict[str, Any] | None = None, first_name: str = "商户") -> int:
        """`is_bot`: posted by a bot account; `sender_chat`: on behalf of a channel (a linked channel's
        post) or of the group itself (an anonymous administrator, whom Telegram shows as a bot)."""
        message = self._incoming(user_id, chat_id, chat_type, first_name)
        message["text"] = text
        if is_bot:
            message["from"]["is_bot"] = True
        if sender_chat is not None:
            message["sender_chat"] = sender_chat
            message["from"] = {"id": ANONYMOUS_ADMIN, "is_bot": True, "first_name": "Group",
                               "username": "GroupAnonymousBot"}
        if thread_id is not None:
            message.update(message_thread_id=thread_id, is_topic_message=True)
        if reply_to is not None:
            message["reply_to_message"] = self.sent[(message["chat"]["id"], reply_to)]
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to_bot:
            message["reply_to_message"] = self._message(message["chat"]["id"], 1, {"text": "earlier"})
        return self.push({"message": message})

    def edited(self, user_id: int, text: str, *, message_id: int | None = None, chat_id: int | None = None,
               chat_type: str = "private", thread_id: int | None = None) -> int:
        message = self._incoming(user_id, chat_id, chat_type)
        if thread_id is not None:
            message.update(message_thread_id=thread_id, is_topic_message=True)
        message.update(text=text, edit_date=int(time.time()))
        if message_id is not None:
            message["message_id"] = message_id
        return self.push({"edited_message": message})

    def media(self, user_id: int, kind: str, *, chat_id: int | None = None, chat_type: str = "private",
              thread_id: int | None = None, caption: str | None = None) -> int:
        message = self._incoming(user_id, chat_id, chat_type)
        if caption is not None:
            message["caption"] = caption
        if thread_id is not None:
            message.update(message_thread_id=thread_id, is_topic_message=True)
        payloads = {
            "photo": {"photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]},
            "voice": {"voice": {"file_id": "v1", "file_unique_id": "u2", "duration": 3}},
            "sticker": {"sticker": {"file_id": "s1", "file_unique_id": "u3", "type": "regular", "width": 512,
                                    "height": 512, "is_animated": False, "is_video": False}},
            "document": {"document": {"file_id": "d1", "file_unique_id": "u4", "file_name": "小票.pdf",
                                      "mime_type": "application/pdf"}},
            "location": {"location": {"latitude": 31.2, "longitude": 121.5}},
        }
        message.update(payloads[kind])
        return self.push({"message": message})

    def upload(self, user_id: int, file_name: str, data: bytes, *, caption: str | None = None,
               downloadable: bool = True) -> int:
        """A document sent to the bot in a private chat (an admin uploading a YAML file); with
        `downloadable=False` getFile works but the download itself fails (404)."""
        file_id = f"f{next(self._file_ids)}"
        if downloadable:
            self.files[file_id] = data
        message = self._incoming(user_id, None, "private")
        message["document"] = {"file_id": file_id, "file_unique_id": "u" + file_id, "file_name": file_name,
                               "file_size": len(data)}
        if caption:
            message["caption"] = caption
        return self.push({"message": message})

    def sent_message(self, chat_id: int, text: str, *, buttons: list[tuple[str, str]] = ()) -> int:  # type: ignore[assignment]
        """A message the bot sent earlier (say, before a restart or by an older release), with
        buttons (label, callback data) someone may still tap; returns its id."""
        markup = {"inline_keyboard": [[{"text": label, "callback_data": data}] for label, data in buttons]}
        message = self._message(chat_id, next(self._message_ids), {"text": text, "reply_markup": markup})
        self.sent[(chat_id, message["message_id"])] = message
        return message["message_id"]

    def tap(self, user_id: int, chat_id: int, message_id: int, data: str, *, first_name: str = "商户") -> int:
        message = self.sent[(chat_id, message_id)]
        query = {"id": f"cq{next(self._update_ids)}", "chat_instance": "ci", "data": data,
                 "from": {"id": user_id, "is_bot": False, "first_name": first_name}, "message": message}
        return self.push({"callback_query": query})

    def _incoming(self, user_id: int, chat_id: int | None, chat_type: str, first_name: str = "商户") -> dict[str, Any]:
        chat_id = chat_id if chat_id is not None else user_id
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = "商户群"
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                "from": {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "zh-hans"}}

    # ---- assertions ----------------------------------------------------------------------

    def fail(self, method: str, status: int, *, times: int = 1, retry_after: int | None = None,
             delay: float = 0.0) -> None:
        self.faults[method] = Fault(status, times, retry_after, delay)

    def of(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method
                and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Until `predicate()` is truthy (awaited first when it returns an awaitable, e.g. a store call)."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting; last calls: {[c.method for c in self.calls[-10:]]}")
            self._new_call.clear()
            try:
                await asyncio.wait_for(self._new_call.wait(), timeout=0.2)
            except asyncio.TimeoutError:
                pass

    async def replies(self, chat_id: int, count: int, *, methods=("sendMessage", "editMessageText"),
                      timeout: float = 10.0) -> list[Call]:
        """Wait until the bot has sent or edited `count` messages in a chat; return them all."""
        def done() -> list[Call] | None:
            found = [c for c in self.calls if c.method in methods and int(c.params.get("chat_id", 0)) == chat_id]
            return found if len(found) >= count else None
        return await self.wait_for(done, timeout)


def _queue_of(update: dict[str, Any]) -> Any:
    """The chat an update belongs to (Telegram keeps one delivery queue per chat)."""
    for kind in ("message", "edited_message"):
        if kind in update:
            return update[kind]["chat"]["id"]
    query = update.get("callback_query")
    if query is not None:
        return query["message"]["chat"]["id"] if query.get("message") else query["from"]["id"]
    return ("update", update["update_id"])


TELEGRAM_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
                           "tg-emoji", "code", "pre", "blockquote"})
MESSAGE_LIMIT = 4096


def _text_refusal(text: str, parse_mode: Any) -> str | None:
    """Telegram's checks on a message text: what it says when it refuses one, else None."""
    from html.parser import HTMLParser

    visible = text
    if parse_mode == "HTML":
        class Parser(HTMLParser):
            def __init__(self) -> None:
                super().__init__(convert_charrefs=True)
                self.open: list[str] = []
                self.text: list[str] = []
                self.error: str | None = None

            def handle_starttag(self, tag: str, attrs: Any) -> None:
                if tag not in TELEGRAM_TAGS:
                    self.error = self.error or f"unsupported start tag \"{tag}\""
                self.open.append(tag)

            def handle_endtag(self, tag: str) -> None:
                if not self.open or self.open[-1] != tag:
                    self.error = self.error or f"unmatched end tag \"{tag}\""
                else:
                    self.open.pop()

            def handle_data(self, data: str) -> None:
                self.text.append(data)

        parser = Parser()
        parser.feed(text)
        parser.close()
        if parser.error is None and parser.open:
            parser.error = f"can't find end tag corresponding to start tag \"{parser.open[-1]}\""
        if parser.error is not None:
            return f"Bad Request: can't parse entities: {parser.error}"
        visible = "".join(parser.text)
    if not visible.strip():
        return "Bad Request: message text is empty"
    if len(visible.encode("utf-16-le")) // 2 > MESSAGE_LIMIT:
        return "Bad Request: message is too long"
    return None


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def buttons(call: Call) -> list[tuple[str, str]]:
    """(label, callback data) of every button in a sent or edited message."""
    markup = call.params.get("reply_markup") or {}
    return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


def button(call: Call, label: str) -> str:
    matches = [data for text, data in buttons(call) if text == label]
    assert matches, f"no button {label!r} in {buttons(call)}"
    return matches[0]


def serve_webhook(port: int, questions: list[str], updates: int, users: int) -> None:
    """Like serve(), for a bot behind a webhook: the updates are queued when GET /_go is called
    (once every worker is listening) and delivered as Telegram does; /_stats?latency=1 reports how
    long each delivery took until the bot answered it."""
    async def main() -> None:
        api = FakeBotAPI()

        async def go(request: web.Request) -> web.Response:
            for n in range(updates):
                api.text(100_000 + n % users, questions[n % len(questions)])
            return web.json_response({"queued": updates})

        app = web.Application()
        app.router.add_post("/bot{token}/{method}", api._handle)
        app.router.add_get("/_stats", api._stats)
        app.router.add_get("/_go", go)
        api._runner = web.AppRunner(app)
        await api._runner.setup()
        await web.TCPSite(api._runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    asyncio.run(main())


def serve(port: int, questions: list[str], updates: int, users: int) -> None:
    """Run the fake server in this process with `updates` text messages from `users` merchants
    queued (for benchmarks/telegram.py); stops when the process is terminated."""
    async def main() -> None:
        api = FakeBotAPI()
        for n in range(updates):
            api.text(100_000 + n % users, questions[n % len(questions)])
        await api.start_on(port)
        await asyncio.Event().wait()

    asyncio.run(main())
