"""`posbot stats --html FILE`: the stats as one self-contained page with bar charts, for people who
would rather look than read.

The charts are inline SVG and HTML drawn here, so every label is text in the page's own font: a
picture with baked-in labels needs a CJK font on the machine that draws it (matplotlib's default
fonts have none and draw boxes), and emoji (👍/👎) need an emoji font the admin's browser may lack,
so the page says 满意 / 不满意 instead. Nothing to install, nothing fetched when the page is opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from bot.admin.labels import DECISION_WORDS, intent_label
from bot.admin.stats import Stats, as_text
from bot.core.files import write_atomic
from bot.core.loader import Content

FONTS = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif'
"""Fonts that have the Chinese glyphs on Linux, macOS and Windows, in that order, then the default."""
BAR = "#3b6fb6"
WIDTH, BAR_HEIGHT, LABEL_WIDTH = 640, 22, 200
"""Pixels of a horizontal chart: its width, one bar's height, the column its labels take."""


def bars(rows: Sequence[tuple[str, float]], *, unit: str = "") -> str:
    """A horizontal bar chart as inline SVG: one labelled bar per row, its value at its end."""
    if not rows:
        return "<p>（没有数据）</p>"
    top = max(value for _, value in rows) or 1
    span = WIDTH - LABEL_WIDTH - 60
    height = BAR_HEIGHT * len(rows) + 8
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img">']
    for n, (label, value) in enumerate(rows):
        y = 4 + n * BAR_HEIGHT
        length = max(1.0, span * value / top) if value else 0.0
        shown = f"{value:.0%}" if unit == "%" else f"{value:g}"
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{BAR_HEIGHT - 6}" fill="{BAR}"/>'
                     f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)


def columns(rows: Sequence[tuple[str, int]]) -> str:
    """Questions per day as vertical bars (HTML, so the dates wrap under them in the page's font)."""
    if not rows:
        return "<p>（没有数据）</p>"
    top = max(value for _, value in rows) or 1
    cells = "".join(f'<div class="col" title="{escape(day)}：{value}"><span>{value}</span>'
                    f'<i style="height:{max(2, round(120 * value / top))}px"></i><b>{escape(day[5:])}</b></div>'
                    for day, value in rows)
    return f'<div class="cols">{cells}</div>'


def write_html(stats: Stats, path: Path, content: Content | None = None) -> Path:
    """The page: the same lines as `posbot stats`, then the charts, intents by title."""
    sections: list[tuple[str, str]] = []
    if stats.per_day:
        sections.append(("每天的问题数", columns(list(stats.per_day.items())[-31:])))
    if stats.questions:
        sections.append(("posbot 怎么回应的", bars([(DECISION_WORDS[k], stats.decisions.get(k, 0.0))
                                                   for k in DECISION_WORDS], unit="%")))
    if stats.top_intents:
        sections.append(("最常见的问题", bars([(intent_label(content, i), n) for i, n in stats.top_intents])))
    if stats.top_codes:
        sections.append(("最常见的应答码", bars([(f"应答码 {code}", n) for code, n in stats.top_codes])))
    sections.append(("排查流程", bars([("开始", stats.flows_started), ("解决", stats.flows_resolved),
                                      ("转人工", stats.flows_escalated),
                                      ("有帮助", stats.flow_feedback.get("helped", 0)),
                                      ("没帮上", stats.flow_feedback.get("not_helped", 0))])))
    sections.append(("转人工与评价", bars([("转人工", stats.handoffs), ("已结束", stats.handoffs_closed),
                                          ("满意", stats.ratings.get("up", 0)),
                                          ("不满意", stats.ratings.get("down", 0))])))
    summary = "".join(f"<li>{escape(line)}</li>" for line in as_text(stats, content).splitlines())
    body = "".join(f"<section><h2>{escape(title)}</h2>{chart}</section>" for title, chart in sections)
    style = (f"body{{font-family:{FONTS};max-width:760px;margin:2em auto;padding:0 1em;color:#222}}"
             f"h2{{font-size:1.1em;margin:1.6em 0 .4em}}svg.chart{{font-family:{FONTS};font-size:13px;max-width:100%}}"
             ".cols{display:flex;align-items:flex-end;gap:3px;height:170px;overflow-x:auto}"
             ".col{display:flex;flex-direction:column;align-items:center;justify-content:flex-end;min-width:22px;"
             "font-size:11px}.col i{display:block;width:16px;background:" + BAR + "}.col b{font-weight:normal;"
             "margin-top:2px;writing-mode:vertical-rl}")
    page = (f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>posbot 运营数据</title>"
            f"<style>{style}</style></head><body><h1>posbot 运营数据（最近 {stats.days} 天）</h1>"
            f"<ul>{summary}</ul>{body}</body></html>\n")
    write_atomic(path, page)
    return path
