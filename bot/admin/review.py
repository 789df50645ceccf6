"""The review inbox: questions the bot fell back on or had to clarify, grouped by similarity, and
the admin's actions on them — add as an example (written into the YAML, validated), ignore
forever, or start a draft for a new intent.

A group keeps its id (a short hash of its lead question's normalised form) across actions, so
"group 3" never turns into another group after the admin handled the one before it. What is no
question at all is left out: digits only, a flow reply ("还是不行", "好了") typed outside its step,
and questions posbot refuses (red lines), which have nothing to learn from.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import yaml
from rapidfuzz import fuzz

from bot.core.cards import mask_card_numbers
from bot.core.checks import check_content
from bot.core.decide import CLARIFY_AT
from bot.core.errors import ContentError, Problem
from bot.core.files import write_atomic
from bot.core.loader import Content, load_content
from bot.core.match import Matcher
from bot.core.normalise import fold
from bot.storage.questions import LoggedQuestion

SIMILAR = 80.0
"""token_sort_ratio (0..100) from which two normalised questions count as the same question."""
SUGGEST_AT = CLARIFY_AT
"""The bot's own best guess is suggested only from the score at which it would have asked about it
(decide.CLARIFY_AT); below that ("还是不行" scores 0.36 for 签到失败) it is no hint at all."""
EXTRA_AFTER_REPLY = 3
"""A flow reply followed by a few characters ("还是不行啊啊") is still that reply (as in the dialog)."""
DRAFTS = "intents/drafts"


class ExamplesRefused(ContentError):
    """The examples would make `posbot validate` fail: the file was put back; `problems` say why."""

    REASON = "加上这些例句后 posbot validate 会报错，所以没有加，文件已恢复原样："

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.reason = self.REASON


@dataclass(frozen=True)
class Group:
    key: str
    """Stable id: a hash of the lead question's normalised form (see group_key)."""
    questions: tuple[LoggedQuestion, ...]
    suggestion: str | None
    """What merchants picked after the clarification, else the bot's best guess if it was a fair one."""

    @property
    def text(self) -> str:
        return self.questions[0].question

    @property
    def ids(self) -> list[int]:
        return [q.id for q in self.questions]


def group_key(form: str) -> str:
    """Six hex digits of the normalised lead question: the same group keeps the same id whatever
    is added, ignored or asked around it."""
    return hashlib.sha1(form.encode("utf-8")).hexdigest()[:6]


def group(questions: Sequence[LoggedQuestion], matcher: Matcher) -> list[Group]:
    """Similar questions together, most frequent first (ties: most recent first); noise left out."""
    buckets: list[tuple[str, list[LoggedQuestion]]] = []
    for question in questions:
        if is_noise(question.question, matcher):
            continue
        form = matcher.match_form(question.question) or question.question.strip()
        for key, members in buckets:
            if fuzz.token_sort_ratio(form, key, processor=None) >= SIMILAR:
                members.append(question)
                break
        else:
            buckets.append((form, [question]))
    groups = [Group(group_key(form), tuple(members), _suggestion(members)) for form, members in buckets]
    return sorted(groups, key=lambda g: (len(g.questions), max(q.at for q in g.questions)), reverse=True)


def find(groups: Sequence[Group], key: str) -> Group | None:
    return next((g for g in groups if g.key == key.strip().lower()), None)


def is_noise(question: str, matcher: Matcher) -> bool:
    """Not a question to learn from: digits only ("3", "123456": a menu number or an amount typed
    to nobody), a flow reply word, or a question posbot refuses (red lines)."""
    typed = "".join(ch for ch in fold(question) if ch.isalnum())
    if not typed or typed.isdigit():
        return True
    replies = matcher.content.lexicon.replies
    for word in (*replies.fixed, *replies.not_fixed):
        folded = "".join(ch for ch in fold(word) if ch.isalnum())
        rest = typed[len(folded):]
        # "还是显示51" says which code: a question, not a reply
        if folded and typed.startswith(folded) and len(rest) <= EXTRA_AFTER_REPLY and not any(c.isascii() for c in rest):
            return True
    return matcher.analyse(question).refused


