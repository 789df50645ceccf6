"""Start-up: wall time from process start to the first answer, as an admin or the bot sees it.

Runs `python -m bot match "pos机显示03" --json` in a fresh process several times (jieba's parsed
dictionary cached, as on any machine after the first start) and once with an empty cache.

    python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "bot", "match", "pos机显示03", "--json"]


def run_once(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(COMMAND, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ)
    run_once(env)  # make sure the shared cache exists
    warm = [run_once(env) for _ in range(args.runs)]
    with tempfile.TemporaryDirectory() as empty:
        cold = run_once({**env, "POSBOT_CACHE_DIR": empty})
    print("| start-up to first answer | seconds |")
    print("|---|---|")
    print(f"| median of {args.runs}, cache warm | {statistics.median(warm):.3f} |")
    print(f"| slowest of {args.runs}, cache warm | {max(warm):.3f} |")
    print(f"| first ever start (empty cache) | {cold:.3f} |")


if __name__ == "__main__":
    main()
