"""Load intents/ into a validated, immutable Content value, or say exactly what is wrong and where."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Collection, Mapping, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.core.errors import ContentError, Problem
from bot.core.slots import CARD_TYPES, CHARGED, TERMINAL_TYPES
from bot.core.humane import KIND_WORDS, RECURSIVE_ALIAS, TARGET_WORDS, pydantic_problem, unreadable, yaml_problem
from bot.core.models import (CodeIntent, Flow, Followup, Intent, IntentFile, KnowledgeFile, Lexicon, ProblemIntent,
                             RedirectIntent, RedlineIntent, Script, SmalltalkIntent, SymptomIntent, code_intent_id)

try:  # the C parser is several times faster and still reports line marks
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

MAX_ALIASES = 100
"""Aliases (`*name`) one content file may use; the shipped content uses none."""
MAX_EXPANDED = 1_000_000
"""Characters a content file may hold once every alias is expanded (the largest shipped file has
30,000): a 500 KB file of aliases to one long string would otherwise grow to gigabytes in memory."""
_T = TypeVar("_T")
INTENT_DIRS = ("intents/codes", "intents/symptoms")
INTENT_FILES = ("intents/smalltalk.yaml", "intents/redirects.yaml", "intents/redlines.yaml")
"""Intents that are not a terminal problem, one file per kind (each optional)."""
KNOWLEDGE_DIRS = ("knowledge/flows", "knowledge/scripts", "knowledge/followups")
LEXICON_FILE = "intents/lexicon.yaml"


_PHRASE_FIELDS = {"codes": ("aliases", "examples", "steps"), "symptoms": ("aliases", "examples", "steps", "not_examples")} | {
    key: ("aliases", "examples", "not_examples") for key in ("smalltalk", "redirects", "redlines")}
"""Fields whose items are located line by line (steps: `posbot validate` measures each one)."""


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None


@dataclass(frozen=True)
class Content:
    """Everything posbot knows, loaded once. `version` changes whenever any file's bytes change."""

    root: Path
    intents: tuple[Intent, ...]
    lexicon: Lexicon
    version: str
    flows: tuple[Flow, ...] = ()
    scripts: tuple[Script, ...] = ()
    followups: tuple[Followup, ...] = ()
    locations: Mapping[tuple[str, ...], Location] = field(default_factory=dict)
    by_id: Mapping[str, Intent] = field(init=False, repr=False)
    by_code: Mapping[str, CodeIntent] = field(init=False, repr=False)
    flows_by_id: Mapping[str, Flow] = field(init=False, repr=False)
    scripts_by_id: Mapping[str, Script] = field(init=False, repr=False)

    def __reduce__(self) -> tuple[type[Content], tuple[object, ...]]:
        # pickled by its fields (bot/core/contentcache.py); the lookups made from them are made again
        return (Content, (self.root, self.intents, self.lexicon, self.version, self.flows, self.scripts,
                          self.followups, dict(self.locations)))

    def __post_init__(self) -> None:
        def frozen(mapping: dict[str, Any]) -> Mapping[str, Any]:
            return MappingProxyType(mapping)

        object.__setattr__(self, "by_id", frozen({intent.id: intent for intent in self.intents}))
        object.__setattr__(self, "by_code", frozen({i.code: i for i in self.intents if isinstance(i, CodeIntent)}))
        object.__setattr__(self, "flows_by_id", frozen({flow.id: flow for flow in self.flows}))
        object.__setattr__(self, "scripts_by_id", frozen({script.id: script for script in self.scripts}))

    @property
    def codes(self) -> tuple[CodeIntent, ...]:
        return self._only(CodeIntent)

    @property
    def symptoms(self) -> tuple[SymptomIntent, ...]:
        return self._only(SymptomIntent)

    @property
    def problems(self) -> tuple[ProblemIntent, ...]:
        """Code and symptom intents: the ones with steps, flows and scripts."""
        return tuple(i for i in self.intents if isinstance(i, (CodeIntent, SymptomIntent)))

    @property
    def smalltalk(self) -> tuple[SmalltalkIntent, ...]:
        return self._only(SmalltalkIntent)

    @property
    def redirects(self) -> tuple[RedirectIntent, ...]:
        return self._only(RedirectIntent)

    @property
    def redlines(self) -> tuple[RedlineIntent, ...]:
        return self._only(RedlineIntent)

    def _only(self, kind: type[_T]) -> tuple[_T, ...]:
        return tuple(i for i in self.intents if isinstance(i, kind))

    def locate(self, *key: str | int) -> Location:
        """Where an intent, flow or script (or one of its fields, e.g. ("code_51", "examples", 3))
        is written."""
        path = tuple(map(str, key))
        while path:
            if path in self.locations:
                return self.locations[path]
            path = path[:-1]
        return Location(file="?", line=None)

    def intent_id(self, ref: str) -> str | None:
        """An intent id for a reference written in knowledge/: an intent id or a response code."""
        if ref in self.by_id:
            return ref
        intent = self.by_code.get(ref)
        return intent.id if intent is not None else None

    def flow_for(self, intent_id: str) -> Flow | None:
        """The flow an intent leads to: one that names it, else (code intents) its party's default."""
        return _named_or_by_party(self, intent_id, self.flows)

    def script_for(self, intent_id: str) -> Script | None:
        """The customer script an intent offers: one that names it, else its party's default."""
        return _named_or_by_party(self, intent_id, self.scripts)


