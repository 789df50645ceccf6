"""Load intents/ into a validated, immutable Content value, or say exactly what is wrong and where."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml
from pydantic import BaseModel, ValidationError

from bot.core.errors import ContentError, Problem
from bot.core.models import CodeIntent, Intent, IntentFile, Lexicon, SymptomIntent, code_intent_id

try:  # the C parser is several times faster and still reports line marks
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

INTENT_DIRS = ("codes", "symptoms")
LEXICON_FILE = "lexicon.yaml"


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
    locations: Mapping[tuple[str, ...], Location] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", MappingProxyType({intent.id: intent for intent in self.intents}))
        object.__setattr__(
            self,
            "by_code",
            MappingProxyType({i.code: i for i in self.intents if isinstance(i, CodeIntent)}),
        )

    by_id: Mapping[str, Intent] = field(init=False, repr=False)
    by_code: Mapping[str, CodeIntent] = field(init=False, repr=False)

    @property
    def codes(self) -> tuple[CodeIntent, ...]:
        return tuple(i for i in self.intents if isinstance(i, CodeIntent))

    @property
    def symptoms(self) -> tuple[SymptomIntent, ...]:
        return tuple(i for i in self.intents if isinstance(i, SymptomIntent))

    def locate(self, intent_id: str, *path: str | int) -> Location:
        """Where an intent (or one of its fields, e.g. ("examples", 3)) is written."""
        key = (intent_id, *map(str, path))
        while key:
            if key in self.locations:
                return self.locations[key]
            key = key[:-1]
        return Location(file="?", line=None)


def default_root() -> Path:
    """The repository's intents/ directory (the content ships next to the package)."""
    return Path(__file__).resolve().parents[2] / "intents"


def load_content(root: Path | str | None = None) -> Content:
    """Load and validate every file under `root`; raise ContentError listing all problems."""
    root = Path(root) if root is not None else default_root()
    if not root.is_dir():
        raise ContentError([Problem(str(root), None, "", "content directory not found")])
    problems: list[Problem] = []
    digest = hashlib.sha256()
    intents: list[Intent] = []
    locations: dict[tuple[str, ...], Location] = {}

    files = sorted(p for d in INTENT_DIRS for p in (root / d).glob("**/*.yaml"))
    if not files:
        problems.append(Problem(str(root), None, "", "no intent files found under codes/ or symptoms/"))
    for path in files:
        shown = _shown(path, root)
        parsed = _parse(path, shown, problems, digest)
        if parsed is None:
            continue
        data, node = parsed
        model = _validate(IntentFile, data, node, shown, problems)
        if model is None:
            continue
        for key in ("codes", "symptoms"):
            for index, intent in enumerate(getattr(model, key)):
                intents.append(intent)
                _record_locations(locations, intent, node, (key, index), shown)

    lexicon = Lexicon()
    lexicon_path = root / LEXICON_FILE
    if lexicon_path.exists():
        parsed = _parse(lexicon_path, _shown(lexicon_path, root), problems, digest)
        if parsed is not None:
            model = _validate(Lexicon, parsed[0], parsed[1], _shown(lexicon_path, root), problems)
            lexicon = model if model is not None else lexicon

    problems.extend(_cross_checks(intents, locations))
    if problems:
        raise ContentError(problems)
    return Content(root=root, intents=tuple(intents), lexicon=lexicon,
                   version=digest.hexdigest()[:12], locations=locations)


def _shown(path: Path, root: Path) -> str:
    """A path as admins see it: relative to the directory above intents/."""
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _parse(path: Path, shown: str, problems: list[Problem], digest: Any) -> tuple[Any, yaml.Node] | None:
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(shown, None, "", f"cannot read file: {error}"))
        return None
    digest.update(shown.encode() + b"\0" + raw + b"\0")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problems.append(Problem(shown, line, "", f"not valid YAML: {error.problem or error}"))
        return None
    except yaml.YAMLError as error:
        problems.append(Problem(shown, None, "", f"not valid YAML: {error}"))
        return None
    finally:
        loader.dispose()
    if data is None:
        problems.append(Problem(shown, None, "", "file is empty"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(shown, node.start_mark.line + 1, "", "the top level must be a mapping of keys"))
        return None
    return data, node


def _validate(model: type[BaseModel], data: Any, node: yaml.Node, shown: str,
              problems: list[Problem]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for issue in error.errors():
            loc = tuple(issue["loc"])
            problems.append(Problem(shown, _line_of(node, loc), _dotted(loc), _humane(issue)))
        return None


def _humane(issue: Mapping[str, Any]) -> str:
    """Pydantic messages, reworded where admins most often trip."""
    kind, value = issue["type"], issue.get("input")
    if kind == "string_type" and isinstance(value, (int, float)):
        return f"must be text: put it in quotes (YAML read {value!r} as a number, e.g. \"03\" not 03)"
    if kind == "string_pattern_mismatch" and "0-9A-Z" in str(issue.get("ctx", {}).get("pattern", "")):
        return f"{value!r} is not a response code: two digits or capital letters, quoted, e.g. \"51\" or \"A0\""
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; see intents/README.md)"
    if kind == "missing":
        return "this field is required"
    if kind == "enum":
        return f"{value!r} is not allowed; expected {issue.get('ctx', {}).get('expected', '')}"
    return issue["msg"]


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


def _record_locations(locations: dict[tuple[str, ...], Location], intent: Intent, file_node: yaml.Node,
                      path: tuple[Any, ...], shown: str) -> None:
    locations[(intent.id,)] = Location(shown, _line_of(file_node, path))
    for field_name in ("aliases", "examples"):
        for index in range(len(getattr(intent, field_name))):
            locations[(intent.id, field_name, str(index))] = Location(
                shown, _line_of(file_node, (*path, field_name, index)))


def _cross_checks(intents: list[Intent], locations: Mapping[tuple[str, ...], Location]) -> list[Problem]:
    problems: list[Problem] = []

    def at(intent_id: str) -> Location:
        return locations.get((intent_id,), Location("?", None))

    seen_ids: dict[str, str] = {}
    seen_codes: dict[str, str] = {}
    for intent in intents:
        where = at(intent.id)
        if intent.id in seen_ids:
            first = at(seen_ids[intent.id])
            problems.append(Problem(where.file, where.line, "id",
                                    f"duplicate id {intent.id!r} (first at {first.file}:{first.line})"))
        seen_ids[intent.id] = intent.id
        if isinstance(intent, CodeIntent):
            if intent.id != code_intent_id(intent.code):
                problems.append(Problem(where.file, where.line, "id",
                                        f"id should be {code_intent_id(intent.code)!r} for code {intent.code}"))
            if intent.code in seen_codes:
                first = at(seen_codes[intent.code])
                problems.append(Problem(where.file, where.line, "code",
                                        f"code {intent.code} is defined twice (first at {first.file}:{first.line})"))
            seen_codes[intent.code] = intent.id
    return problems
