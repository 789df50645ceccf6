"""The review inbox as one Telegram message edited in place: a group's card, then (其他意图) the
intent kinds, then one page of intent titles. Plain values (Reply); bot/telegram renders them.

Callback data carries ids only (a group's stable key, an intent id, a kind, a page number), well
inside Telegram's 64 bytes: the longest intent id is about 20 characters.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.admin.labels import KIND_WORDS, KINDS, intent_label
from bot.admin.review import Group
from bot.core.loader import Content
from bot.core.reply import Option, Reply

SHOW, ADD, IGNORE, NEW, KINDS_MENU, LIST = "rvs", "rva", "rvi", "rvn", "rvk", "rvl"
PREFIXES = tuple(f"{p}:" for p in (SHOW, ADD, IGNORE, NEW, KINDS_MENU, LIST))
SUGGESTED = 3
PAGE = 8
"""Intent titles per page: with the paging buttons the keyboard still fits a phone screen."""
LABEL_LIMIT = 30


def card(groups: Sequence[Group], index: int, content: Content, *, note: str = "") -> Reply:
    """Group `index` of `groups` with its actions; `note` says how the last action went."""
    if not groups:
        return Reply(kind="info", title="待复核", text=(note + "\n\n" if note else "") + "收件箱是空的。")
    index = max(0, min(index, len(groups) - 1))
    item = groups[index]
    samples = "\n".join(f"· {q}" for q in dict.fromkeys(q.question for q in item.questions[:3]))
    suggestion = (f"\n建议：{intent_label(content, item.suggestion)}"
                  if item.suggestion is not None and item.suggestion in content.by_id else "")
    text = (note + "\n\n" if note else "") + (
        f"第 {index + 1}/{len(groups)} 组 · 编号 {item.key} · 共 {len(item.questions)} 次\n{samples}{suggestion}")
    options = [Option(f"加为例句：{intent_label(content, intent)}"[:LABEL_LIMIT], f"{ADD}:{item.key}:{intent}")
               for intent in suggested(item, content)]
    options += [Option("其他意图…", f"{KINDS_MENU}:{item.key}"), Option("新建意图（草稿）", f"{NEW}:{item.key}"),
                Option("忽略", f"{IGNORE}:{item.key}")]
    if index > 0:
        options.append(Option("‹ 上一组", f"{SHOW}:{groups[index - 1].key}"))
    if index + 1 < len(groups):
        options.append(Option("下一组 ›", f"{SHOW}:{groups[index + 1].key}"))
    return Reply(kind="info", title="待复核", text=text, options=tuple(options))


def suggested(item: Group, content: Content) -> list[str]:
    """The suggestion first, then the bot's other candidates, as far as the content still has them."""
    targets = [item.suggestion] + [intent for intent, _ in item.questions[0].candidates]
    return list(dict.fromkeys(t for t in targets if t is not None and t in content.by_id))[:SUGGESTED]


def kinds(item: Group, content: Content) -> Reply:
    """Which kind of intent the group belongs to (86 codes and 35 symptoms do not fit one keyboard)."""
    counts = {kind: sum(i.kind == kind for i in content.intents) for kind in KINDS}
    options = tuple(Option(f"{KIND_WORDS[kind]}（{count} 个）", f"{LIST}:{item.key}:{kind}:0")
                    for kind, count in counts.items() if count)
    typed = f"\n也可以直接发：/review {item.key} 意图（id、应答码或标题）"
    return Reply(kind="info", title="选一类意图", text=_samples(item) + typed,
                 options=options + (Option("返回", f"{SHOW}:{item.key}"),))


def intents_page(item: Group, content: Content, kind: str, page: int) -> Reply:
    """One page of intent titles of `kind`; tapping one adds the group as its examples."""
    intents = [i for i in content.intents if i.kind == kind]
    pages = max(1, -(-len(intents) // PAGE))
    page = max(0, min(page, pages - 1))
    shown = intents[page * PAGE:(page + 1) * PAGE]
    options = [Option(intent_label(content, i.id)[:LABEL_LIMIT], f"{ADD}:{item.key}:{i.id}") for i in shown]
    if page > 0:
        options.append(Option("‹ 上一页", f"{LIST}:{item.key}:{kind}:{page - 1}"))
    if page + 1 < pages:
        options.append(Option("下一页 ›", f"{LIST}:{item.key}:{kind}:{page + 1}"))
    options += [Option("换一类", f"{KINDS_MENU}:{item.key}"), Option("返回", f"{SHOW}:{item.key}")]
    return Reply(kind="info", title=f"{KIND_WORDS.get(kind, kind)}：第 {page + 1}/{pages} 页",
                 text=_samples(item), options=tuple(options))


def _samples(item: Group) -> str:
    return f"编号 {item.key}：" + " | ".join(dict.fromkeys(q.question for q in item.questions[:3]))


def resolve(content: Content, typed: str) -> str | None:
    """An intent an admin typed: its id, its code ("51"), its title or its label ("51 资金不足"), or
    the one title that contains what was typed."""
    typed = typed.strip()
    if not typed:
        return None
    if typed in content.by_id:
        return typed
    if typed.upper() in content.by_code:
        return content.by_code[typed.upper()].id
    exact = [i.id for i in content.intents if typed in (i.title, intent_label(content, i.id))]
    if exact:
        return exact[0]
    containing = [i.id for i in content.intents if typed in i.title]
    return containing[0] if len(containing) == 1 else None