_Named = TypeVar("_Named", Flow, Script)


def _named_or_by_party(content: Content, intent_id: str, items: tuple[_Named, ...]) -> _Named | None:
    for item in items:
        if any(content.intent_id(ref) == intent_id for ref in item.intents):
            return item
    intent = content.by_id.get(intent_id)
    if isinstance(intent, CodeIntent):
        for item in items:
            if intent.party in item.parties:
                return item
    return None


def default_root() -> Path:
    """The repository root: the content (intents/, knowledge/) ships next to the package."""
    return Path(__file__).resolve().parents[2]


def load_content(root: Path | str | None = None) -> Content:
    """Load and validate intents/ and knowledge/ under `root`; raise ContentError listing all problems."""
    root = Path(root) if root is not None else default_root()
    if not (root / "intents").is_dir():
        raise ContentError([Problem(str(root), None, "", "找不到内容目录（这里面应当有 intents/ 文件夹）")])
    problems: list[Problem] = []
    digest = hashlib.sha256()
    intents: list[Intent] = []
    placed: list[tuple[Intent, Location]] = []
    flows: list[Flow] = []
    scripts: list[Script] = []
    followups: list[Followup] = []
    locations: dict[tuple[str, ...], Location] = {}

    files = sorted(p for d in INTENT_DIRS for p in (root / d).glob("**/*.yaml"))
    files += [root / name for name in INTENT_FILES if (root / name).exists()]
    if not files:
        problems.append(Problem(str(root), None, "", "intents/codes 和 intents/symptoms 下面一个意图文件也没有"))
    for path in files:
        loaded = _load_file(IntentFile, path, root, problems, digest)
        if loaded is None:
            continue
        model, node, shown = loaded
        for key in IntentFile.KEYS:
            for index, intent in enumerate(getattr(model, key)):
                intents.append(intent)
                _record_locations(locations, intent.id, node, (key, index), shown, _PHRASE_FIELDS[key], intent)
                placed.append((intent, locations[(intent.id,)]))

    for path in sorted(p for d in KNOWLEDGE_DIRS for p in (root / d).glob("**/*.yaml")):
        loaded = _load_file(KnowledgeFile, path, root, problems, digest)
        if loaded is None:
            continue
        model, node, shown = loaded
        for index, flow in enumerate(model.flows):
            flows.append(flow)
            _record_locations(locations, "flow:" + flow.id, node, ("flows", index), shown, ("steps",), flow)
        for index, script in enumerate(model.scripts):
            scripts.append(script)
            _record_locations(locations, "script:" + script.id, node, ("scripts", index), shown, (), script)
        for index, followup in enumerate(model.followups):
            followups.append(followup)
            _record_locations(locations, "followup:" + followup.id, node, ("followups", index), shown,
                              ("examples", "not_examples", "answers"), followup)

    lexicon = Lexicon()
    lexicon_path = root / LEXICON_FILE
    if lexicon_path.exists():
        loaded = _load_file(Lexicon, lexicon_path, root, problems, digest)
        lexicon = loaded[0] if loaded is not None else lexicon

    problems.extend(_cross_checks(placed))
    if problems:
        raise ContentError(problems)
    content = Content(root=root, intents=tuple(intents), lexicon=lexicon, version=digest.hexdigest()[:12],
                      flows=tuple(flows), scripts=tuple(scripts), followups=tuple(followups), locations=locations)
    problems = _reference_checks(content)
    if problems:
        raise ContentError(problems)
    return content


