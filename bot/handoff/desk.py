"""The helpdesk as staff read it, in plain Python: the context card, topic names, labels on relayed
messages, status words, ages, what a tapped button meant, reminder timing, the texts of hints.

bot/telegram/handoff.py and handlers/support.py send what these functions return; nothing here
knows Telegram. Every text that shows merchant words goes through bot.core.cards first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

from bot.core import actions as act
from bot.core.cards import mask_card_numbers
from bot.core.loader import Content
from bot.handoff.models import Status, Ticket, TranscriptEntry

TOPIC_NAME_LIMIT = 128
TOPIC_WHAT_LIMIT = 40
"""Of a topic title, the code or intent id at most (intent ids are short; the name gives way first)."""
LABEL_NAME_LIMIT = 12
"""Characters of a merchant's name on each relayed message: enough to tell two merchants apart."""
CARD_MESSAGE_LIMIT = 300
"""Characters of one merchant message on the card; longer ones end at a sentence, marked 已截断."""
CARD_ACTIONS = 12
"""The last this many buttons the merchant tapped are listed on the card."""
ACTIONS_LOOK_BACK = 3600.0
"""Seconds before the case opened whose taps count as "what they tried" for it."""
HINT_EVERY = 600.0
"""Seconds between two "how to answer" hints to the same staff member: one hint per ten minutes
is enough to teach, and a group chatting about something else is not answered at every line."""
REMIND_AFTER_MINUTES = 15.0
"""Default SUPPORT_REMIND_AFTER: a merchant at the counter has waited long enough by then."""

_BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
"""Embeddings, overrides and isolates (U+202A–202E, U+2066–2069), and the LRM/RLM/ALM marks."""
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")

STATUS_WORDS = {Status.OPEN: "新工单", Status.WAITING_SUPPORT: "等待客服", Status.WAITING_MERCHANT: "客服处理中",
                Status.CLOSED: "已关闭"}
"""waiting_merchant reads 客服处理中 to staff: staff answered and the case is in their hands."""

TRIGGERS = {"button": "商户点了“转人工”", "command": "商户发了 /human", "words": "商户要求人工/客服/投诉",
            "escalate": "排查流程走到“转人工”", "not_helped": "排查后仍未解决", "fallbacks": "连续两次没看懂商户的问题",
            "media": "商户发来图片/语音"}

NOT_A_REPLY_HINT = "请回复商户的消息来回答（在 Telegram 里点商户的消息 → 回复），或者用 /kb 51、/kb 签到失败 发送自动解答。"
"""A staff message in a group without topics that belongs to no case."""
GENERAL_TOPIC_HINT = "这里不是工单话题，消息不会转给商户。请到对应工单的话题里回复，或用 /tickets 查看进行中的工单。"
"""A staff message in a forum's General topic (or a topic of no case)."""
BANNED_NOTICE = "抱歉，你的消息暂时无法转给客服，机器人也不再回复。如需帮助，请联系你的收单机构或服务商。"
"""The one notice a banned merchant gets."""

COMMANDS_LINE = ("在本话题里直接发消息即转给商户。命令：/close 结束  /reopen 重开  /note 内部备注  /info 工单信息  "
                 "/kb 码或问题 发自动解答  /ban 封禁")


def display_name(name: str) -> str:
    """A merchant's Telegram name as staff see it: without bidi controls, which would otherwise
    reverse or reorder the topic title and card around it (a name ending in U+202E turns
    "· 51 · #12" into "21# · 15 ·"), on one line."""
    return " ".join(_BIDI_CONTROLS.sub("", name).split()) or "商户"


def short_name(name: str, limit: int = LABEL_NAME_LIMIT) -> str:
    """display_name, cut to `limit` characters with "…" (by characters, so an emoji is never split)."""
    shown = display_name(mask_card_numbers(name))
    return shown if len(shown) <= limit else shown[:limit - 1].rstrip() + "…"


def merchant_label(ticket: Ticket) -> str:
    """What each relayed merchant message carries in the group: `张三 · #12`."""
    return f"{short_name(ticket.merchant.name)} · #{ticket.id}"


def staff_name(user_id: int, first_name: str, aliases: Mapping[int, str]) -> str:
    """How a staff member is shown to merchants and on cards: their alias (SUPPORT_STAFF_ALIASES),
    else their Telegram first name, shortened."""
    name = aliases.get(user_id) or first_name
    return short_name(name, 8) if name.strip() else "客服"


