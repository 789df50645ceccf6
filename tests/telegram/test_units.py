"""The Telegram layer's pure parts: rendering, settings, throttling."""

import pytest

from bot.core.reply import Option, Reply
from bot.storage.shared import LocalShared
from bot.telegram.render import MESSAGE_LIMIT, render, split
from bot.telegram.settings import ConfigError, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOP"


def test_user_and_content_text_is_escaped() -> None:
    rendered = render(Reply(kind="answer", title="<b>标题</b>", text="a < b & c > d\n<script>"))
    assert rendered.chunks == ("<b>&lt;b&gt;标题&lt;/b&gt;</b>\na &lt; b &amp; c &gt; d\n&lt;script&gt;",)


def test_scripts_render_as_a_quote() -> None:
    rendered = render(Reply(kind="script", title="对顾客这样说", text="第一句\n第二句"))
    assert rendered.chunks[0].endswith("<blockquote>第一句\n第二句</blockquote>")


def test_keyboard_puts_choices_in_rows_and_navigation_together() -> None:
    options = (Option("是白纸", "c:f:s:0"), Option("不出纸", "c:f:s:1"), Option("上一步", "b:f:s"),
               Option("重新开始", "r:f"), Option("转人工", "h"))
    rows = render(Reply(kind="step", title="t", text="x", options=options)).keyboard.inline_keyboard
    assert [[b.text for b in row] for row in rows] == [["是白纸"], ["不出纸"], ["上一步", "重新开始", "转人工"]]
    assert render(Reply(kind="info", title="", text="x")).keyboard is None


def test_long_text_is_split_at_lines_within_the_limit() -> None:
    text = "\n".join("第%d行" % n + "好" * 100 for n in range(200))
    chunks = split(text)
    assert len(chunks) > 1 and all(len(c) <= MESSAGE_LIMIT for c in chunks)
    assert "\n".join(chunks) == text


def test_a_single_huge_line_is_cut_outside_entities() -> None:
    line = "&amp;" * 2000
    chunks = split(line)
    assert all(len(c) <= MESSAGE_LIMIT for c in chunks)
    assert "".join(chunks) == line
    assert all(chunk.endswith(";") for chunk in chunks)


def test_settings_errors_are_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="^BOT_TOKEN is not set"):
        load_settings(_env_file=None)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("ADMIN_IDS", "1, 2;3")
    monkeypatch.setenv("SUPPORT_CHAT_ID", "-100123")
    settings = load_settings(_env_file=None)
    assert settings.admin_ids == (1, 2, 3) and settings.support_chat_id == -100123
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    monkeypatch.setenv("WEBHOOK_PORT", "eighty")
    with pytest.raises(ConfigError, match="^WEBHOOK_PORT is invalid") as caught:
        load_settings(_env_file=None)
    assert "\n" not in str(caught.value) and TOKEN not in str(caught.value)


def test_settings_from_a_dotenv_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    env = tmp_path / ".env"
    env.write_text(f"BOT_TOKEN={TOKEN}\nDATA_DIR={tmp_path / 'd'}\n", encoding="utf-8")
    settings = load_settings(_env_file=env)
    assert settings.bot_token.get_secret_value() == TOKEN
    assert settings.sqlite_path == tmp_path / "d" / "posbot.sqlite3"


async def test_throttling_allows_a_burst_then_the_rate() -> None:
    shared = LocalShared()

    async def allow(key: str, now: float) -> tuple[bool, bool]:
        return await shared.allow(key, rate=1.0, burst=3, now=now)

    assert [await allow("1", 0.0) for _ in range(4)] == [(True, False)] * 3 + [(False, True)]
    assert await allow("1", 0.1) == (False, False)  # told once per episode
    assert await allow("2", 0.1) == (True, False)  # others are not affected
    assert (await allow("1", 1.2))[0] is True
