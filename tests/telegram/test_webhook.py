"""Webhook mode: aiogram's aiohttp integration behind our app factory, secret token enforced."""

from __future__ import annotations

import time
from pathlib import Path

from aiohttp import ClientSession, web

from bot.core.dialog import Dialog
from bot.core.engine import Engine
from bot.telegram.app import Stores, create_bot, create_dispatcher, create_webhook_app
from bot.settings.run import Settings
from tests.telegram.fake_api import TOKEN, FakeBotAPI

SECRET = "s3cret-token_for-tests"


async def test_webhook_checks_the_secret_and_answers(api: FakeBotAPI, tmp_path: Path, engine: Engine) -> None:
    settings = Settings(bot_token=TOKEN, telegram_api_base=api.base, data_dir=tmp_path, _env_file=None)  # type: ignore[arg-type]
    stores = await Stores.open(settings)
    bot = create_bot(settings, stores)
    dispatcher = create_dispatcher(settings, stores, Dialog(engine))
    app = create_webhook_app(dispatcher, bot, url="https://bot.example.com/tg/hook", secret=SECRET)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        [hook] = await api.wait_for(lambda: api.of("setWebhook"))
        assert hook.params["url"] == "https://bot.example.com/tg/hook"
        assert hook.params["secret_token"] == SECRET
        update = {"update_id": 1, "message": {"message_id": 5, "date": int(time.time()), "text": "显示51",
                                              "chat": {"id": 7001, "type": "private"},
                                              "from": {"id": 7001, "is_bot": False, "first_name": "商户"}}}
        async with ClientSession() as http:
            url = f"http://127.0.0.1:{port}/tg/hook"
            refused = await http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
            assert refused.status == 401
            accepted = await http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert accepted.status == 200
        [reply] = await api.replies(7001, 1)
        assert "应答码 51" in reply.params["text"]
    finally:
        await runner.cleanup()
        await bot.session.close()
        await stores.close()