def staff_label(name: str) -> str:
    """`客服小王`, above or before what that staff member sends a merchant."""
    return name if name.startswith("客服") else f"客服{name}"


def bot_answer_label(staff: str) -> str:
    """Above posbot's own answer sent by a staff member (/kb): the merchant sees it is the bot's text."""
    return f"🤖 posbot 自动解答（{staff_label(staff)}发送）"


def status_word(status: Status) -> str:
    return STATUS_WORDS[status]


def age(seconds: float) -> str:
    """`刚刚`, `3分钟前`, `2小时前`, `3天前`."""
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{int(seconds // 60)}分钟前"
    if seconds < 86400:
        return f"{int(seconds // 3600)}小时前"
    return f"{int(seconds // 86400)}天前"


def duration(seconds: float) -> str:
    """`35分钟`, `2小时`: how long something has lasted."""
    if seconds < 3600:
        return f"{max(1, int(seconds // 60))}分钟"
    if seconds < 86400:
        return f"{int(seconds // 3600)}小时{int(seconds % 3600 // 60)}分钟"
    return f"{int(seconds // 86400)}天"


def whole(text: str, limit: int = CARD_MESSAGE_LIMIT) -> str:
    """A merchant's message whole, or when longer than `limit`, up to its last sentence or line end
    within it (at a space for text without any), marked （已截断）: never cut mid-word."""
    text = mask_card_numbers(text).strip()
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= limit // 3:
        head = head[:ends[-1]]
    elif " " in head[limit // 3:]:
        head = head[:head.rindex(" ")]
    return head.rstrip() + "…（已截断）"


def intent_title(content: Content, intent_id: str | None, code: str | None = None) -> str:
    """`签到失败`, `应答码 51 余额不足`: what the bot understood, as staff say it."""
    intent = content.by_id.get(intent_id) if intent_id else None
    if intent is None and code:
        intent = content.by_code.get(code)
    if intent is None:
        return f"应答码 {code}" if code else (intent_id or "人工")
    return f"应答码 {intent.title}" if getattr(intent, "code", None) else intent.title


def topic_name(ticket: Ticket) -> str:
    """`🟡 name · 51 · #12`, within Telegram's limit: a long name is cut, never the code or the id."""
    what = (ticket.context.code or ticket.context.intent or "人工")[:TOPIC_WHAT_LIMIT]
    head, tail = f"{ticket.status.icon} ", f" · {what} · #{ticket.id}"
    room = TOPIC_NAME_LIMIT - _utf16(head) - _utf16(tail)
    name = display_name(ticket.merchant.name)
    if _utf16(name) > room:
        kept = ""
        for char in name:  # by characters, so an emoji is never split
            if _utf16(kept + char) > room - 1:
                break
            kept += char
        name = kept.rstrip() + "…"
    return head + name + tail


def _utf16(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def describe_action(action: str, content: Content) -> str | None:
    """A tapped button's callback data as the merchant saw the button; None for taps that say
    nothing about the problem (ratings, expired payloads)."""
    match act.decode(action):
        case act.Show(intent):
            return f"看解答：{intent_title(content, intent)}"
        case act.Details(intent):
            return f"看详细说明：{intent_title(content, intent)}"
        case act.StartFlow(flow_id):
            flow = content.flows_by_id.get(flow_id)
            return f"开始排查：{flow.title if flow else flow_id}"
        case act.Choose(flow_id, step_id, choice):
            flow = content.flows_by_id.get(flow_id)
            step = flow.step(step_id) if flow is not None else None
            if step is None or choice >= len(step.choices):
                return f"排查中选了第 {choice + 1} 项"
            return f"“{whole(step.text, 30)}” → 选了“{step.choices[choice].label}”"
        case act.ShowScript(script_id, _):
            script = content.scripts_by_id.get(script_id)
            return f"看话术：{script.title if script else script_id}"
        case act.Feedback(_, helped):
            return "排查后：解决了" if helped else "排查后：没解决"
        case act.Back():
            return "上一步"
        case act.Restart():
            return "重新开始排查"
        case act.Current():
            return "回到当前步骤"
        case act.NoneOfThese():
            return "都不是"
        case act.Human():
            return "转人工"
        case act.Menu():
            return "常见问题菜单"
        case act.OpenNow():
            return "直接转人工"
    return None


def context_card(ticket: Ticket, content: Content, *, actions: Sequence[str] = ()) -> str:
    """The first message of a case (and /info): who, what the bot understood, the buttons the
    merchant pressed, what they said, who has the case. Telegram HTML, everything shown escaped
    and masked."""
    def safe(text: str) -> str:
        return escape(mask_card_numbers(text), quote=False)

    context = ticket.context
    lines = [f"<b>工单 #{ticket.id}</b> {ticket.status.icon} {status_word(ticket.status)}",
             f"商户：{safe(display_name(ticket.merchant.name))}（id {ticket.merchant.user_id}）",
             f"转人工原因：{TRIGGERS.get(context.trigger, safe(context.trigger))}"]
    if context.intent or context.code:
        score = f"，匹配度 {context.score:.2f}" if context.score is not None else ""
        lines.append(f"机器人理解：{safe(intent_title(content, context.intent, context.code))}"
                     f"（{safe(context.intent or context.code or '')}{score}）")
    pressed = [text for text in (describe_action(a, content) for a in actions) if text][-CARD_ACTIONS:]
    if pressed:
        lines.append("商户点过的按钮：\n" + "\n".join(f"  {n}. {safe(t)}" for n, t in enumerate(pressed, 1)))
    elif context.flow_path:
        lines.append("看过的排查步骤：\n" + "\n".join(
            f"  {n}. {safe(_step_text(content, p))}" for n, p in enumerate(context.flow_path, 1)))
    if context.detail:
        lines.append(f"商户补充：{safe(whole(context.detail))}")
    if context.last_messages:
        lines.append("商户最近说的：\n" + "\n".join(f"  · {safe(whole(m))}" for m in context.last_messages))
    lines.append(f"认领：{safe(ticket.claimed_name) + ' 已认领' if ticket.claimed_by is not None else '未认领'}")
    lines.append(COMMANDS_LINE)
    return "\n".join(lines)


def _step_text(content: Content, position: str) -> str:
    flow_id, _, step_id = position.partition("/")
    flow = content.flows_by_id.get(flow_id)
    step = flow.step(step_id) if flow is not None else None
    return whole(step.text, 40) if step is not None else position


def ticket_line(ticket: Ticket, content: Content, now: float) -> str:
    """One case in /tickets: `#12 🟡 等待客服 · 张三 · 签到失败 · 35分钟前 · 小王 已认领` (HTML)."""
    waited = ticket.waiting_since if ticket.waiting_since is not None else ticket.updated_at
    claimed = f"{ticket.claimed_name} 已认领" if ticket.claimed_by is not None else "未认领"
    parts = [f"#{ticket.id} {ticket.status.icon} {status_word(ticket.status)}", short_name(ticket.merchant.name),
             intent_title(content, ticket.context.intent, ticket.context.code), f"开单 {age(now - ticket.created_at)}",
             *([f"已等 {duration(now - waited)}"] if ticket.waits_for_staff else []), claimed]
    return escape(" · ".join(parts), quote=False)


def reminder_text(ticket: Ticket, content: Content, now: float) -> str:
    waited = now - (ticket.waiting_since or ticket.created_at)
    who = f"（{ticket.claimed_name} 已认领）" if ticket.claimed_by is not None else "，还没有人认领"
    return (f"⏰ 工单 #{ticket.id}（{short_name(ticket.merchant.name)} · "
            f"{intent_title(content, ticket.context.intent, ticket.context.code)}）已等待客服 {duration(waited)}{who}。"
            "请尽快回复商户。")


def check_every(remind_after: float) -> float:
    """Seconds between two looks for cases to remind of: often enough that a reminder is at most a
    fifth of the wait late, never more than a minute apart, never a busy loop."""
    return min(60.0, max(0.2, remind_after / 5))


def resolve_intent(content: Content, ref: str) -> str | None:
    """/kb's argument as an intent id: an id, a response code (51, a0, A0), a title or an alias
    exactly; None when it names none (the caller may then ask the matcher)."""
    ref = ref.strip()
    if not ref:
        return None
    found = content.intent_id(ref) or content.intent_id(ref.upper()) or content.intent_id(ref.lower())
    if found is not None:
        return found
    for intent in content.intents:
        names = (intent.title, getattr(intent, "name", ""), *getattr(intent, "aliases", ()))
        if ref in names:
            return intent.id
    return None


def info_line(ticket: Ticket, transcript: Sequence[TranscriptEntry], now: float) -> str:
    """Below the card in /info: status, age, transcript length, rating."""
    rating = {None: "未评价", 1: "👍 满意", 0: "👎 不满意"}[ticket.rating]
    return (f"状态：{status_word(ticket.status)}；开单 {age(now - ticket.created_at)}；记录 {len(transcript)} 条；"
            f"评价：{rating}")
