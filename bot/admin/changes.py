"""What a reload changed, in words: intents, flows and scripts added, removed or changed (by name),
and the lexicon — not just a new version hash."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.admin.labels import flow_label, intent_label
from bot.core.loader import Content

NAMES_SHOWN = 5
"""Names listed per line before "等 N 个": /reload's message stays short."""


@dataclass(frozen=True)
class Part:
    """Ids added, removed and changed in one part of the content, each with its name."""

    added: tuple[tuple[str, str], ...] = ()
    removed: tuple[tuple[str, str], ...] = ()
    changed: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass(frozen=True)
class Changes:
    intents: Part = Part()
    flows: Part = Part()
    scripts: Part = Part()
    lexicon: bool = False

    def __bool__(self) -> bool:
        return bool(self.intents or self.flows or self.scripts or self.lexicon)

    def lines(self) -> list[str]:
        """One Chinese line per part that changed, e.g. "意图：新增 1 个（卡纸）；修改 2 个（签到失败、51 资金不足）"."""
        lines = [f"{word}：{_part(part)}" for word, part in (("意图", self.intents), ("排查流程", self.flows),
                                                            ("话术", self.scripts)) if part]
        if self.lexicon:
            lines.append("词库（lexicon.yaml）有修改")
        return lines


def compare(old: Content, new: Content) -> Changes:
    return Changes(
        intents=_compare(old.by_id, new.by_id, lambda i: intent_label(new if i in new.by_id else old, i)),
        flows=_compare(old.flows_by_id, new.flows_by_id, lambda f: flow_label(new if f in new.flows_by_id else old, f)),
        scripts=_compare(old.scripts_by_id, new.scripts_by_id,
                         lambda s: (new.scripts_by_id.get(s) or old.scripts_by_id[s]).title),
        lexicon=old.lexicon != new.lexicon)


def _compare(old: Mapping[str, Any], new: Mapping[str, Any], name: Callable[[str], str]) -> Part:
    return Part(added=tuple((i, name(i)) for i in new if i not in old),
                removed=tuple((i, name(i)) for i in old if i not in new),
                changed=tuple((i, name(i)) for i in new if i in old and new[i] != old[i]))


def _part(part: Part) -> str:
    said = []
    for word, items in (("新增", part.added), ("删除", part.removed), ("修改", part.changed)):
        if items:
            names = "、".join(name for _, name in items[:NAMES_SHOWN])
            more = f" 等 {len(items)} 个" if len(items) > NAMES_SHOWN else ""
            said.append(f"{word} {len(items)} 个（{names}{more}）")
    return "；".join(said)
