"""Several workers behind one webhook, on real PostgreSQL and Redis servers, against the fake Bot API.

For 1, 2 and 4 workers (`posbot run --webhook URL --workers N`, the command operators run), the fake
Bot API server (its own process) delivers N text questions from U merchants the way Telegram does
(one update per chat in flight, up to 40 connections); we time until every answer is sent, measure
how long each delivery took until the bot answered it (what a merchant waits, minus Telegram's own
latency), and how much CPU the workers used (updates per CPU-second of the workers predict
throughput per core). Then ticket writes per second through the ticket store, on SQLite and on
PostgreSQL. PostgreSQL and Redis are started from the machine's binaries, as the tests do.

    python benchmarks/workers.py [--updates 2000 --users 200] [--workers 1 2 4] [--tickets 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.engine import Engine  # noqa: E402
from bot.core.evaluate import load_cases  # noqa: E402
from bot.handoff.models import CaseContext, Merchant, Status  # noqa: E402
from bot.handoff.sql_store import SQLTicketStore  # noqa: E402
from bot.storage.db import Database, SQLiteDatabase  # noqa: E402
from bot.storage.postgres import PostgresDatabase  # noqa: E402
from tests.servers import free_port, start_postgres, start_redis  # noqa: E402
from tests.telegram.fake_api import TOKEN, serve_webhook  # noqa: E402


def stats(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats?latency=1", timeout=10) as response:
        return json.load(response)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def run_workers(workers: int, updates: int, users: int, questions: list[str], postgres, redis,
                scratch: Path) -> dict[str, float]:
    fake_port, hook_port = free_port(), free_port()
    fake = multiprocessing.get_context("spawn").Process(target=serve_webhook,
                                                        args=(fake_port, questions, updates, users), daemon=True)
    fake.start()
    wait_until(lambda: _up(fake_port), 20, "the fake Bot API")
    redis.flush()
    database = postgres.database_url(postgres.create_database())
    log_path = scratch / f"workers-{workers}.log"
    env = dict(os.environ, BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=f"http://127.0.0.1:{fake_port}",
               DATABASE_URL=database, REDIS_URL=redis.url, WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=str(hook_port),
               WEBHOOK_SECRET="bench-secret-0123456789", DATA_DIR=str(scratch / f"data-{workers}"),
               THROTTLE_RATE="1000", THROTTLE_BURST="1000", LOG_LEVEL="INFO")
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--webhook",
                                    f"http://127.0.0.1:{hook_port}/hook", "--workers", str(workers)],
                                   env=env, stdout=log, stderr=log, cwd=ROOT)
    try:
        wait_until(lambda: log_path.read_text().count("webhook listening") >= workers, 90, "the workers")
        pids = ([int(p) for p in re.findall(r"worker \d+ started \(pid (\d+)\)", log_path.read_text())]
                if workers > 1 else [process.pid])
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        start = time.perf_counter()
        urllib.request.urlopen(f"http://127.0.0.1:{fake_port}/_go", timeout=10).close()
        wait_until(lambda: stats(fake_port).get("sendMessage", 0) >= updates, 600, "the answers")
        elapsed = time.perf_counter() - start
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        seconds = sorted(stats(fake_port)["delivery_seconds"])
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        fake.terminate()
        fake.join()
    return {"rate": updates / elapsed, "per_cpu": updates / cpu, "median": statistics.median(seconds) * 1000,
            "p99": seconds[int(len(seconds) * 0.99) - 1] * 1000}


def _up(port: int) -> bool:
    try:
        stats(port)
        return True
    except OSError:
        return False


async def ticket_writes(db: Database, tickets: int, concurrency: int = 16) -> float:
    """Each ticket: open, a transcript line, a relay written down and delivered, closed — 5 writes."""
    store = await SQLTicketStore.open(db)
    queue = list(range(tickets))

    async def writer() -> None:
        while queue:
            n = queue.pop()
            ticket, _ = await store.open_ticket(Merchant(n, n, f"m{n}"), CaseContext(trigger="button"))
            await store.add_transcript(ticket.id, "merchant", "机器还是报51")
            item = await store.enqueue(ticket.id, "to_support", n, 1, text="机器还是报51")
            await store.delivered_relay(item, ticket.id, "merchant", "机器还是报51", None, (n, 1), (-100, n))
            await store.set_status(ticket.id, Status.CLOSED)

    start = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    await db.close()
    return tickets * 5 / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--tickets", type=int, default=500)
    args = parser.parse_args()
    engine = Engine.load()
    questions = [c.question for c in load_cases(ROOT / "tests" / "eval" / "questions.yaml", engine.content)]
    questions = [q for q in questions if q.strip()]
    with tempfile.TemporaryDirectory(prefix="posbot-bench-") as scratch:
        root = Path(scratch)
        postgres, redis = start_postgres(root), start_redis(root / "redis")
        try:
            print(f"{os.cpu_count()} cores; {args.updates} updates from {args.users} merchants; PostgreSQL + Redis")
            print("| workers | updates/s | updates per worker CPU-second | delivery median | delivery p99 |")
            print("|---|---|---|---|---|")
            for workers in args.workers:
                result = run_workers(workers, args.updates, args.users, questions, postgres, redis, root)
                print(f"| {workers} | {result['rate']:.0f} | {result['per_cpu']:.0f} | {result['median']:.0f} ms "
                      f"| {result['p99']:.0f} ms |", flush=True)
            sqlite = asyncio.run(ticket_writes(SQLiteDatabase(root / "tickets.sqlite3"), args.tickets))
            url = postgres.database_url(postgres.create_database())
            pg = asyncio.run(_pg_writes(url, args.tickets))
            print(f"\nticket store writes/s (16 concurrent writers, {args.tickets} tickets × 5 writes): "
                  f"SQLite {sqlite:.0f}, PostgreSQL {pg:.0f}")
        finally:
            postgres.close()
            redis.close()


async def _pg_writes(url: str, tickets: int) -> float:
    return await ticket_writes(await PostgresDatabase.connect(url), tickets)


if __name__ == "__main__":
    main()
