"""JSON Schemas for the content files, generated from the same models the loader validates with.

Editors use them (VS Code with Red Hat's YAML extension; .vscode/settings.json maps them) to complete
field names and flag mistakes while admins type. `posbot schema` rewrites schemas/ after a model change;
a test fails while the committed files are stale. What only the loader can check (unique ids across
files, references between files, flows that reach an end) stays with `posbot validate`.
"""

from __future__ import annotations

import ast
import inspect
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bot.core import models
from bot.core.loader import INTENT_DIRS, INTENT_FILES, KNOWLEDGE_DIRS, LEXICON_FILE
from bot.core.models import IntentFile, KnowledgeFile, Lexicon

DRAFT = "https://json-schema.org/draft/2020-12/schema"

SCHEMAS: dict[str, type[BaseModel]] = {
    "intent-file.schema.json": IntentFile,
    "knowledge-file.schema.json": KnowledgeFile,
    "lexicon.schema.json": Lexicon,
}
"""Output file name -> the model every file it is for is validated with."""

GLOBS: dict[str, tuple[str, ...]] = {
    "intent-file.schema.json": tuple(f"{directory}/*.yaml" for directory in INTENT_DIRS) + INTENT_FILES,
    "knowledge-file.schema.json": tuple(f"{directory}/*.yaml" for directory in KNOWLEDGE_DIRS),
    "lexicon.schema.json": (LEXICON_FILE,),
}
"""Output file name -> the files (relative to the repository root) it is for, as yaml.schemas globs.
The YAML extension turns `*` into `.*`, so these also cover subdirectories, as the loader does."""

_TITLES: dict[str, str] = {
    "intent-file.schema.json": "posbot intents 意图（应答码 / 症状）",
    "knowledge-file.schema.json": "posbot knowledge 排查流程 / 话术",
    "lexicon.schema.json": "posbot lexicon 词典",
}


def _name_of(model: type[BaseModel]) -> str:
    for name, candidate in SCHEMAS.items():
        if candidate is model:
            return name
    raise KeyError(f"{model.__name__} is not a content file model (see SCHEMAS)")


@lru_cache(maxsize=None)
def _docstrings_of(cls: type) -> dict[str, str]:
    """Field name -> the docstring under its annotation in `cls`'s own source (what pydantic's
    use_attribute_docstrings reads)."""
    try:
        tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    found: dict[str, str] = {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for node, following in zip(body, body[1:], strict=False):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant) and isinstance(following.value.value, str)):
            found[node.target.id] = inspect.cleandoc(following.value.value)
    return found


@lru_cache(maxsize=1)
def _with_field_docstrings() -> None:
    """Give every content model's fields their attribute docstrings as descriptions, once, before a schema
    is generated; the loader never needs them."""
    classes = [value for value in vars(models).values()
               if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == models.__name__]
    for cls in classes:  # in the order they are defined: what a model refers to is rebuilt before it
        for name, field in cls.model_fields.items():
            if field.description is not None:
                continue
            owner = next((base for base in cls.__mro__ if name in _docstrings_of(base)), None)
            if owner is not None:
                field.description = _docstrings_of(owner)[name]
        cls.model_rebuild(force=True)


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) for one content file model, titled with the files it is for."""
    name = _name_of(model)
    _with_field_docstrings()
    body = model.model_json_schema()
    body.pop("title", None)
    summary = body.pop("description", "")
    description = (f"For {', '.join(GLOBS[name])}. {summary} Generated from bot/core/models.py by "
                   "`posbot schema`; do not edit by hand.")
    return {"$schema": DRAFT, "title": _TITLES[name], "description": description, **body}


def render(model: type[BaseModel]) -> str:
    """The exact text written for a model: pretty-printed UTF-8 JSON with a trailing newline."""
    return json.dumps(json_schema(model), ensure_ascii=False, indent=2) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into `directory` (created if missing); return the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        path = directory / name
        path.write_text(render(model), encoding="utf-8", newline="\n")
        written.append(path)
    return written


def stale_schemas(directory: Path) -> list[str]:
    """Names of schemas in `directory` that are missing or differ from what would be generated."""
    stale = []
    for name, model in SCHEMAS.items():
        path = Path(directory) / name
        try:
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current != render(model):
            stale.append(name)
    return stale
