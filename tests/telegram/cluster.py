"""Several real worker processes (`posbot run --webhook URL --workers N`) against the fake Bot API.

The supervisor and its workers are the installed command line, unmodified; they share a port on
127.0.0.1, Redis and PostgreSQL from the test fixtures, and log to a file the tests read (each line
carries the process id, so the tests can tell workers apart).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.telegram.fake_api import TOKEN, FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
SECRET = "cluster-secret-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    def __init__(self, api: FakeBotAPI, tmp_path: Path, *, workers: int, redis_url: str, database_url: str,
                 **settings: str) -> None:
        self.api = api
        self.workers = workers
        self.content = tmp_path / "content"
        shutil.copytree(ROOT / "intents", self.content / "intents")
        shutil.copytree(ROOT / "knowledge", self.content / "knowledge")
        self.log_path = tmp_path / "cluster.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(("BOT_", "DATABASE_", "REDIS_"))}
        self.env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=api.base, REDIS_URL=redis_url, DATABASE_URL=database_url,
                        WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(self.port), WEBHOOK_SECRET=SECRET,
                        DATA_DIR=str(tmp_path / "data"), LOG_LEVEL="INFO", REQUEST_TIMEOUT="3", **settings)
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--content", str(self.content), "run", "--webhook", self.url,
             "--workers", str(self.workers)], env=self.env, stdout=log, stderr=log, cwd=ROOT)
        log.close()
        await self.wait_log(r"webhook listening", self.workers, timeout=60)
        await self.api.wait_for(lambda: self.api.webhook is not None)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def wait_log(self, pattern: str, count: int = 1, timeout: float = 30, since: int = 0) -> list[str]:
        """Until `count` log lines written after position `since` match; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.log()[since:].splitlines() if re.search(pattern, line)]
            if len(lines) >= count:
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"waited for {count}× {pattern!r}; log:\n{self.log()[-4000:]}")
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the supervisor exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            await asyncio.sleep(0.1)

    def worker_pids(self) -> list[int]:
        """Workers alive now, as the supervisor logged them."""
        pids = [int(pid) for pid in re.findall(r"worker \d+ started \(pid (\d+)\)", self.log())]
        return [pid for pid in pids if _alive(pid)]

    def kill_worker(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    async def stop(self) -> int:
        """SIGTERM to the supervisor, which stops its workers gracefully; its exit code."""
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(self.process.wait, 40)
        self.process = None
        return code


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie is dead, just not reaped yet
    except (FileNotFoundError, IndexError):
        return False
