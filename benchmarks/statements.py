"""SQL statements one merchant question costs, counted on the real SQLite file.

The real Dispatcher polls the fake Bot API (tests/telegram/fake_api.py) with records in a SQLite file
under a temporary DATA_DIR; every connection posbot opens gets sqlite3's trace callback, so each
statement SQLite runs is counted (BEGIN/COMMIT included, the migrations at start-up not). A merchant
asks a few warm-up questions, then each measured question is counted from the update until its answer
has been sent and the handler is done.

"Before" runs the same measurement on another commit's tree (default: 63fc2c9, the last commit before
the turn service), exported to a temporary directory, so both columns come from one run:

    python benchmarks/statements.py [--before COMMIT] [--support]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ("pos机显示51", "签到失败", "小票打印出来是白的", "A0")
MERCHANT = 7001
SUPPORT = -100777


def measure(support: bool) -> dict[str, object]:
    """Run in the tree given by sys.path[0]: statements per question, and the statements themselves."""
    seen: list[str] = []
    counting = threading.Event()
    lock = threading.Lock()
    connect = sqlite3.connect

    def traced(*args, **kwargs):  # type: ignore[no-untyped-def]
        connection = connect(*args, **kwargs)

        def trace(sql: str) -> None:
            if counting.is_set():
                with lock:
                    seen.append(" ".join(sql.split()))
        connection.set_trace_callback(trace)
        return connection

    sqlite3.connect = traced  # type: ignore[assignment]
    return asyncio.run(_measure(support, seen, counting))


async def _measure(support: bool, seen: list[str], counting: threading.Event) -> dict[str, object]:
    from bot.core.dialog import Dialog
    from bot.core.engine import Engine
    from bot.settings.run import Settings
    from bot.telegram.app import Stores, create_bot, create_dispatcher, poll
    from tests.telegram.fake_api import TOKEN, FakeBotAPI

    api = FakeBotAPI()
    api.admins[SUPPORT] = {8101}
    api.forums.add(SUPPORT)
    await api.start()
    with tempfile.TemporaryDirectory() as data_dir:
        extra = {"support_chat_id": SUPPORT} if support else {}
        settings = Settings(bot_token=TOKEN, telegram_api_base=api.base, data_dir=Path(data_dir), _env_file=None,
                            **extra)  # type: ignore[arg-type]
        stores = await Stores.open(settings)
        bot = create_bot(settings, stores)
        engine = Engine.load(ROOT)
        dispatcher = create_dispatcher(settings, stores, Dialog(engine))
        task = asyncio.create_task(poll(dispatcher, bot, settings, handle_signals=False, polling_timeout=1))
        await api.wait_for(lambda: api.of("setMyCommands"))
        counts: list[int] = []
        statements: list[str] = []
        for n, question in enumerate(QUESTIONS * 2):
            before = len(api.of("sendMessage", MERCHANT))
            measured = n >= len(QUESTIONS)  # the first round warms up (the chat's row exists afterwards)
            seen.clear()
            if measured:
                counting.set()
            api.text(MERCHANT, question)
            await api.wait_for(lambda before=before: len(api.of("sendMessage", MERCHANT)) > before)
            await asyncio.sleep(0.3)  # whatever the handler still writes after sending
            counting.clear()
            if measured:
                counts.append(len(seen))
                statements = statements or list(seen)
        await dispatcher.stop_polling()
        await asyncio.wait_for(task, timeout=10)
        await bot.session.close()
        await stores.close()
    await api.stop()
    return {"per_question": counts, "example": statements}




def run_in(tree: Path, support: bool) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    output = subprocess.run([sys.executable, str(tree / "benchmarks" / "statements.py"), "--measure",
                             *(["--support"] if support else [])],
                            cwd=tree, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


LAST_RELEASE = "63fc2c9"
"""The last commit before one turn service decided every turn (the layout of this release, the stores
of the last one: 8 statements a question with a support group)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default=LAST_RELEASE, help=f"the commit to compare with (default: {LAST_RELEASE})")
    parser.add_argument("--support", action="store_true", help="with a support group (SUPPORT_CHAT_ID) set")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.support), ensure_ascii=False))
        return 0
    before = args.before
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(["git", "archive", before], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        # the measuring code is this file's, run against the old tree's bot/ and content
        (Path(old) / "benchmarks").mkdir(exist_ok=True)
        (Path(old) / "benchmarks" / "statements.py").write_text(Path(__file__).read_text(encoding="utf-8"),
                                                                encoding="utf-8")
        results = {"before": run_in(Path(old), args.support), "after": run_in(ROOT, args.support)}
    print(f"SQL statements per merchant question ({'with' if args.support else 'without'} a support group)")
    print(f"{'before ' + before[:7]:>15}{'after':>7}  question")
    for n, question in enumerate(QUESTIONS):
        print(f"{results['before']['per_question'][n]:>15}{results['after']['per_question'][n]:>7}  {question}")
    for side in ("before", "after"):
        print(f"\n{side}, one question:")
        for statement in results[side]["example"]:
            print(f"  {statement[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
