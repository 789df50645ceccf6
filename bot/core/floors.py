"""The accuracy floors CI holds an evaluation file to, read from the test that holds it there.

`tests/eval/test_eval.py` is the one place floors are written (a change to matching moves them in the
same commit), so `posbot eval` reads them from it rather than keeping a copy that would drift. It is
read with `ast`, never imported or run, and only two shapes are understood:

- `assert report.METRIC >= 0.9` (`<=` for a ceiling, `==` read as `>=`) in a test that scores one file, named by
  `report_for(engine, "holdout.yaml")` in its body or by a fixture it takes that does;
- a module-level `BLIND_FLOORS = {"file.yaml": {"overall": 0.8, "<category>": 0.7, ...}}`, applied by
  tests parametrised over it: `overall` to `decided_top1`, the others to `decided_top1` per category.
Anything else is left out: a floor posbot cannot find is shown as "—", never guessed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEST_FILE = "test_eval.py"
PER_FILE = "BLIND_FLOORS"


@dataclass(frozen=True)
class Floors:
    """What one evaluation file must reach: metric -> (">=" or "<=", value), and per-category floors."""

    metrics: dict[str, tuple[str, float]] = field(default_factory=dict)
    categories: dict[str, float] = field(default_factory=dict)

    def met(self, metric: str, value: float) -> bool | None:
        """Whether `value` keeps the floor (or ceiling) of `metric`; None when it has none."""
        if metric not in self.metrics:
            return None
        op, bound = self.metrics[metric]
        return value >= bound if op == ">=" else value <= bound


def floors_for(eval_file: Path) -> Floors:
    """The floors `test_eval.py` beside `eval_file` sets for it (none if there is no such test)."""
    test = eval_file.parent / TEST_FILE
    try:
        tree = ast.parse(test.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return Floors()
    name = eval_file.name
    per_file = _per_file_floors(tree)
    fixtures = {fn.name: _scored_file(fn) for fn in tree.body if isinstance(fn, ast.FunctionDef)}
    metrics: dict[str, tuple[str, float]] = {}
    categories: dict[str, float] = {}
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")):
        scored = {_scored_file(fn)} | {fixtures.get(arg.arg) for arg in fn.args.args}
        over_blind = _parametrised_over(fn, PER_FILE)
        if name in per_file and over_blind:
            floors = per_file[name]
            if "overall" in floors and _mentions(fn, "decided_top1"):
                metrics["decided_top1"] = (">=", floors["overall"])
                categories.update({k: v for k, v in floors.items() if k != "overall"})
        if name in scored or (over_blind and name in per_file):
            for metric, op, bound in _bounds(fn):
                metrics.setdefault(metric, (op, bound))
    return Floors(metrics, categories)


def _per_file_floors(tree: ast.Module) -> dict[str, dict[str, float]]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, assigned = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, assigned = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == PER_FILE:
            try:
                value: Any = ast.literal_eval(assigned)
            except ValueError:
                return {}
            if isinstance(value, dict):
                return {str(k): {str(c): float(f) for c, f in v.items()} for k, v in value.items()
                        if isinstance(v, dict)}
    return {}


def _scored_file(fn: ast.FunctionDef) -> str | None:
    """The file a function scores: the string passed to report_for(…, "x.yaml")."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "report_for":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.endswith(".yaml"):
                    return arg.value
    return None


def _parametrised_over(fn: ast.FunctionDef, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for d in fn.decorator_list for n in ast.walk(d))


def _mentions(fn: ast.FunctionDef, attribute: str) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == attribute for n in ast.walk(fn))


def _bounds(fn: ast.FunctionDef) -> list[tuple[str, str, float]]:
    """`assert report.METRIC >= 0.9` (or `<=`) in a test: (METRIC, op, 0.9)."""
    found = []
    for node in ast.walk(fn):
        if not (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)):
            continue
        compare = node.test
        if len(compare.ops) != 1 or not isinstance(compare.ops[0], (ast.GtE, ast.LtE, ast.Eq)):
            continue
        left, right = compare.left, compare.comparators[0]
        if (isinstance(left, ast.Attribute) and isinstance(left.value, ast.Name) and isinstance(right, ast.Constant)
                and isinstance(right.value, (int, float)) and not isinstance(right.value, bool)):
            # `rate == 1.0` can only be kept by reaching it: a floor like any other
            found.append((left.attr, "<=" if isinstance(compare.ops[0], ast.LtE) else ">=", float(right.value)))
    return found
