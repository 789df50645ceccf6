"""posbot run --workers N refusing what cannot work, and giving up on workers that keep dying."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest


def test_workers_need_a_webhook_and_redis(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import main
    from tests.telegram.fake_api import TOKEN

    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    assert main(["run", "--workers", "2"]) == 2
    assert "--workers needs --webhook" in capsys.readouterr().err
    assert main(["run", "--webhook", "https://example.com/hook", "--workers", "2"]) == 2
    assert "--workers needs REDIS_URL" in capsys.readouterr().err


def test_the_supervisor_gives_up_when_workers_keep_dying(tmp_path: Path, redis_server: Any) -> None:
    """Workers that die at start (here: content that does not load) are restarted, then given up
    on, with a non-zero exit, instead of being restarted forever."""
    import os
    import subprocess
    import sys

    from tests.telegram.cluster import ROOT, free_port
    from tests.telegram.fake_api import TOKEN

    broken = tmp_path / "content"
    (broken / "intents").mkdir(parents=True)
    (broken / "intents" / "lexicon.yaml").write_text("words: [unclosed\n", encoding="utf-8")
    env = dict(os.environ, BOT_TOKEN=TOKEN, REDIS_URL=redis_server.url, WEBHOOK_PORT=str(free_port()),
               DATA_DIR=str(tmp_path / "data"), TELEGRAM_API_BASE="http://127.0.0.1:9")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bot", "--content", str(broken), "run", "--webhook",
                           "http://127.0.0.1:9/hook", "--workers", "2"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "giving up" in done.stderr and done.stderr.count("restarting it") >= 2
    assert time.monotonic() - started < 30
