"""`posbot run --webhook URL --workers N`: N worker processes behind one port, kept running.

Each worker is a plain `posbot run --webhook URL --worker` process binding the same port with
SO_REUSEPORT, so the kernel spreads Telegram's connections over them; they share their state through
REDIS_URL and their records through DATABASE_URL (or one SQLite file on this host). The supervisor
holds no state: it starts the workers, restarts one that dies, and on SIGTERM/SIGINT asks them all to
finish the updates in hand and stop. Running N such processes under systemd, docker compose or a
reverse proxy instead works the same way (see README, "Running several workers").
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0
"""Seconds before a dead worker is started again."""
CRASH_LOOP = (5, 30.0)
"""Give up when workers die this many times within this many seconds: a setting is wrong, not luck."""
STOP_GRACE = 30.0
"""Seconds workers get to finish their updates on shutdown before they are killed."""


def supervise(worker_args: Sequence[str], workers: int, *, secret: str | None = None) -> int:
    """Run `workers` copies of `python -m bot <worker_args> --worker`; the first also sets the webhook.
    All share one webhook secret (a fresh one when none is configured)."""
    env = dict(os.environ, WEBHOOK_SECRET=secret or os.environ.get("WEBHOOK_SECRET") or secrets.token_urlsafe(32))
    stopping = False

    def stop(signal_number: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start(index: int, *, first_start: bool) -> subprocess.Popen[bytes]:
        extra = ["--worker"] + (["--set-webhook"] if index == 0 and first_start else [])
        process = subprocess.Popen([sys.executable, "-m", "bot", *worker_args, *extra], env=env)
        log.info("worker %d started (pid %d)", index, process.pid)
        return process

    processes = [start(index, first_start=True) for index in range(workers)]
    deaths: list[float] = []
    while not stopping:
        time.sleep(0.2)
        for index, process in enumerate(processes):
            code = process.poll()
            if code is None or stopping:
                continue
            now = time.monotonic()
            deaths = [t for t in deaths if now - t < CRASH_LOOP[1]] + [now]
            if len(deaths) >= CRASH_LOOP[0]:
                log.error("workers died %d times in %.0f s; giving up (last exit code %s)", len(deaths),
                          CRASH_LOOP[1], code)
                _stop_all(processes)
                return 1
            log.warning("worker %d (pid %d) exited with %s; restarting it", index, process.pid, code)
            time.sleep(RESTART_DELAY)
            processes[index] = start(index, first_start=False)
    _stop_all(processes)
    return 0


def _stop_all(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("worker pid %d did not stop in time; killing it", process.pid)
            process.kill()
            process.wait()
