"""Match latency per question on one core: median and p99, with the shipped content and with the
content grown 10x by synthetic intents (to show how the cost grows).

    python benchmarks/latency.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.engine import Engine  # noqa: E402
from bot.core.evaluate import load_cases  # noqa: E402
from bot.core.loader import Content, load_content  # noqa: E402
from bot.core.models import SymptomIntent  # noqa: E402

EVAL_SET = ROOT / "tests" / "eval" / "questions.yaml"


def grown(content: Content, factor: int, seed: int = 7) -> Content:
    """The content plus (factor - 1) x as many synthetic symptom intents, whose examples are real
    examples with characters shuffled and swapped, so they cost what real phrases cost."""
    rng = random.Random(seed)
    pool = [e for i in content.intents for e in i.examples]
    chars = sorted({c for e in pool for c in e})
    extra = []
    for n in range(len(content.intents) * (factor - 1)):
        examples = []
        for _ in range(rng.randint(5, 15)):
            text = list(rng.choice(pool))
            rng.shuffle(text)
            for _ in range(len(text) // 3):
                text[rng.randrange(len(text))] = rng.choice(chars)
            examples.append("".join(text))
        extra.append(SymptomIntent(id=f"synthetic_{n}", title=f"合成{n}", answer="合成", now="合成", steps=("合成",),
                                   examples=tuple(examples)))
    return Content(root=content.root, intents=content.intents + tuple(extra), lexicon=content.lexicon,
                   version=content.version + f"x{factor}")


def measure(engine: Engine, questions: list[str], rounds: int) -> dict[str, tuple[float, float, float]]:
    """(median, p99, max) in ms of wall time and of this thread's CPU time per question. On a shared
    machine the wall clock also counts other processes' time slices: a question that took 1 ms of CPU can
    measure 7 ms when two neighbours run their tests. CPU time is what the matcher costs."""
    for question in questions:  # warm caches (pinyin, jieba) the way a running bot has them
        engine.understand(question)
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(rounds):
        for question in questions:
            start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
            engine.understand(question)
            cpu.append((time.thread_time_ns() - start_cpu) / 1e6)
            wall.append((time.perf_counter_ns() - start) / 1e6)
    return {"wall": _stats(wall), "cpu": _stats(cpu)}


def _stats(samples: list[float]) -> tuple[float, float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1], samples[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    content = load_content()
    questions = [case.question for case in load_cases(EVAL_SET, content)]
    print(f"{len(questions)} questions x {args.rounds} rounds, one core\n")
    print("| content | intents | phrases | clock | median ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|")
    for factor in (1, 10):
        engine = Engine(content if factor == 1 else grown(content, factor))
        for clock, (median, p99, worst) in measure(engine, questions, args.rounds).items():
            print(f"| {'shipped' if factor == 1 else f'{factor}x synthetic'} | {len(engine.content.intents)} "
                  f"| {engine.matcher.phrase_count} | {clock} | {median:.3f} | {p99:.3f} | {worst:.3f} |")


if __name__ == "__main__":
    main()
