"""`posbot stats --html FILE`: the stats as one self-contained page with charts, for people who would
rather look than read. matplotlib (the `report` extra) draws them; images are embedded as data URIs."""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path
from typing import Any, Callable

from bot.admin.stats import Stats


def _chart(draw: Callable[[Any], object]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 3.2), dpi=100)
    draw(axes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def write_html(stats: Stats, path: Path) -> Path:
    """Charts are labelled with dates, ids and codes (ASCII), so no CJK font is needed to draw them;
    the page's own text is Chinese and rendered by the browser."""
    charts: list[tuple[str, str]] = []
    if stats.per_day:
        charts.append(("每天的问题数", _chart(lambda ax: (ax.bar(list(stats.per_day), list(stats.per_day.values())),
                                                     ax.tick_params(axis="x", labelrotation=45)))))
    if stats.questions:
        labels = ["answer", "clarify", "fallback"]
        charts.append(("回答 / 反问 / 没看懂", _chart(lambda ax: ax.bar(labels, [stats.decisions[k] for k in labels]))))
    if stats.top_intents:
        names = [i for i, _ in stats.top_intents][::-1]
        counts = [n for _, n in stats.top_intents][::-1]
        charts.append(("最常见的问题", _chart(lambda ax: ax.barh(names, counts))))
    flows = {"started": stats.flows_started, "resolved": stats.flows_resolved, "escalated": stats.flows_escalated,
             "helped": stats.flow_feedback.get("helped", 0), "not helped": stats.flow_feedback.get("not_helped", 0)}
    charts.append(("排查流程", _chart(lambda ax: ax.bar(list(flows), list(flows.values())))))
    handoffs = {"handoffs": stats.handoffs, "closed": stats.handoffs_closed, "up": stats.ratings.get("👍", 0),
                "down": stats.ratings.get("👎", 0)}
    charts.append(("转人工与评价", _chart(lambda ax: ax.bar(list(handoffs), list(handoffs.values())))))

    from bot.admin.stats import as_text

    summary = "".join(f"<li>{escape(line)}</li>" for line in as_text(stats).splitlines())
    figures = "".join(f"<figure><figcaption>{escape(title)}</figcaption><img src=\"{src}\" alt=\"{escape(title)}\">"
                      f"</figure>" for title, src in charts)
    page = (f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>posbot 运营数据</title>"
            f"<style>body{{font-family:sans-serif;max-width:760px;margin:2em auto}}figure{{margin:1.5em 0}}"
            f"img{{max-width:100%}}</style></head><body><h1>posbot 运营数据（最近 {stats.days} 天）</h1>"
            f"<ul>{summary}</ul>{figures}</body></html>\n")
    path.write_text(page, encoding="utf-8")
    return path
