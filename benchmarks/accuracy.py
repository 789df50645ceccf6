"""Accuracy on the evaluation set, side by side with a TF-IDF baseline, and the threshold sweep
that the constants in bot/core/decide.py come from.

    python benchmarks/accuracy.py                  # posbot vs baseline, current thresholds
    python benchmarks/accuracy.py --sweep          # + answer_at / margin / clarify_at sweep
    python benchmarks/accuracy.py --scorers        # + rapidfuzz scorer comparison
    python benchmarks/accuracy.py --redline-model  # only: what each MODEL_REFUSE_AT would refuse more

Needs the dev extra (scikit-learn) for the baseline only.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz  # noqa: E402

from bot.core import decide as decide_module  # noqa: E402
from bot.core import match as match_module  # noqa: E402
from bot.core.decide import Decision, decide, model_readable, second_opinion  # noqa: E402
from bot.core.engine import Engine  # noqa: E402
from bot.core.evaluate import Report, evaluate, load_cases  # noqa: E402
from bot.core.match import Candidate  # noqa: E402
from bot.core.redline_model import Verdict  # noqa: E402
from bot.core.normalise import fold  # noqa: E402
from bot.core.pinyin import typed_in_pinyin  # noqa: E402

EVAL_DIR = ROOT / "tests" / "eval"
EVAL_SETS = tuple(path.name for path in sorted(EVAL_DIR.glob("*.yaml")))
"""Every set in tests/eval/, each beside the TF-IDF baseline."""
UNREAD = frozenset({"blind_final.yaml", "blind_holdout.yaml", "blind_dev17.yaml", "blind_dev21.yaml", "blind_dev22.yaml",
                    "blind_dev23.yaml", "blind_dev25.yaml"})
"""Sets whose misses were never read: left out of the red-line model's sweep, which chose MODEL_REFUSE_AT."""
MIN_ANSWER_PRECISION = 0.99
"""A wrong explanation of a payment error costs the merchant money: answer outright only when
almost never wrong, and ask (clarify) otherwise."""
MIN_FALLBACK_RECALL = 0.90


def decide_for(engine: Engine, analysis, **thresholds) -> Decision:
    """What Engine.understand decides, with other thresholds (the red-line model's second opinion included)."""
    if analysis.refused:
        return Decision("refuse")
    return second_opinion(decide(analysis.candidates, specific=analysis.specific, **thresholds),
                          partial(engine.matcher.redline_verdict, analysis), analysis.normalised,
                          analysis.candidates, analysis.query)


def posbot_report(engine: Engine, cases, **thresholds) -> Report:
    analyses = {case.question: engine.matcher.analyse(case.question) for case in cases}
    return evaluate(cases, lambda q: (decide_for(engine, analyses[q], **thresholds), analyses[q].candidates))


MODEL_THRESHOLDS = (0.9, 0.95, 0.97, 0.98, 0.985, 0.99, 0.995)
MODEL_HOLDOUT = EVAL_DIR / "model" / "holdout.yaml"


