"""One error root for posbot, with a few precise subclasses."""

from __future__ import annotations

from dataclasses import dataclass


class PosbotError(Exception):
    """Root of every error posbot raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the content, located so an admin can fix it without reading Python."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        # "intents/smalltalk.yaml:52 examples[1]：要写成文字…": the full-width colon ends the location,
        # so an ASCII colon inside a field or a path can never be mistaken for it
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}" if self.field else ""
        return f"{where}{field}：{self.message}"


class ContentError(PosbotError):
    """The YAML content cannot be loaded; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