def content_version(root: Path | str | None = None) -> str:
    """The version `load_content(root)` would report for the files there now, without parsing or
    validating them: cheap enough to tell whether anything changed since a version was seen."""
    root = Path(root) if root is not None else default_root()
    digest = hashlib.sha256()
    for path in content_files(root):
        try:
            raw = path.read_bytes()
            raw.decode("utf-8")
        except (OSError, UnicodeDecodeError):  # load_content leaves these out of its digest too
            continue
        digest.update(_shown(path, root).encode() + b"\0" + raw + b"\0")
    return digest.hexdigest()[:12]


def content_files(root: Path) -> list[Path]:
    """The files load_content(root) reads, in its order: the intent folders, the intent files beside them,
    knowledge, the lexicon (listed even when missing)."""
    return (sorted(p for d in INTENT_DIRS for p in (root / d).glob("**/*.yaml"))
            + [root / name for name in INTENT_FILES if (root / name).exists()]
            + sorted(p for d in KNOWLEDGE_DIRS for p in (root / d).glob("**/*.yaml")) + [root / LEXICON_FILE])


def _load_file(model: type[BaseModel], path: Path, root: Path, problems: list[Problem],
               digest: Any) -> tuple[Any, yaml.Node, str] | None:
    shown = _shown(path, root)
    parsed = _parse(path, shown, problems, digest)
    if parsed is None:
        return None
    validated = _validate(model, parsed[0], parsed[1], shown, problems)
    return None if validated is None else (validated, parsed[1], shown)


