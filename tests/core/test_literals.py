"""The characters a pattern needs: a prefilter may only skip searches that could not match."""

import re

import pytest
from hypothesis import given, strategies as st

from bot.core.literals import required_characters
from bot.core.loader import load_content


@pytest.mark.parametrize("pattern, needed", [
    ("自刷", {"自", "刷"}),
    ("刷.{0,12}(购物卡|充值卡).{0,15}(现金|钱退)", {"刷", "卡"}),
    ("(?<!被)跳码", {"跳", "码"}),            # a lookbehind is not part of the match
    ("套现(?!退款)", {"套", "现"}),
    ("cash ?out|cash advance", {"c", "a", "s", "h"}),
    ("(刷|套)现金", {"现", "金"}),            # alternatives share nothing: only what follows them
    ("[刷碌]卡", {"卡"}),
    ("刷(卡)?", {"刷"}),                      # an optional group needs nothing
    ("(?i)abc", set()),                       # case-insensitive: a literal is not one character
    ("a{0}b", {"b"}),
])
def test_required_characters(pattern: str, needed: set[str]) -> None:
    assert required_characters(pattern) == needed


def test_a_broken_pattern_needs_nothing() -> None:
    assert required_characters("(未闭合") == frozenset()


CONTENT = load_content()
PATTERNS = [pattern for intent in CONTENT.redlines for pattern in intent.patterns]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_match_of_a_shipped_pattern_holds_what_it_needs(pattern: str) -> None:
    compiled, needed = re.compile(pattern), required_characters(pattern)
    texts = [example for intent in CONTENT.intents for example in (*intent.examples, *getattr(intent, "not_examples", ()))]
    for text in texts:
        found = compiled.search(text)
        if found:
            assert needed <= set(found.group()), (pattern, text)


@given(st.text(alphabet="刷卡现金套自跳码ab ", max_size=12))
def test_a_search_skipped_by_the_prefilter_finds_nothing(text: str) -> None:
    for pattern in PATTERNS[:60]:
        if not required_characters(pattern) <= set(text):
            assert re.search(pattern, text) is None


def test_the_character_index_keeps_the_original_order() -> None:
    from bot.core.signals import CharacterIndex

    index = CharacterIndex([frozenset("刷"), frozenset(), frozenset("套现"), frozenset("刷")])
    assert index.candidates(set("刷卡")) == [0, 1, 3]   # item 1 needs nothing: always left
    assert index.candidates(set("现金")) == [1, 2]
    assert index.candidates(set()) == [1]


def test_lazy_searches_find_what_re_finds_and_are_compiled_once() -> None:
    import re

    from bot.core.literals import lazy_searches

    patterns = ["刷.{0,4}套现", "(借|租)(用)?.{0,6}机器"]
    searches = lazy_searches(patterns)
    first = searches[0]
    for text in ("帮我刷一笔套现", "借朋友的机器用", "签到失败"):
        for number, pattern in enumerate(patterns):
            found, expected = searches[number](text), re.search(pattern, text)
            assert (found and found.group()) == (expected and expected.group())
    assert searches[0] is not first and searches[0].__self__.pattern == patterns[0]  # type: ignore[attr-defined]


@pytest.mark.parametrize("pattern, rest", [
    ("(?!.{0,20}(怎么回事|为什么))(改成|登记成)", "(改成|登记成)"),
    ("(?![)(])套现", "套现"),                 # parentheses inside a set are no group
    ("(?!不\\))刷|套现", "刷|套现"),          # nor an escaped one; a later alternative stays
    ("(?!不)(刷)\\1", None),                 # a backreference's number would change
    ("(?!不)", None),
    ("刷(?!卡)", None),
])
def test_what_follows_a_leading_lookahead(pattern: str, rest: str | None) -> None:
    from bot.core.literals import without_leading_lookahead

    assert without_leading_lookahead(pattern) == rest


def test_a_shipped_lookahead_pattern_matches_only_where_what_follows_it_does() -> None:
    """literals._searcher searches what follows a leading lookahead first: it must find something wherever the
    whole pattern does, and the search must find what re finds."""
    from bot.core.literals import lazy_searches, without_leading_lookahead

    relaxed = [(pattern, rest) for pattern in PATTERNS if (rest := without_leading_lookahead(pattern))]
    assert len(relaxed) >= 20
    texts = [example for intent in CONTENT.intents for example in (*intent.examples, *getattr(intent, "not_examples", ()))]
    searches = lazy_searches([pattern for pattern, _rest in relaxed])
    for number, (pattern, rest) in enumerate(relaxed):
        compiled, first = re.compile(pattern), re.compile(rest)
        for text in texts:
            found = compiled.search(text)
            assert not found or first.search(text), (pattern, text)
            searched = searches[number](text)
            assert (searched and searched.span()) == (found and found.span())


@pytest.mark.parametrize("pattern, choice", [
    ("自刷", ("自刷",)),
    ("刷.{0,12}(购物卡|充值卡).{0,15}(现金|钱退)", ("购物卡", "充值卡")),   # the longest shortest string
    ("(刷|套)现金", ("现金",)),
    ("刷(卡)?", ("刷",)),                      # an optional group is no choice
    ("(?<!被)跳码", ("跳码",)),
    ("(?!.{0,20}(为什么|怎么))(改成|变成)", ("改成", "变成")),
    ("cash ?out|cash advance", ("cash",)),
    ("(a|b.c)x", ("x",)),
    ("(?i)abc", ()),
    ("(?i:ab)c", ("c",)),                     # a case-insensitive group's literals are not strings
    ("[ab]+", ()),
])
def test_required_choice(pattern: str, choice: tuple[str, ...]) -> None:
    from bot.core.literals import required_choice

    assert required_choice(pattern) == choice


def test_every_match_of_a_shipped_pattern_holds_its_choice() -> None:
    from bot.core.literals import required_choice

    texts = [example for intent in CONTENT.intents for example in (*intent.examples, *getattr(intent, "not_examples", ()))]
    for pattern in PATTERNS:
        compiled, choice = re.compile(pattern), required_choice(pattern)
        for text in texts:
            found = compiled.search(text)
            if found and choice:
                assert any(string in found.group() for string in choice), (pattern, text)


@given(st.text(alphabet="刷卡现金套自跳码充值购物ab ", max_size=14))
def test_a_search_skipped_for_its_choice_finds_nothing(text: str) -> None:
    from bot.core.literals import required_choice

    for pattern in PATTERNS[:80]:
        choice = required_choice(pattern)
        if choice and not any(string in text for string in choice):
            assert re.search(pattern, text) is None
