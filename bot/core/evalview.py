"""`posbot eval` as admins read it: each metric in Chinese beside its floor (底线) and the last run (上次).

The last run is kept per evaluation file as one small JSON file in the data directory (git-ignored,
the same place as the bot's records), so two runs on one machine compare without anyone noting numbers.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.evaluate import REFUSE, Report
from bot.core.files import write_atomic
from bot.core.floors import Floors

METRICS: tuple[tuple[str, str], ...] = (
    ("top1", "top-1（第一名就是对的意图）"),
    ("top3", "top-3（对的意图在前三名里）"),
    ("answer_precision", "回答准确率（直接回答的里面答对的）"),
    ("answer_rate", "回答率（范围内的问题直接回答的）"),
    ("resolved_rate", "答对或给出正确选项"),
    ("fallback_precision", "兜底精确率（兜底的确实该兜底）"),
    ("fallback_recall", "兜底召回率（范围外的问题被兜住）"),
    ("decided_top1", "整体判对（每道题的处理都对）"),
    ("refused_rate", "红线问题被拒绝"),
    ("fell_back_with_right_in_top3", "对的意图在前三却兜底了"),
    ("numbers_read_as_codes", "把普通数字当成应答码"),
)
"""Every metric the report shows, in order; the first seven are `Report.summary()`'s."""
COUNTS = frozenset({"numbers_read_as_codes"})
KINDS = {"answer": "回答", "clarify": "追问", "fallback": "兜底", "refuse": "拒绝"}
HISTORY_DIR = "eval"


@dataclass(frozen=True)
class LastRun:
    """The metrics of the previous run on the same file, and when and on which content it ran."""

    metrics: dict[str, float]
    categories: dict[str, float]
    at: str
    version: str


def metrics_of(report: Report) -> dict[str, float]:
    return {key: round(float(getattr(report, key)), 4) for key, _ in METRICS}


def render(report: Report, *, floors: Floors, last: LastRun | None, misses: int) -> str:
    """The whole report as text; `misses` caps the questions listed that were not answered right."""
    now = metrics_of(report)
    lines = [f"题目 {len(report.outcomes)} 道：范围内 {len(report.in_scope)}，范围外 {len(report.out_of_scope)}",
             f"上次：{last.at}（内容版本 {last.version}）" if last else "上次：没有记录（这是这台机器上第一次评测这个文件）",
             "", _row("指标", "本次", "底线", "上次")]
    below = []
    redlines = any(o.case.gold == REFUSE for o in report.outcomes)
    for key, title in METRICS:
        if key == "refused_rate" and not redlines:
            continue  # no red-line questions in this file: 0 would read as "none refused"
        ok = floors.met(key, now[key])
        if ok is False:
            below.append(title)
        lines.append(_row(title, _value(key, now[key]) + (" ⚠" if ok is False else ""), _floor(key, floors),
                          _value(key, last.metrics[key]) if last and key in last.metrics else "—"))
    categories = report.by_category()
    if len(categories) > 1 or floors.categories:
        lines += ["", _row("分类（整体判对）", "本次", "底线", "上次")]
        for name, part in sorted(categories.items()):
            value = part.decided_top1
            bound = floors.categories.get(name)
            low = bound is not None and value < bound
            if low:
                below.append(f"分类 {name}")
            lines.append(_row(f"{name}（{len(part.outcomes)} 道）", f"{value:.3f}" + (" ⚠" if low else ""),
                              f"≥ {bound:.2f}" if bound is not None else "—",
                              f"{last.categories[name]:.3f}" if last and name in last.categories else "—"))
    lines.append("")
    lines.append(f"⚠ 有 {len(below)} 项低于底线：{'、'.join(below)}" if below
                 else "全部达到底线" if floors.metrics else "这个文件没有底线（同一文件夹的 test_eval.py 里没有为它设）")
    wrong = report.misses()
    lines += ["", f"没答对的问题（{len(wrong)} 道，列出前 {min(misses, len(wrong))} 道）："]
    for outcome in wrong[:misses]:
        top = outcome.candidates[0] if outcome.candidates else None
        got = f"{top.intent} {top.score:.2f}" if top else "无"
        kind = KINDS.get(outcome.decision.kind, outcome.decision.kind)
        lines.append(f"  应为 {outcome.case.label:<20} 得到 {got:<28} [{kind}] {outcome.case.question}")
    pairs = report.confused_pairs()
    if pairs:
        lines += ["", "最常混淆（应为 → 第一名）："]
        lines += [f"  {count:>3}  {gold} → {got}" for (gold, got), count in pairs]
    return "\n".join(lines)


def _row(title: str, now: str, floor: str, last: str) -> str:
    return f"{_pad(title, 44)} {_pad(now, 9)} {_pad(floor, 9)} {last}"


def _pad(text: str, width: int) -> str:
    """Left-align in a terminal, where a Chinese character takes two columns."""
    shown = sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
    return text + " " * max(width - shown, 1)


def _value(key: str, value: float) -> str:
    return str(int(value)) if key in COUNTS else f"{value:.3f}"


def _floor(key: str, floors: Floors) -> str:
    if key not in floors.metrics:
        return "—"
    op, bound = floors.metrics[key]
    shown = str(int(bound)) if key in COUNTS else f"{bound:.2f}"
    return f"{'≥' if op == '>=' else '≤'} {shown}"


def history_path(data_dir: Path, eval_file: Path) -> Path:
    """Where the last run on `eval_file` is kept: named after the file, with a hash of its full path
    so two files called questions.yaml in different folders do not share a history."""
    digest = hashlib.sha256(str(eval_file.resolve()).encode()).hexdigest()[:8]
    return data_dir / HISTORY_DIR / f"{eval_file.stem}-{digest}.json"


def load_last(path: Path) -> LastRun | None:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return LastRun(metrics={k: float(v) for k, v in data["metrics"].items()},
                       categories={k: float(v) for k, v in data.get("categories", {}).items()},
                       at=str(data["at"]), version=str(data["version"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no run yet, or a file from another posbot version: the report says "没有记录"


def save_last(path: Path, report: Report, *, version: str) -> None:
    data = {"metrics": metrics_of(report),
            "categories": {name: round(part.decided_top1, 4) for name, part in report.by_category().items()},
            "at": time.strftime("%Y-%m-%d %H:%M"), "version": version}
    write_atomic(path, json.dumps(data, ensure_ascii=False, indent=1))