def _shown(path: Path, root: Path) -> str:
    """A path as admins see it: relative to the content root (intents/codes/x.yaml)."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _parse(path: Path, shown: str, problems: list[Problem], digest: Any) -> tuple[Any, yaml.Node] | None:
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(shown, None, "", f"读不了这个文件：{unreadable(error)}"))
        return None
    digest.update(shown.encode() + b"\0" + raw + b"\0")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            expansion = _expansion_problem(node)
            if expansion is not None:
                problems.append(Problem(shown, None, "", expansion))
                return None
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problems.append(Problem(shown, line, "", yaml_problem(error)))
        return None
    except yaml.YAMLError as error:
        problems.append(Problem(shown, None, "", yaml_problem(error)))
        return None
    finally:
        loader.dispose()
    if data is None:
        problems.append(Problem(shown, None, "", "文件是空的"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(shown, node.start_mark.line + 1, "", "最外层要写成“键: 值”（例如 codes:、symptoms:），不能是列表或一句文字"))
        return None
    return data, node


def _expansion_problem(root: yaml.Node) -> str | None:
    """Why a composed document must not be constructed, or None. Composing is linear in the text
    (an alias is a second reference to one node); constructing and validating expand every alias,
    so they are bounded here first, walking the node graph without recursion."""
    aliases = 0
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_EXPANDED:
                return f"别名（*名字）展开后太大：超过 {MAX_EXPANDED:,} 个字符"
            continue
        if key in sizes:  # a node met again: an alias
            aliases += 1
            if aliases > MAX_ALIASES:
                return f"别名（*名字）用得太多：超过 {MAX_ALIASES} 个"
            continue
        if key in entered:
            return RECURSIVE_ALIAS
        entered.add(key)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = len(node.value)
            continue
        stack.append((node, True))
        for child in reversed(_children(node)):
            if id(child) in entered and id(child) not in sizes:
                return RECURSIVE_ALIAS
            stack.append((child, False))
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _validate(model: type[BaseModel], data: Any, node: yaml.Node, shown: str,
              problems: list[Problem]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        issues = error.errors()
        locs = [tuple(issue["loc"]) for issue in issues]
        for issue, loc in zip(issues, locs, strict=True):
            # pydantic counts a list's items after dropping the broken ones ("at least 3, not 1" for six
            # written); the broken items are reported themselves, so the count would only mislead
            if issue["type"] in ("too_short", "too_long") and any(o[:len(loc)] == loc and o != loc for o in locs):
                continue
            problems.append(Problem(shown, _line_of(node, loc), _dotted(loc), pydantic_problem(issue)))
        return None


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node, loc: tuple[Any, ...]) -> int:
    """Follow a pydantic error location through the YAML node tree to the nearest line."""
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    child = value_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _record_locations(locations: dict[tuple[str, ...], Location], key: str, file_node: yaml.Node,
                      path: tuple[Any, ...], shown: str, fields: tuple[str, ...], item: Any) -> None:
    locations[(key,)] = Location(shown, _line_of(file_node, path))
    for field_name in fields:
        for index in range(len(getattr(item, field_name))):
            locations[(key, field_name, str(index))] = Location(
                shown, _line_of(file_node, (*path, field_name, index)))


def _cross_checks(placed: list[tuple[Intent, Location]]) -> list[Problem]:
    """Ids and codes written twice. Each intent comes with where it is written: `locations` is keyed
    by id, so for a duplicate it would name the second place twice."""
    problems: list[Problem] = []
    first_id: dict[str, Location] = {}
    first_code: dict[str, Location] = {}
    for intent, where in placed:
        if intent.id in first_id:
            first = first_id[intent.id]
            problems.append(Problem(where.file, where.line, "id",
                                    f"id {intent.id!r} 重复了（第一次出现在 {first.file}:{first.line}）"))
        first_id.setdefault(intent.id, where)
        if isinstance(intent, CodeIntent):
            if intent.id != code_intent_id(intent.code):
                problems.append(Problem(where.file, where.line, "id",
                                        f"应答码 {intent.code} 的 id 应当是 {code_intent_id(intent.code)!r}"))
            if intent.code in first_code:
                first = first_code[intent.code]
                problems.append(Problem(where.file, where.line, "code",
                                        f"应答码 {intent.code} 写了两次（第一次在 {first.file}:{first.line}）"))
            first_code.setdefault(intent.code, where)
    return problems


def _reference_checks(content: Content) -> list[Problem]:
    """References in knowledge/ must resolve, or the dialog engine would meet them at run time."""
    problems: list[Problem] = []

    def report(key: str, field_name: str, message: str) -> None:
        where = content.locate(key)
        problems.append(Problem(where.file, where.line, field_name, message))

    for kind, items in (("flow", content.flows), ("script", content.scripts)):
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                report(f"{kind}:{item.id}", "id", f"{KIND_WORDS[kind]} id {item.id!r} 重复了")
            seen.add(item.id)
            for index, ref in enumerate(item.intents):
                if content.intent_id(ref) is None:
                    report(f"{kind}:{item.id}", f"{item.id}.intents[{index}]", f"没有叫 {ref!r} 的意图或应答码")
        named: dict[str, str] = {}
        for item in items:
            for ref in item.intents:
                intent_id = content.intent_id(ref)
                if intent_id is not None and named.setdefault(intent_id, item.id) != item.id:
                    report(f"{kind}:{item.id}", f"{item.id}.intents",
                           f"{ref} 已经写在{KIND_WORDS[kind]} {named[intent_id]!r} 里了：一个意图只能对应一个{KIND_WORDS[kind]}")
    for flow in content.flows:
        step_ids = [step.id for step in flow.steps]
        for n, step in enumerate(flow.steps):
            key = f"flow:{flow.id}"
            if step_ids.count(step.id) > 1 and step_ids.index(step.id) != n:
                report(key, f"{flow.id}.steps[{n}].id", f"步骤 id {step.id!r} 重复了")
            for c, choice in enumerate(step.choices):
                kind, target = choice.target
                missing = ((kind == "next" and target not in step_ids)
                           or (kind == "flow" and target not in content.flows_by_id)
                           or (kind == "script" and target not in content.scripts_by_id))
                if missing:
                    where = content.locate(key, "steps", n)
                    problems.append(Problem(where.file, where.line, f"{flow.id}.{step.id}.choices[{c}].{kind}",
                                            f"没有 id 为 {target!r} 的{TARGET_WORDS[kind]}"))
                for value in choice.when:
                    if step.answered_by is not None and not _known_value(content, step.answered_by, value):
                        where = content.locate(key, "steps", n)
                        problems.append(Problem(where.file, where.line, f"{flow.id}.{step.id}.choices[{c}].when",
                                                f"{value!r} 不是 {step.answered_by} 能有的值（{_VALUES_SHOWN[step.answered_by]}）"))
            seen_values = [v for choice in step.choices for v in choice.when]
            for value in sorted({v for v in seen_values if seen_values.count(v) > 1}):
                where = content.locate(key, "steps", n)
                problems.append(Problem(where.file, where.line, f"{flow.id}.{step.id}.when",
                                        f"{value!r} 写在了两个按钮的 when 里：一个值只能选一个按钮"))
    seen_followups: set[str] = set()
    for followup in content.followups:
        key = f"followup:{followup.id}"
        if followup.id in seen_followups:
            report(key, "id", f"追问 id {followup.id!r} 重复了")
        seen_followups.add(followup.id)
        for a, answer in enumerate(followup.answers):
            for slot, value in answer.known.items():
                if not _known_value(content, slot, value) or value == "*":
                    where = content.locate(key, "answers", a)
                    problems.append(Problem(where.file, where.line, f"{followup.id}.answers[{a}].known.{slot}",
                                            f"{value!r} 不是 {slot} 能有的值（{_VALUES_SHOWN[slot]}）"))
            for t, ref in enumerate(answer.topics):
                if content.intent_id(ref) is None:
                    where = content.locate(key, "answers", a)
                    problems.append(Problem(where.file, where.line, f"{followup.id}.answers[{a}].topics[{t}]",
                                            f"没有叫 {ref!r} 的意图或应答码（话题要写意图 id 或应答码）"))
    return problems


_VALUES_SHOWN = {"code": "应答码，例如 \"51\"，或 \"*\"", "charged": "yes 或 no", "card_type": "信用卡、储蓄卡、外卡",
                 "terminal": "电签、传统、智能POS"}


def _known_value(content: Content, slot: str, value: str) -> bool:
    """Whether `value` is one the context slot can hold (so a `when` can ever pick its choice)."""
    if value == "*":
        return True
    allowed: dict[str, Collection[str]] = {"code": content.by_code, "charged": CHARGED, "card_type": CARD_TYPES,
                                  "terminal": TERMINAL_TYPES}
    return value in allowed[slot]
