"""The Telegram layer's pure parts: rendering and splitting, settings, throttling."""

import html
import re

import pytest

from bot.core.reply import Option, Reply
from bot.coordination import LocalShared
from bot.telegram.render import MESSAGE_LIMIT, render, split, utf16_length
from bot.settings.run import ConfigError, load_settings

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


def visible_units(chunk: str) -> int:
    """What Telegram counts: the text once tags are parsed away and entities decoded, in UTF-16."""
    return utf16_length(html.unescape(re.sub(r"<[^>]+>", "", chunk)))


def balanced(chunk: str) -> bool:
    stack: list[str] = []
    for closing, name in re.findall(r"<(/?)([a-z-]+)[^>]*>", chunk):
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return not stack


def test_long_text_is_split_at_lines_within_the_limit() -> None:
    text = "\n".join("第%d行" % n + "好" * 100 for n in range(200))
    chunks = split(text)
    assert len(chunks) > 1 and all(visible_units(c) <= MESSAGE_LIMIT for c in chunks)
    assert "\n".join(chunks) == text


def test_a_single_huge_line_is_cut_outside_entities() -> None:
    line = "&amp;" * 5000
    chunks = split(line)
    assert [visible_units(c) for c in chunks] == [4096, 904]  # &amp; is one character to Telegram
    assert "".join(chunks) == line


def test_emoji_count_two_as_telegram_counts_them() -> None:
    text = "🙏" * 3000  # 3,000 characters, 6,000 UTF-16 code units
    chunks = split(text)
    assert [visible_units(c) for c in chunks] == [4096, 1904]
    assert "".join(chunks) == text


def test_tags_open_at_a_cut_are_closed_and_reopened() -> None:
    body = "\n".join(f"- 第{n}行 &lt;旧&gt; 😀" + "改" * 80 for n in range(120))
    html_text = f"<b>修改 intents/x.yaml</b>\n<blockquote>{body}</blockquote>"
    chunks = split(html_text)
    assert len(chunks) >= 3
    assert all(balanced(c) and visible_units(c) <= MESSAGE_LIMIT for c in chunks)
    assert all(c.startswith("<blockquote>") and c.endswith("</blockquote>") for c in chunks[1:])
    rejoined = "\n".join(re.sub(r"</?blockquote>", "", c) for c in chunks)
    assert rejoined == re.sub(r"</?blockquote>", "", html_text)  # nothing lost, nothing doubled


def test_a_long_line_inside_a_tag_is_cut_hard_and_stays_balanced() -> None:
    chunks = split('<a href="https://example.com/x">' + "链" * 5000 + "</a> 后面")
    assert len(chunks) == 2 and all(balanced(c) for c in chunks)
    assert chunks[1].startswith('<a href="https://example.com/x">') and chunks[1].endswith("</a> 后面")


def test_the_keyboard_goes_with_the_last_chunk_of_a_long_reply() -> None:
    rendered = render(Reply(kind="script", title="修改", text="\n".join("行" * 200 for _ in range(60)),
                            options=(Option("确认应用", "upok:1"),)))
    assert len(rendered.chunks) >= 3 and all(balanced(c) for c in rendered.chunks)
    assert rendered.keyboard is not None


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
