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
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0
"""Seconds before a dead worker is started again."""
CRASH_LOOP = (5, 30.0)
"""Give up when workers die this many times within this many seconds: a setting is wrong, not luck."""
STOP_GRACE = 30.0
"""Seconds workers get to finish their updates on shutdown before they are killed."""


READY_FD = "POSBOT_READY_FD"
"""A worker started by the supervisor writes one byte to this inherited pipe once it is listening."""
READY_WAIT = 120.0
"""Seconds a new worker gets to load its content and listen, during a rolling restart."""


def tell_ready() -> None:
    """Called by a worker once it listens: the supervisor's rolling restart moves on to the next one."""
    fd = os.environ.pop(READY_FD, None)
    if fd is not None:
        try:
            os.write(int(fd), b"1")
            os.close(int(fd))
        except OSError:  # started by hand with the variable set, or the supervisor is gone
            pass


class _Worker:
    def __init__(self, index: int, command: Sequence[str], env: dict[str, str]) -> None:
        self.index = index
        read, write = os.pipe()
        self.process = subprocess.Popen(command, env=dict(env, **{READY_FD: str(write)}), pass_fds=(write,))
        os.close(write)
        self._ready = read
        log.info("worker %d started (pid %d)", index, self.process.pid)

    def wait_ready(self, timeout: float) -> bool:
        """True once the worker listens; False if it died first or took longer than `timeout`."""
        readable, _, _ = select.select([self._ready], [], [], timeout)
        return bool(readable) and os.read(self._ready, 1) == b"1"

    def close(self) -> None:
        os.close(self._ready)


def supervise(worker_args: Sequence[str], workers: int, *, secret: str | None = None) -> int:
    """Run `workers` copies of `python -m bot <worker_args> --worker`; the first also sets the webhook.
    All share one webhook secret (a fresh one when none is configured).

    SIGTERM or SIGINT: every worker finishes the updates in hand and stops. SIGHUP: a rolling restart
    (after an upgrade, say): one worker at a time, a new one is started and listening before the old
    one is asked to stop, so the port never goes unanswered.
    """
    env = dict(os.environ, WEBHOOK_SECRET=secret or os.environ.get("WEBHOOK_SECRET") or secrets.token_urlsafe(32))
    stopping, rolling = False, False

    def stop(signal_number: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    def roll(signal_number: int, _frame: object) -> None:
        nonlocal rolling
        rolling = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, roll)

    def start(index: int, *, first_start: bool) -> _Worker:
        extra = ["--worker"] + (["--set-webhook"] if index == 0 and first_start else [])
        return _Worker(index, [sys.executable, "-m", "bot", *worker_args, *extra], env)

    running = [start(index, first_start=True) for index in range(workers)]
    deaths: list[float] = []
    while not stopping:
        time.sleep(0.2)
        if rolling:
            rolling = False
            _roll(running, start)
            continue
        for index, worker in enumerate(running):
            code = worker.process.poll()
            if code is None or stopping:
                continue
            now = time.monotonic()
            deaths = [t for t in deaths if now - t < CRASH_LOOP[1]] + [now]
            if len(deaths) >= CRASH_LOOP[0]:
                log.error("workers died %d times in %.0f s; giving up (last exit code %s)", len(deaths),
                          CRASH_LOOP[1], code)
                _stop_all(running)
                return 1
            log.warning("worker %d (pid %d) exited with %s; restarting it", index, worker.process.pid, code)
            worker.close()
            time.sleep(RESTART_DELAY)
            running[index] = start(index, first_start=False)
    _stop_all(running)
    return 0


def _roll(running: list[_Worker], start: Callable[..., _Worker]) -> None:
    """Replace each worker by a fresh one, the new one listening before the old one stops. A new
    worker that does not come up (broken code or content after an upgrade) stops the roll: the old
    workers keep serving, and the error is logged."""
    log.info("rolling restart of %d workers", len(running))
    for index, old in enumerate(running):
        new = start(index, first_start=False)
        if not new.wait_ready(READY_WAIT):
            log.error("rolling restart stopped: the new worker %d did not start listening; the old ones keep "
                      "serving", index)
            _stop_all([new])
            return
        _stop_all([old])
        running[index] = new
    log.info("rolling restart done")


def _stop_all(workers: Sequence[_Worker]) -> None:
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for worker in workers:
        try:
            worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("worker pid %d did not stop in time; killing it", worker.process.pid)
            worker.process.kill()
            worker.process.wait()
        worker.close()
