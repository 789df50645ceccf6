"""The JSON Schemas for editors: committed and current, wired to the same files the loader reads,
accepting every shipped file and rejecting what the loader rejects."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.core.errors import ContentError
from bot.core.loader import INTENT_DIRS, INTENT_FILES, KNOWLEDGE_DIRS, LEXICON_FILE, load_content
from bot.core.schema import GLOBS, SCHEMAS, json_schema, stale_schemas, write_schemas

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini"


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema(SCHEMAS[name]))


def schema_errors(name: str, text: str) -> list[str]:
    data = yaml.load(text, Loader=yaml.CSafeLoader)  # the loader's parser: YAML 1.1, as posbot reads it
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(name).iter_errors(data)]


def editor_matches(glob: str, relative: str) -> bool:
    """How the YAML extension matches a yaml.schemas glob: `*` is `.*`, anchored at the end only."""
    pattern = re.escape(glob).replace(r"\*", ".*")
    return re.search(pattern + "$", "file:///somewhere/" + relative) is not None


def loader_files(name: str) -> set[str]:
    dirs = {"intent-file.schema.json": INTENT_DIRS, "knowledge-file.schema.json": KNOWLEDGE_DIRS}.get(name)
    if dirs is None:
        return {LEXICON_FILE}
    files = {p.relative_to(ROOT).as_posix() for d in dirs for p in (ROOT / d).glob("**/*.yaml")}
    if name == "intent-file.schema.json":
        files |= {f for f in INTENT_FILES if (ROOT / f).exists()}
    return files


def test_committed_schemas_are_up_to_date() -> None:
    assert stale_schemas(ROOT / "schemas") == [], "models changed: run `posbot schema` and commit schemas/"


def test_write_then_nothing_is_stale(tmp_path: Path) -> None:
    assert stale_schemas(tmp_path) == sorted(SCHEMAS)
    written = write_schemas(tmp_path / "out")
    assert [p.name for p in written] == list(SCHEMAS)
    assert stale_schemas(tmp_path / "out") == []
    text = written[0].read_text(encoding="utf-8")
    assert text.endswith("}\n") and "\\u" not in text  # pretty, UTF-8, trailing newline
    (tmp_path / "out" / "lexicon.schema.json").write_text("{}\n", encoding="utf-8")
    assert stale_schemas(tmp_path / "out") == ["lexicon.schema.json"]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_valid_draft_2020_12_and_says_what_it_is_for(name: str) -> None:
    schema = json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert all(glob in schema["description"] for glob in GLOBS[name])


def test_vscode_settings_map_every_schema_to_its_files() -> None:
    settings = json.loads((ROOT / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    assert settings["yaml.schemas"] == {f"./schemas/{name}": list(GLOBS[name]) for name in SCHEMAS}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_globs_cover_exactly_the_files_the_loader_reads(name: str) -> None:
    content = {p.relative_to(ROOT).as_posix() for d in ("intents", "knowledge") for p in (ROOT / d).rglob("*.yaml")}
    matched = {f for f in content if any(editor_matches(glob, f) for glob in GLOBS[name])}
    assert matched == loader_files(name)


def shipped() -> list[tuple[str, str]]:
    return sorted((name, f) for name in SCHEMAS for f in loader_files(name))


@pytest.mark.parametrize(("name", "relative"), shipped())
def test_every_shipped_file_validates_against_its_schema(name: str, relative: str) -> None:
    assert schema_errors(name, (ROOT / relative).read_text(encoding="utf-8")) == []


def test_mini_fixture_validates_too() -> None:
    for name, relative in (("intent-file.schema.json", "intents/codes/common.yaml"),
                           ("intent-file.schema.json", "intents/symptoms/common.yaml"),
                           ("knowledge-file.schema.json", "knowledge/flows/mini.yaml"),
                           ("knowledge-file.schema.json", "knowledge/scripts/mini.yaml"),
                           ("lexicon.schema.json", "intents/lexicon.yaml")):
        assert schema_errors(name, (MINI / relative).read_text(encoding="utf-8")) == [], relative


CODES = "intents/codes/common.yaml"
SYMPTOMS = "intents/symptoms/common.yaml"
FLOWS = "knowledge/flows/mini.yaml"
LEXICON = "intents/lexicon.yaml"
SCHEMA_FOR = {CODES: "intent-file.schema.json", SYMPTOMS: "intent-file.schema.json",
              FLOWS: "knowledge-file.schema.json", LEXICON: "lexicon.schema.json"}

BROKEN: dict[str, tuple[str, str, str]] = {
    # case: (file in the mini fixture, replace this, with that)
    "party shop": (CODES, "party: terminal", "party: shop"),
    "unquoted 03": (CODES, 'code: "03"', "code: 03"),
    "unquoted 51": (CODES, 'code: "51"', "code: 51"),
    "lower-case code": (CODES, 'code: "A0"', 'code: "a0"'),
    "code id without code_": (CODES, "id: code_51", "id: yue_51"),
    "unknown field": (CODES, "    confidence: low\n", "    confidence: low\n    confidense: low\n"),
    "missing field": (CODES, "    meaning: 商户或终端不被认可。\n", ""),
    "blank name": (CODES, "name: 余额不足", 'name: "   "'),
    "confidence sure": (CODES, "confidence: low", "confidence: sure"),
    "unquoted code in a flow": (FLOWS, 'intents: [signin_failure, "A0"]', "intents: [signin_failure, 51]"),
    "choice with two targets": (FLOWS, "            end: escalate\n  - id: card_side",
                                "            end: escalate\n            next: resign\n  - id: card_side"),
    "choice with no target": (FLOWS, "          - label: 联系服务商\n            end: escalate\n",
                              "          - label: 联系服务商\n"),
    "label too long": (FLOWS, "label: 是白纸", "label: 是白纸是白纸是白纸是白纸是白纸"),
    "synonym group of one": (LEXICON, "  - [小票, 签购单, 票子]", "  - [小票]"),
}


LOADER_ONLY: dict[str, tuple[str, str, str]] = {
    # rules a per-file JSON Schema cannot express; the editor stays silent, `posbot validate` reports them
    "code id not matching the code": (CODES, "id: code_51", "id: code_52"),
    "duplicate code": (CODES, 'code: "A0"', 'code: "51"'),
    "next names no step": (FLOWS, "next: repair", "next: repiar"),
    "flow names no intent": (FLOWS, "intents: [printer_problem]", "intents: [printer_problme]"),
}


def broken_copy(tmp_path: Path, relative: str, old: str, new: str) -> tuple[Path, str]:
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root, path.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_schema_rejects_what_the_loader_rejects(case: str, tmp_path: Path) -> None:
    relative, old, new = BROKEN[case]
    root, text = broken_copy(tmp_path, relative, old, new)
    with pytest.raises(ContentError):
        load_content(root)
    assert schema_errors(SCHEMA_FOR[relative], text), case


@pytest.mark.parametrize("case", sorted(LOADER_ONLY))
def test_cross_file_rules_are_left_to_the_loader(case: str, tmp_path: Path) -> None:
    relative, old, new = LOADER_ONLY[case]
    root, text = broken_copy(tmp_path, relative, old, new)
    with pytest.raises(ContentError):
        load_content(root)
    assert schema_errors(SCHEMA_FOR[relative], text) == [], case


def test_symptom_id_must_not_look_like_a_code_intent() -> None:
    text = (MINI / SYMPTOMS).read_text(encoding="utf-8")
    first_id = re.search(r"- id: (\w+)", text).group(1)
    assert schema_errors("intent-file.schema.json", text.replace(f"id: {first_id}", "id: code_zz", 1))


def test_strict_strings_are_typed_string_for_the_editor() -> None:
    """The loader's strict strings reject an unquoted 03; the schema says `type: string` so the editor does too."""
    defs: dict[str, Any] = json_schema(SCHEMAS["intent-file.schema.json"])["$defs"]
    assert defs["CodeIntent"]["properties"]["code"]["type"] == "string"
    assert defs["SymptomIntent"]["properties"]["related_codes"]["items"]["type"] == "string"
    assert defs["CodeIntent"]["properties"]["name"]["type"] == "string"
