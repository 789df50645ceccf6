"""The Telegram bot's throughput and memory, against the fake Bot API server over real HTTP.

One bot process (this one, pinned to one core) polls a fake server running in another process
(pinned to the other core) that has N text questions from U merchants queued; we time how long the
bot takes to send all N answers, then read its resident memory.

    python benchmarks/telegram.py [--updates 2000 --users 200] [--memory-updates 10000 --memory-users 1000]
    python benchmarks/telegram.py --compare   # the lean aiogram import (bot/telegram/lean.py) vs stock, one run

`--eager-aiogram` imports aiogram the stock way first (every model built at import), for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import time
import subprocess
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if "--eager-aiogram" in sys.argv:
    import aiogram.types  # noqa: F401  (before bot.telegram: its lean import then leaves aiogram as it is)

from bot.core.dialog import Dialog  # noqa: E402
from bot.core.engine import Engine  # noqa: E402
from bot.core.evaluate import load_cases  # noqa: E402
from bot.telegram.app import Stores, create_bot, create_dispatcher, poll  # noqa: E402
from bot.settings.run import Settings  # noqa: E402
from tests.telegram.fake_api import TOKEN, serve  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server(port: int, questions: list[str], updates: int, users: int) -> None:
    """The fake Bot API in its own process, on the other core."""
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    serve(port, questions, updates, users)


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def sent(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=5) as response:
        return json.load(response).get("sendMessage", 0)


async def run(engine: Engine, updates: int, users: int, questions: list[str]) -> tuple[float, float, float]:
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(target=server, args=(port, questions, updates, users),
                                                           daemon=True)
    process.start()
    try:
        for _ in range(100):
            try:
                sent(port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        with tempfile.TemporaryDirectory() as data:
            settings = Settings(bot_token=TOKEN, telegram_api_base=f"http://127.0.0.1:{port}", data_dir=Path(data),
                                throttle_rate=1000.0, throttle_burst=1000, _env_file=None)  # type: ignore[arg-type]
            stores = await Stores.open(settings)
            bot = create_bot(settings, stores)
            dispatcher = create_dispatcher(settings, stores, Dialog(engine))
            before = rss_mib()
            start = time.perf_counter()
            polling = asyncio.create_task(poll(dispatcher, bot, settings, handle_signals=False, polling_timeout=1))
            while await asyncio.to_thread(sent, port) < updates:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
            after = rss_mib()
            await dispatcher.stop_polling()
            await polling
            await stores.close()
        return updates / elapsed, before, after
    finally:
        process.terminate()
        process.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--memory-updates", type=int, default=10_000)
    parser.add_argument("--memory-users", type=int, default=1000)
    parser.add_argument("--eager-aiogram", action="store_true", help="aiogram's models all built at import")
    parser.add_argument("--compare", action="store_true", help="run lean and eager one after the other")
    parser.add_argument("--no-header", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compare:
        print("| aiogram import | run | updates | merchants | updates/s | RSS before | RSS after |")
        print("|---|---|---|---|---|---|---|")
        passed = [a for a in sys.argv[1:] if a != "--compare"]
        for label, extra in (("lean", []), ("stock (eager)", ["--eager-aiogram"])):
            done = subprocess.run([sys.executable, __file__, *passed, *extra, "--no-header"], check=True,
                                  capture_output=True, text=True)
            for row in done.stdout.splitlines():
                print(f"| {label} {row}")
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    engine = Engine.load()
    questions = [c.question for c in load_cases(ROOT / "tests" / "eval" / "questions.yaml", engine.content)]
    questions = [q for q in questions if q.strip()]
    rate, _, _ = asyncio.run(run(engine, args.updates, args.users, questions))
    if not args.no_header:
        print("| run | updates | merchants | updates/s | RSS before | RSS after |")
        print("|---|---|---|---|---|---|")
    print(f"| throughput | {args.updates} | {args.users} | {rate:.0f} | | |")
    rate, before, after = asyncio.run(run(engine, args.memory_updates, args.memory_users, questions))
    print(f"| memory | {args.memory_updates} | {args.memory_users} | {rate:.0f} | {before:.0f} MiB | {after:.0f} MiB |")


if __name__ == "__main__":
    main()