def _suggestion(members: list[LoggedQuestion]) -> str | None:
    picked = Counter(q.picked for q in members if q.picked and q.picked != "none")
    if picked:
        return picked.most_common(1)[0][0]
    guesses = Counter(q.candidates[0][0] for q in members if q.candidates and q.candidates[0][1] >= SUGGEST_AT)
    return guesses.most_common(1)[0][0] if guesses else None


def add_examples(content: Content, intent_id: str, examples: Sequence[str]) -> Content:
    """Write `examples` under the intent's examples in its YAML file, keeping the file's comments
    and layout; then check the whole content as `posbot validate` does. If it fails to load, or
    shows a problem it did not have before (an example another intent owns, one that would be
    answered as another intent), the file is put back byte for byte and ContentError says why."""
    content = load_content(content.root)  # the files as they are now, not as the caller last loaded them
    if intent_id not in content.by_id:
        raise ContentError([Problem("intents", None, intent_id, f"没有 id 为 {intent_id} 的意图（posbot intents 列出全部）")])
    intent = content.by_id[intent_id]
    stripped = [mask_card_numbers(e).strip() for e in examples]  # content is public: never a card number
    if not stripped or not all(stripped):
        raise ContentError([Problem("intents", None, intent_id, "空的问题不能当例句")])
    new = [e for e in dict.fromkeys(stripped) if e not in intent.examples]
    if not new:
        return content
    if not intent.examples:
        raise ContentError([Problem(content.locate(intent_id).file, content.locate(intent_id).line, intent_id,
                                    "这个意图还没有 examples 列表：先手动加上一条，再用复核添加")])
    where = content.locate(intent_id, "examples", len(intent.examples) - 1)
    if where.line is None:
        raise ContentError([Problem(where.file, None, intent_id, "找不到例句写在文件的哪一行，请手动添加")])
    path = content.root / where.file
    original = path.read_bytes().decode("utf-8")  # not read_text: it would turn \r\n into \n
    lines = original.splitlines(keepends=True)
    last = lines[where.line - 1]
    indent = last[: len(last) - len(last.lstrip())]
    lines[where.line:where.line] = [f"{indent}- {_scalar(example)}\n" for example in new]
    write_atomic(path, "".join(lines))
    try:
        updated = load_content(content.root)
        if not set(new) <= set(updated.by_id[intent_id].examples):
            raise ContentError([Problem(where.file, where.line, intent_id, "例句没有写到预期的位置")])
        introduced = _new_problems(content, updated)
        if introduced:
            raise ExamplesRefused(introduced)
    except BaseException:  # a kill between write and check must not leave the content broken either
        write_atomic(path, original)
        raise
    return updated


def _new_problems(before: Content, after: Content) -> list[Problem]:
    """What `posbot validate` reports for `after` that it did not for `before` (lines aside: the
    inserted examples move the lines below them)."""
    problems = check_content(after)
    if not problems:
        return []
    known = {(p.file, p.field, p.message) for p in check_content(before)}
    return [p for p in problems if (p.file, p.field, p.message) not in known]


def _scalar(text: str) -> str:
    """`text` as a one-line YAML scalar, quoted when YAML would read it as something else."""
    dumped = yaml.safe_dump(text, allow_unicode=True, default_flow_style=True, width=10_000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


def start_draft(root: Path, intent_id: str, examples: Sequence[str]) -> Path:
    """A draft symptom intent under intents/drafts/ (not loaded) for an admin to finish and move."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", intent_id):
        raise ContentError([Problem(DRAFTS, None, intent_id, "id 只能用小写英文字母、数字和下划线，以字母开头（例如 cash_register）")])
    path = root / DRAFTS / f"{intent_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    masked = [mask_card_numbers(example) for example in examples]
    draft = {"symptoms": [{"id": intent_id, "title": "TODO 标题", "answer": "TODO 简短说明",
                           "now": "TODO 现在先做什么（一行，≤ 40 字）", "steps": ["TODO 第一步"], "examples": list(dict.fromkeys(masked))}]}
    header = "# 草稿：补全 title / answer / now / steps 后移到 intents/symptoms/，再运行 make validate。\n"
    path.write_text(header + yaml.safe_dump(draft, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