def redline_model_sweep(engine: Engine, files: list[Path]) -> None:
    """How many more questions each MODEL_REFUSE_AT refuses, of the red-line questions (gold refuse) and of the
    rest, over the given sets, and of the model's held-out sentences, as written and typed in pinyin. Counts only: no
    question is printed, so the sets never read stay unread. MODEL_REFUSE_AT is the lowest value that refuses at most
    10 more of the read sets' other questions (0.2 %); MODEL_REFUSE_AT_LETTERS the lowest that refuses no more of the
    held-out honest questions typed in pinyin than MODEL_REFUSE_AT refuses of them written in characters (each row
    is one threshold for every question of the column)."""
    import yaml

    groups: dict[str, list[float]] = {}

    def consider(group: str, question: str) -> None:
        analysis = engine.matcher.analyse(question)
        decision = decide(analysis.candidates, specific=analysis.specific)
        # asked where Engine.understand would ask it: second_opinion with a sure verdict says where that is
        asked = (not analysis.refused and decision.kind in ("clarify", "fallback")
                 and second_opinion(decision, lambda _text: Verdict(1.0, "any"), analysis.normalised,
                                        analysis.candidates).refused)
        judged = engine.matcher.redline_verdict(analysis, model_readable(analysis.normalised)) if asked else None
        groups.setdefault(group, []).append(judged.probability if judged is not None else 0.0)

    for path in files:
        for case in load_cases(path, engine.content):
            consider("red-line questions" if case.label == "refuse" else "other questions", case.question)
    if MODEL_HOLDOUT.exists():
        for part, rows in yaml.safe_load(MODEL_HOLDOUT.read_text(encoding="utf-8")).items():
            for row in rows:
                consider(f"model holdout: {part}", row["q"])
                consider(f"model holdout in pinyin: {part}", typed_in_pinyin(row["q"]))
    print("\n## red-line model: more refused at each MODEL_REFUSE_AT (of the questions the matcher would ask about "
          f"or fall back on; shipped {decide_module.MODEL_REFUSE_AT}, {decide_module.MODEL_REFUSE_AT_LETTERS} for a question "
          "typed in letters)\n")
    names = sorted(groups)
    print("| MODEL_REFUSE_AT | " + " | ".join(f"{name} ({len(groups[name])})" for name in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for threshold in MODEL_THRESHOLDS:
        print(f"| {threshold} | " + " | ".join(str(sum(p >= threshold for p in groups[name])) for name in names) + " |")


def baseline_report(engine: Engine, cases) -> tuple[Report, float]:
    """Character 1-3-gram TF-IDF, cosine nearest neighbour over the same phrases posbot indexes.
    Its fallback threshold is the best one for it on this very set (its most flattering setting)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    phrases, owners = [], []
    for intent in engine.content.intents:
        for text in (intent.name, *intent.aliases, *intent.examples):
            phrases.append(fold(text))
            owners.append(intent.id)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3))
    matrix = vectorizer.fit_transform(phrases)
    similarities = cosine_similarity(vectorizer.transform([fold(c.question) for c in cases]), matrix)
    ranked: dict[str, list[Candidate]] = {}
    for case, row in zip(cases, similarities, strict=True):
        best: dict[str, float] = {}
        for index in row.argsort()[::-1][:60]:
            best.setdefault(owners[index], float(row[index]))
        ranked[case.question] = [Candidate(i, None, s, "fuzzy", kind=engine.content.by_id[i].kind)
                                 for i, s in list(best.items())[:5]]

    def run(threshold: float) -> Report:
        def understand(q: str):
            cands = ranked[q]
            if not cands or cands[0].score < threshold:
                return Decision("fallback"), cands
            return Decision("answer", intent=cands[0].intent), cands
        return evaluate(cases, understand)

    best_threshold = max((t / 100 for t in range(5, 95, 5)),
                         key=lambda t: (run(t).fallback_recall >= MIN_FALLBACK_RECALL, run(t).resolved_rate))
    return run(best_threshold), best_threshold


def sweep(engine: Engine, cases) -> None:
    analyses = {case.question: engine.matcher.analyse(case.question) for case in cases}
    rows = []
    for answer_at, margin, clarify_at in itertools.product(
            [x / 100 for x in range(50, 100, 5)], [0.0, 0.02, 0.05, 0.08, 0.1, 0.15],
            [x / 100 for x in range(30, 80, 5)]):
        if clarify_at > answer_at:
            continue
        thresholds = dict(answer_at=answer_at, margin=margin, clarify_at=clarify_at)
        report = evaluate(cases, lambda q, t=thresholds: (decide_for(engine, analyses[q], **t), analyses[q].candidates))
        rows.append((thresholds, report))
    ok = [r for r in rows if r[1].answer_precision >= MIN_ANSWER_PRECISION
          and r[1].fallback_recall >= MIN_FALLBACK_RECALL]
    print(f"\nthreshold sweep: {len(rows)} settings, {len(ok)} keep answer precision >= "
          f"{MIN_ANSWER_PRECISION} and fallback recall >= {MIN_FALLBACK_RECALL}")
    print("best by resolved rate (answered right, or right choice offered), then answer rate:")
    print(f"  {'answer_at':>9} {'margin':>6} {'clarify':>7} | {'resolved':>8} {'answered':>8} "
          f"{'ans.prec':>8} {'fb.rec':>6} {'fb.prec':>7}")
    for thresholds, report in sorted(ok, key=lambda r: (r[1].resolved_rate, r[1].answer_rate), reverse=True)[:10]:
        print(f"  {thresholds['answer_at']:>9.2f} {thresholds['margin']:>6.2f} {thresholds['clarify_at']:>7.2f} | "
              f"{report.resolved_rate:>8.3f} {report.answer_rate:>8.3f} {report.answer_precision:>8.3f} "
              f"{report.fallback_recall:>6.3f} {report.fallback_precision:>7.3f}")


def compare_scorers(cases) -> None:
    print("\nscorer comparison (same content, same thresholds):")
    original = match_module.SCORERS
    blends = [((getattr(fuzz, name), 1.0),) for name in
              ("token_set_ratio", "token_sort_ratio", "ratio", "WRatio", "QRatio", "partial_ratio")]
    blends += [((fuzz.token_set_ratio, w), (fuzz.token_sort_ratio, 1 - w)) for w in (0.3, 0.5, 0.7)]
    blends += [((fuzz.token_set_ratio, 0.3), (fuzz.ratio, 0.7))]
    try:
        for blend in blends:
            match_module.SCORERS = blend
            report = posbot_report(Engine.load(), cases)
            name = " + ".join(f"{weight:.1f} {scorer.__name__}" for scorer, weight in blend)
            print(f"  {name:<46} top1 {report.top1:.3f}  top3 {report.top3:.3f}  "
                  f"resolved {report.resolved_rate:.3f}  fallback recall {report.fallback_recall:.3f}")
    finally:
        match_module.SCORERS = original


def blind_table(name: str, ours: Report, baseline: Report | None) -> None:
    """Per category, what the merchant sees is right (Outcome.decided_right), posbot vs baseline."""
    print(f"\n{name}: per category (right answer, right first choice, refusal, or out of scope handled)")
    print("| category | questions | posbot | TF-IDF |")
    print("|---|---|---|---|")
    theirs = baseline.by_category() if baseline is not None else {}
    for category, part in sorted(ours.by_category().items()):
        other = f"{theirs[category].decided_top1:.3f}" if category in theirs else "-"
        print(f"| {category} | {len(part.outcomes)} | {part.decided_top1:.3f} | {other} |")
    other = f"{baseline.decided_top1:.3f}" if baseline is not None else "-"
    print(f"| all | {len(ours.outcomes)} | {ours.decided_top1:.3f} | {other} |")
    print(f"top-3 {ours.top3:.3f}; answer precision {ours.answer_precision:.3f}; out of scope handled "
          f"{ours.outside_handled:.3f}; red lines refused {ours.refused_rate:.3f}; small talk {ours.smalltalk_rate:.3f}; "
          f"numbers read as codes {ours.numbers_read_as_codes}; fell back with the right intent in the top 3 "
          f"{ours.fell_back_with_right_in_top3:.3f}")


def line(name: str, report: Report) -> str:
    s = report.summary()
    return (f"| {name} | {s['top1']:.3f} | {s['top3']:.3f} | {s['answer_precision']:.3f} | {s['answer_rate']:.3f} "
            f"| {s['resolved_rate']:.3f} | {s['fallback_precision']:.3f} | {s['fallback_recall']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--scorers", action="store_true")
    parser.add_argument("--redline-model", action="store_true",
                        help="only the red-line model's threshold sweep (bot/core/redline_model.py)")
    parser.add_argument("--file", type=Path, action="append",
                        help="an evaluation set (repeatable); default: every set in tests/eval")
    args = parser.parse_args()
    engine = Engine.load()
    files = args.file or [EVAL_DIR / name for name in EVAL_SETS]
    if args.redline_model:
        redline_model_sweep(engine, [path for path in files if path.name not in UNREAD])
        return
    for path in files:
        cases = load_cases(path, engine.content)
        ours = posbot_report(engine, cases)
        print(f"\n## {path.name}: {len(cases)} questions ({len(ours.in_scope)} in scope, "
              f"{len(ours.out_of_scope)} out of scope)")
        print(f"posbot thresholds: answer_at={decide_module.ANSWER_AT} margin={decide_module.MARGIN} "
              f"clarify_at={decide_module.CLARIFY_AT} talk_at={decide_module.TALK_AT} "
              f"refuse_at={decide_module.REFUSE_AT}\n")
        print("| matcher | top-1 | top-3 | answer precision | answer rate | resolved | fallback precision | "
              "out of scope handled |")
        print("|---|---|---|---|---|---|---|---|")
        print(line("posbot (jieba + rapidfuzz)", ours))
        baseline = None
        try:
            baseline, threshold = baseline_report(engine, cases)
            print(line(f"TF-IDF char 1-3-gram NN (fallback < {threshold:.2f})", baseline))
        except ImportError:
            print("(scikit-learn not installed: baseline skipped; pip install -e '.[dev]')")
        if any(case.category for case in cases):
            blind_table(path.name, ours, baseline)
        if args.sweep:
            sweep(engine, cases)
        if args.scorers:
            compare_scorers(cases)


if __name__ == "__main__":
    main()
