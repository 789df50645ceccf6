"""Signals: groups of words that together say one thing, in any order ("自己的卡 + 自己的机器" is cash-out,
"我的卡 + 丢了" is the issuing bank's business). A question holds a signal when it holds a word of every group
within SIGNAL_SPAN characters, none of them read across a space the merchant typed between two clauses.

Red lines refuse on their first signal found; redirects are offered as a marker word would offer them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

SIGNAL_SPAN = 30
"""Characters within which a signal's words must all appear (in a long story "别的店都能贴 … 我的机器屏幕上" are
two separate things, not "my machine at another shop")."""

Groups = tuple[tuple[str, ...], ...]
Span = tuple[int, int]


class CharacterIndex:
    """Items (red-line patterns, signals) each of which can only fire when the question holds one of its keys
    (characters, or pairs of them): which items a question's keys leave, in their original order (the first red
    line found is the one refused). An item with no keys is always left."""

    def __init__(self, keys: list[frozenset[str]]) -> None:
        self._always = [number for number, key in enumerate(keys) if not key]
        self._by_character: dict[str, list[int]] = {}
        for number, key in enumerate(keys):
            for character in key:
                self._by_character.setdefault(character, []).append(number)

    def candidates(self, characters: set[str]) -> list[int]:
        found = set(self._always)
        for character in characters:
            found.update(self._by_character.get(character, ()))
        return sorted(found)


class Signals:
    """Each owner's signals, written "a|b + c|d" and prepared with `prepare` (the same normalising the text
    they are looked for in has had), searched cheaply: most questions lack a word of some group."""

    def __init__(self, owned: Iterable[tuple[str, Groups]], prepare: Callable[[str], str]) -> None:
        self.signals: tuple[tuple[str, Groups], ...] = tuple(
            (owner, tuple(tuple(prepare(word) for word in group) for group in groups)) for owner, groups in owned)
        # each group's first characters: a question holding none of them lacks the group (a set test)
        self._firsts = tuple(tuple(frozenset(word[0] for word in group if word) for group in groups)
                             for _owner, groups in self.signals)
        # each signal is filed under the first two characters of the words of its smallest group of words that
        # all have two (a text holding none of those pairs lacks the group), else under its smallest group's first
        # characters
        self._by_character = CharacterIndex([_keys(groups, firsts) for (_owner, groups), firsts
                                             in zip(self.signals, self._firsts, strict=True)])

    def __len__(self) -> int:
        return len(self.signals)

    def first(self, text: str) -> str | None:
        """The owner of the first signal (in content order) that `text` holds."""
        return next((owner for owner, _span in self._held(text)), None)

    def held(self, text: str) -> dict[str, list[Span]]:
        """Every owner with a signal `text` holds, and where in `text` each held signal lies, from its first
        word's start to its last word's end."""
        found: dict[str, list[Span]] = {}
        kept: list[int] = []  # where each character of `text` without its spaces stands in `text`: once one is held
        for owner, (start, end) in self._held(text):
            kept = kept or [index for index, character in enumerate(text) if character != " "]
            found.setdefault(owner, []).append((kept[start], kept[end - 1] + 1))
        return found

    def _held(self, text: str) -> Iterable[tuple[str, Span]]:
        if not self.signals:
            return
        compact = text.replace(" ", "")
        # where the merchant put a space: a word read across it ("…都没有 交易是成功了" holds 没有交易) is no word
        breaks = break_positions(text)
        characters = set(compact)
        keys = characters.union([compact[i:i + 2] for i in range(len(compact) - 1)])
        for number in self._by_character.candidates(keys):
            (owner, groups), firsts = self.signals[number], self._firsts[number]
            if any(map(characters.isdisjoint, firsts)):
                continue
            if not all(any(word in compact for word in group) for group in groups):
                continue
            found = [[(start, start + len(word)) for word in group for start in positions(compact, word)
                      if not any(start < cut < start + len(word) for cut in breaks)]
                     for group in groups]
            span = close_together(found)
            if span is not None:
                yield owner, span


def _keys(groups: Groups, firsts: tuple[frozenset[str], ...]) -> frozenset[str]:
    """What a signal is filed under (Signals._held): one of these keys is in every text that holds a word of each
    of its groups."""
    paired = [group for group in groups if group and min(map(len, group)) >= 2]
    if paired:
        return frozenset(word[:2] for word in min(paired, key=len))
    return min(firsts, key=len) if firsts else frozenset()


def break_positions(text: str) -> list[int]:
    """Positions in `text` without its spaces where a space between two Chinese characters stood (a space
    between Latin letters or digits, "pos 机", is kept within a word)."""
    cuts: list[int] = []
    removed = 0
    for index, character in enumerate(text):
        if character == " ":
            before, after = text[index - 1:index], text[index + 1:index + 2]
            if before and after and not (before.isascii() or after.isascii()):
                cuts.append(index - removed)
            removed += 1
    return cuts


def positions(text: str, word: str) -> list[int]:
    """Every start of `word` in `text`, overlapping ones included."""
    found = []
    start = text.find(word)
    while start >= 0:
        found.append(start)
        start = text.find(word, start + 1)
    return found


def close_together(found: Sequence[Sequence[Span]]) -> Span | None:
    """Where one occurrence per group lies, all inside SIGNAL_SPAN characters (from the first word's start to the
    last word's end), or None."""
    starts = sorted({start for spans in found for start, _end in spans})
    for left in starts:
        picked = [next((span for span in spans if left <= span[0] and span[1] <= left + SIGNAL_SPAN), None)
                  for spans in found]
        if all(span is not None for span in picked):
            chosen = [span for span in picked if span is not None]
            return min(start for start, _end in chosen), max(end for _start, end in chosen)
    return None
