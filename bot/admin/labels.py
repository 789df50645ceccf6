"""Words admins read instead of ids: intent titles, kinds, decisions, flow endings."""

from __future__ import annotations

from bot.core.loader import Content

KIND_WORDS = {"code": "应答码", "symptom": "症状", "smalltalk": "闲聊", "redirect": "转介", "redline": "红线"}
KINDS = tuple(KIND_WORDS)
DECISION_WORDS = {"answer": "直接回答", "clarify": "反问", "fallback": "没看懂", "refuse": "拒答（红线）"}


def intent_label(content: Content | None, intent_id: str) -> str:
    """"51 资金不足", "打印机不出纸/空白"; an id the content no longer has stays as written."""
    intent = content.by_id.get(intent_id) if content is not None else None
    if intent is None:
        return intent_id
    code = getattr(intent, "code", None)
    return f"{code} {intent.title}" if code and not intent.title.startswith(code) else intent.title


def flow_label(content: Content | None, flow_id: str) -> str:
    flow = content.flows_by_id.get(flow_id) if content is not None else None
    return flow.title if flow is not None else flow_id
