"""The review inbox: questions the bot fell back on or had to clarify, grouped by similarity, and
the admin's actions on them — add as an example (written into the YAML, validated), ignore
forever, or start a draft for a new intent."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import yaml
from rapidfuzz import fuzz

from bot.core.cards import mask_card_numbers
from bot.core.errors import ContentError, Problem
from bot.core.files import write_atomic
from bot.core.loader import Content, load_content
from bot.core.match import Matcher
from bot.storage.questions import LoggedQuestion

SIMILAR = 80.0
"""token_sort_ratio (0..100) from which two normalised questions count as the same question."""
DRAFTS = "intents/drafts"


@dataclass(frozen=True)
class Group:
    questions: tuple[LoggedQuestion, ...]
    suggestion: str | None
    """What merchants picked after the clarification, else the bot's best guess."""

    @property
    def text(self) -> str:
        return self.questions[0].question

    @property
    def ids(self) -> list[int]:
        return [q.id for q in self.questions]


def group(questions: Sequence[LoggedQuestion], matcher: Matcher) -> list[Group]:
    """Similar questions together, most frequent first (ties: most recent first)."""
    buckets: list[tuple[str, list[LoggedQuestion]]] = []
    for question in questions:
        form = matcher.match_form(question.question) or question.question.strip()
        for key, members in buckets:
            if fuzz.token_sort_ratio(form, key, processor=None) >= SIMILAR:
                members.append(question)
                break
        else:
            buckets.append((form, [question]))
    groups = [Group(tuple(members), _suggestion(members)) for _, members in buckets]
    return sorted(groups, key=lambda g: (len(g.questions), max(q.at for q in g.questions)), reverse=True)


def _suggestion(members: list[LoggedQuestion]) -> str | None:
    picked = Counter(q.picked for q in members if q.picked and q.picked != "none")
    if picked:
        return picked.most_common(1)[0][0]
    guesses = Counter(q.candidates[0][0] for q in members if q.candidates)
    return guesses.most_common(1)[0][0] if guesses else None


def add_examples(content: Content, intent_id: str, examples: Sequence[str]) -> Content:
    """Write `examples` under the intent's examples in its YAML file, keeping the file's comments
    and layout; reload and validate once; put the file back as it was if anything fails."""
    if intent_id not in content.by_id:
        raise ContentError([Problem("intents", None, intent_id, "no such intent")])
    intent = content.by_id[intent_id]
    stripped = [mask_card_numbers(e).strip() for e in examples]  # content is public: never a card number
    if not stripped or not all(stripped):
        raise ContentError([Problem("intents", None, intent_id, "an empty question cannot be an example")])
    new = [e for e in dict.fromkeys(stripped) if e not in intent.examples]
    if not new:
        return content
    if not intent.examples:
        raise ContentError([Problem(content.locate(intent_id).file, content.locate(intent_id).line, intent_id,
                                    "the intent has no examples list yet; add one by hand first")])
    where = content.locate(intent_id, "examples", len(intent.examples) - 1)
    if where.line is None:
        raise ContentError([Problem(where.file, None, intent_id, "cannot tell where the examples are written")])
    path = content.root / where.file
    original = path.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)
    last = lines[where.line - 1]
    indent = last[: len(last) - len(last.lstrip())]
    lines[where.line:where.line] = [f"{indent}- {_scalar(example)}\n" for example in new]
    write_atomic(path, "".join(lines))
    try:
        updated = load_content(content.root)
    except ContentError:
        write_atomic(path, original)
        raise
    if not set(new) <= set(updated.by_id[intent_id].examples):
        write_atomic(path, original)
        raise ContentError([Problem(where.file, where.line, intent_id, "the examples did not land where expected")])
    return updated


def _scalar(text: str) -> str:
    """`text` as a one-line YAML scalar, quoted when YAML would read it as something else."""
    dumped = yaml.safe_dump(text, allow_unicode=True, default_flow_style=True, width=10_000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


def start_draft(root: Path, intent_id: str, examples: Sequence[str]) -> Path:
    """A draft symptom intent under intents/drafts/ (not loaded) for an admin to finish and move."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", intent_id):
        raise ContentError([Problem(DRAFTS, None, intent_id, "ids are snake_case ASCII, e.g. cash_register")])
    path = root / DRAFTS / f"{intent_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    masked = [mask_card_numbers(example) for example in examples]
    draft = {"symptoms": [{"id": intent_id, "title": "TODO 标题", "answer": "TODO 简短说明",
                           "now": "TODO 现在先做什么（一行，≤ 40 字）", "steps": ["TODO 第一步"], "examples": list(dict.fromkeys(masked))}]}
    header = ("# 草稿：补全 title / answer / now / steps 后移到 intents/symptoms/，再运行 posbot validate。\n"
              "# Draft: fill in title / answer / now / steps, move to intents/symptoms/, run posbot validate.\n")
    path.write_text(header + yaml.safe_dump(draft, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
