"""Import aiogram with its pydantic models built on first use instead of all at import.

aiogram 3 calls `model_rebuild()` on every one of its ~300 types when `aiogram.types` is imported
(and its ~170 methods are built as their classes are defined), so pydantic-core compiles a validator
and a serializer for each: about 100 MiB of a bot process, for models a support bot never sees
(payments, stickers, business accounts …). Upstream knows (aiogram/aiogram#1513, open). Here the
rebuild loop only records the namespace it would have used; each model then compiles itself, in that
namespace, the first time it validates or serializes something (pydantic's own deferred build,
`defer_build`, which aiogram's types already ask for).

The whole end-to-end suite runs through this import (tests/conftest.py imports bot.telegram first);
tests/telegram/test_lean.py checks the models it defers still work.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

PACKAGE = "aiogram"


def import_aiogram() -> None:
    """Import aiogram lazily built, unless something imported it already (then it is left as it is).

    `BaseModel.model_rebuild` stays wrapped afterwards, for aiogram's models only: a deferred model
    (or a generic one made later, such as `Response[list[Update]]`) builds itself in the namespace
    aiogram gave its rebuild loop. Every other pydantic model goes straight to pydantic."""
    if PACKAGE in sys.modules:
        return
    namespace: dict[str, Any] = {}
    eager = BaseModel.__dict__["model_rebuild"].__func__
    importing = True

    def rebuild(cls: type[BaseModel], *, force: bool = False, raise_errors: bool = True,
                _parent_namespace_depth: int = 2, _types_namespace: Any = None) -> bool | None:
        if cls.__module__.startswith(PACKAGE + "."):
            if importing and _types_namespace is not None and not force:
                namespace.update(_types_namespace)  # aiogram's loop over its types: build later
                return None
            if _types_namespace is None:
                _types_namespace = namespace
        return eager(cls, force=force, raise_errors=raise_errors, _parent_namespace_depth=_parent_namespace_depth,
                     _types_namespace=_types_namespace)

    BaseModel.model_rebuild = classmethod(rebuild)  # type: ignore[method-assign,assignment]
    import aiogram.methods  # noqa: F401
    import aiogram.types  # noqa: F401
    importing = False


def deferred_models() -> Iterator[type[BaseModel]]:
    """aiogram's models that have not compiled their validator yet."""
    seen: set[type[BaseModel]] = set()
    stack: list[type[BaseModel]] = [BaseModel]
    while stack:
        sub: type[BaseModel]
        for sub in stack.pop().__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            stack.append(sub)
            if sub.__module__.startswith(PACKAGE + ".") and not sub.__pydantic_complete__:
                yield sub
