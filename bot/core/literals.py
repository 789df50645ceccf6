"""The characters a regular expression cannot match without: a cheap test before the search.

posbot checks every question against some 290 red-line patterns written by admins. Most questions
lack a character each pattern needs (刷, 现金, 跳码 …), so a set test skips the search. The
characters are read from the pattern's parse tree: a literal outside any alternative or optional part
is required, and so is a character every alternative of a branch requires.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

try:  # the parser behind `re` (private, but stable since Python 3.4; only a speed-up depends on it)
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - another Python: every pattern is searched
    _sre_parse = None
else:
    LITERAL, SUBPATTERN, BRANCH, IN = (_sre_parse.LITERAL, _sre_parse.SUBPATTERN, _sre_parse.BRANCH, _sre_parse.IN)
    REPEATS = (_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT)


def required_characters(pattern: str) -> frozenset[str]:
    """Characters every match of `pattern` contains (an empty set when none is certain, or when the
    pattern uses flags that change what a literal matches)."""
    return required_literals(pattern)[0]


def required_choice(pattern: str) -> tuple[str, ...]:
    """Strings at least one of which every match of `pattern` contains: its most telling run of literals, or
    one run from each alternative of a branch ("刷.{0,12}(购物卡|充值卡).{0,15}(现金|钱退)" -> ("现金", "钱退")); the
    choice whose shortest string is longest, then the one with fewest strings. Empty when none is certain. A long
    story holds the characters of about 110 patterns; only about 5 of those hold their choice too."""
    return required_literals(pattern)[1]


def required_literals(pattern: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """`required_characters` and `required_choice` of `pattern`, from one parse (parsing the ~450 red-line patterns
    is most of what reading them costs at start)."""
    if _sre_parse is None:
        return frozenset(), ()
    try:
        parsed = _sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return frozenset(), ()
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return frozenset(), ()
    items = list(parsed)
    return frozenset(_required(items)), max(_choices(items), key=_telling, default=())


def _telling(choice: tuple[str, ...]) -> tuple[int, int]:
    return min(map(len, choice)), -len(choice)


def _choices(items: list[tuple[Any, Any]]) -> list[tuple[str, ...]]:
    """Every choice a sequence of parse items requires: each run of literals outside optional parts (a choice of
    one), and each branch whose every alternative requires a choice (the union of their most telling ones). A
    run stops at anything else: a repeat, a set, a lookaround, a group."""
    found: list[tuple[str, ...]] = []
    run: list[str] = []
    for op, value in items:
        if op is LITERAL:
            run.append(chr(value))
            continue
        if op is IN and len(value) == 1 and value[0][0] is LITERAL:
            run.append(chr(value[0][1]))
            continue
        if run:
            found.append(("".join(run),))
            run = []
        if op is SUBPATTERN and not value[1] & re.IGNORECASE:
            found += _choices(list(value[-1]))
        elif op in REPEATS and value[0] >= 1:
            found += _choices(list(value[2]))
        elif op is BRANCH:
            branches = [_choices(list(branch)) for branch in value[1]]
            if branches and all(branches):
                found.append(tuple(dict.fromkeys(text for choices in branches for text in max(choices, key=_telling))))
    if run:
        found.append(("".join(run),))
    return found


def _required(items: list[tuple[Any, Any]]) -> set[str]:
    needed: set[str] = set()
    for op, value in items:
        if op is LITERAL:
            needed.add(chr(value))
        elif op is SUBPATTERN:
            needed |= _required(list(value[-1]))
        elif op in REPEATS and value[0] >= 1:
            needed |= _required(list(value[2]))
        elif op is BRANCH:
            branches = [_required(list(branch)) for branch in value[1]]
            needed |= set.intersection(*branches) if branches else set()
        elif op is IN and len(value) == 1 and value[0][0] is LITERAL:
            needed.add(chr(value[0][1]))
    return needed


Search = Callable[[str], "re.Match[str] | None"]


def lazy_searches(patterns: Sequence[str]) -> list[Search]:
    """Each pattern's `search`, compiled at its first call, after which its slot holds the
    compiled pattern's own bound `search`. Compiling the ~450 red-line patterns costs about 80 ms (`re` parses in
    Python), a start from cached content (bot/core/contentcache.py) has not compiled them while validating, and
    most questions search few of them (their required characters are missing); content validation compiles every
    one, so a bad pattern never gets this far. A question pays no Python call of ours per pattern (about 110
    patterns are searched in each question; 45 -> 40 us a question on questions.yaml), except one of the few that
    start with a negative lookahead (_searcher). Two threads may both compile one pattern: the slot gets the same
    value either way."""
    searches: list[Search] = []

    def first_use(number: int, pattern: str) -> Search:
        def search(text: str) -> re.Match[str] | None:
            compiled = _searcher(pattern)
            searches[number] = compiled
            return compiled(text)
        return search

    searches.extend(first_use(number, pattern) for number, pattern in enumerate(patterns))
    return searches


def _searcher(pattern: str) -> Search:
    """`pattern`'s compiled search; for one that starts with a negative lookahead, the search of what follows it
    first, and the whole pattern only where that finds something. "(?!.{0,20}(怎么回事|为什么|…))(改成|刷成…)"
    tries its lookahead's twenty alternatives at every position of the text: the 29 such shipped patterns were half
    the red-line search time of a long story, and most stories hold none of what follows their lookaheads."""
    search = re.compile(pattern).search
    rest = without_leading_lookahead(pattern)
    if rest is None:
        return search
    first = re.compile(rest).search

    def searched(text: str) -> re.Match[str] | None:
        return search(text) if first(text) else None
    return searched


def without_leading_lookahead(pattern: str) -> str | None:
    """What follows the negative lookahead `pattern` starts with ("(?!…)改成" -> "改成"), when that is a
    pattern of its own (no reference to a group the lookahead held): every match of `pattern` is one of it,
    so where it finds nothing `pattern` finds nothing. None for any other pattern."""
    if _sre_parse is None or not pattern.startswith("(?!"):
        return None
    end = _closing_parenthesis(pattern)
    rest = pattern[end + 1:] if end is not None else ""
    if not rest:
        return None
    try:
        parsed = _sre_parse.parse(rest)
    except (re.error, RecursionError, OverflowError):
        return None
    if parsed.state.flags != _sre_parse.parse(pattern).state.flags or _refers_to_groups(parsed):
        return None
    return rest


def _closing_parenthesis(pattern: str) -> int | None:
    """Where the group opened at `pattern`'s first character closes (escapes and character sets skipped)."""
    depth, index, in_set = 0, 0, False
    while index < len(pattern):
        character = pattern[index]
        if character == "\\":
            index += 2
            continue
        if in_set:
            in_set = character != "]"
        elif character == "[":
            in_set = True
            # a "]" first in a set (or after "^") is itself a member
            if pattern[index + 1:index + 2] == "^":
                index += 1
            if pattern[index + 1:index + 2] == "]":
                index += 1
        elif character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def _refers_to_groups(tree: object) -> bool:
    """A parse tree (or any part of one) holding a backreference or a conditional on a group: their numbers change
    without the lookahead. Anything it cannot read is walked through; an unknown shape only costs the speed-up."""
    if isinstance(tree, _sre_parse.SubPattern):
        return any(_refers_to_groups(item) for item in tree.data)
    if isinstance(tree, (list, tuple)):
        if tree and (tree[0] is _sre_parse.GROUPREF or tree[0] is _sre_parse.GROUPREF_EXISTS):
            return True
        return any(_refers_to_groups(part) for part in tree)
    return False
