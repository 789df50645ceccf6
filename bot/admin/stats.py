"""What happened, for admins: questions per day, decisions, top intents and codes, flows, handoffs,
ratings — read from the database every store writes to (SQLite or PostgreSQL). The numbers keep
ids (for --json and scripts); as_text shows intent titles."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.admin.labels import intent_label
from bot.core.loader import Content
from bot.storage.db import Database

CHINA = timezone(timedelta(hours=8))


@dataclass
class Stats:
    days: int
    questions: int = 0
    per_day: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, float] = field(default_factory=dict)
    """Share of answer / clarify / fallback / refuse (red lines)."""
    top_intents: list[tuple[str, int]] = field(default_factory=list)
    top_codes: list[tuple[str, int]] = field(default_factory=list)
    flows_started: int = 0
    flows_resolved: int = 0
    flows_escalated: int = 0
    """Flows that ended in a handoff: an escalate ending, or a case opened from inside or after a
    flow another way (转人工 tapped mid-flow, 没帮上)."""
    flow_feedback: dict[str, int] = field(default_factory=dict)
    handoffs: int = 0
    handoffs_closed: int = 0
    median_resolution_hours: float | None = None
    ratings: dict[str, int] = field(default_factory=dict)
    """up / down: the merchant's rating of a closed case."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def compute(db: Database, *, days: int = 30, now: float | None = None) -> Stats:
    """Stats over the last `days` days (the stores' tables must exist: open them first)."""
    now = time.time() if now is None else now
    since = now - days * 86400
    stats = Stats(days=days)
    questions = await db.fetchall("SELECT at, decision, intent, code FROM questions WHERE at >= ?", (since,))
    stats.questions = len(questions)
    stats.per_day = dict(sorted(Counter(
        datetime.fromtimestamp(at, CHINA).strftime("%Y-%m-%d") for at, *_ in questions).items()))
    decisions = Counter(decision for _, decision, _, _ in questions)
    stats.decisions = {k: round(decisions[k] / len(questions), 4) if questions else 0.0
                       for k in ("answer", "clarify", "fallback", "refuse")}
    stats.top_intents = Counter(i for _, _, i, _ in questions if i).most_common(10)
    stats.top_codes = Counter(c for _, _, _, c in questions if c).most_common(10)

    outcomes = await db.fetchall("SELECT kind, ending, helped FROM flow_outcomes WHERE at >= ?", (since,))
    stats.flows_started = sum(kind == "started" for kind, _, _ in outcomes)
    stats.flows_resolved = sum(kind == "ended" and ending == "resolved" for kind, ending, _ in outcomes)
    escalated = sum(kind == "ended" and ending == "escalate" for kind, ending, _ in outcomes)
    feedback = [helped for kind, _, helped in outcomes if kind == "feedback"]
    stats.flow_feedback = {"helped": sum(h == 1 for h in feedback), "not_helped": sum(h == 0 for h in feedback)}

    tickets = await db.fetchall(
        "SELECT status, created_at, updated_at, rating, context FROM tickets WHERE created_at >= ?", (since,))
    stats.handoffs = len(tickets)
    # a flow ending in escalate is counted by its event already (with or without a case after it)
    stats.flows_escalated = escalated + sum(_from_a_flow(context) for *_, context in tickets)
    closed = [(c, u) for status, c, u, *_ in tickets if status == "closed"]
    stats.handoffs_closed = len(closed)
    if closed:
        stats.median_resolution_hours = round(statistics.median((u - c) / 3600 for c, u in closed), 2)
    stats.ratings = {"up": sum(r == 1 for *_, r, _ in tickets), "down": sum(r == 0 for *_, r, _ in tickets)}
    return stats


def _from_a_flow(context: str) -> bool:
    """A case opened from a flow other than by its escalate ending: the merchant had walked steps."""
    try:
        data = json.loads(context or "{}")
    except ValueError:
        return False
    return bool(data.get("flow_path")) and data.get("trigger") != "escalate"


def as_text(stats: Stats, content: Content | None = None) -> str:
    """The plain-text report `posbot stats` and /stats show; intents by title when `content` is given."""
    lines = [f"最近 {stats.days} 天：问题 {stats.questions} 个"]
    if stats.questions:
        d = stats.decisions
        lines.append(f"直接回答 {d['answer']:.0%} · 反问 {d['clarify']:.0%} · 没看懂 {d['fallback']:.0%}"
                     f" · 拒答（红线）{d.get('refuse', 0.0):.0%}")
        lines.append("每天：" + "，".join(f"{day[5:]} {n}" for day, n in list(stats.per_day.items())[-7:]))
    if stats.top_intents:
        lines.append("最常见：" + "，".join(f"{intent_label(content, i)} {n}" for i, n in stats.top_intents[:5]))
    if stats.top_codes:
        lines.append("最常见应答码：" + "，".join(f"{c} {n}" for c, n in stats.top_codes[:5]))
    lines.append(f"排查流程：开始 {stats.flows_started}，解决 {stats.flows_resolved}，转人工 {stats.flows_escalated}，"
                 f"有帮助 {stats.flow_feedback.get('helped', 0)}，没帮上 {stats.flow_feedback.get('not_helped', 0)}")
    resolution = (f"，解决用时中位数 {stats.median_resolution_hours} 小时"
                  if stats.median_resolution_hours is not None else "")
    lines.append(f"转人工：{stats.handoffs} 单，已结束 {stats.handoffs_closed}{resolution}；"
                 f"评价：满意 {stats.ratings.get('up', 0)} · 不满意 {stats.ratings.get('down', 0)}")
    return "\n".join(lines)
