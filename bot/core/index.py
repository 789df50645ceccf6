"""Weighted word overlap through an inverted index: the candidate prefilter and the second score.

rapidfuzz's token scores treat every word alike, so a question sharing only 刷卡/pos机 with a phrase
still scores 0.7 against it, and a long message loses against any short phrase. Here each key (a word,
or a pair of characters, which survives segmentation differences and one-character typos) weighs what
it says about the intent: log(intents / intents using it). A phrase's overlap with a question is the
F-measure of the weight they share, leaning to recall (how much of the phrase the question holds),
because merchants add context rather than leave words out. Only phrases sharing something are scored,
so the cost of a question follows what it says, not how much content there is.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

MAX_SCORED = 60
"""At most this many phrases go on to rapidfuzz for one unit (the question, a clause, two clauses):
those with the best overlap. With the content at 2,800 phrases, 80 and 60 decide every question of fifteen
evaluation sets the same (an earlier content lost one at 60); 60 saves about a tenth of the time."""
PAIR_WEIGHT = 0.5
"""A character pair counts half a word: it is weaker evidence, and every word of 2+ characters adds
pairs as well."""
SPECIFIC_WEIGHT = 2.0
"""log(1 + intents/used-by) from which a word is specific: used by at most about a seventh of the intents
(with ~120 intents, ~19 or fewer)."""
RARE_WEIGHT = 3.5
"""A word outside the lexicon says something only when rarer still (used by about 1 intent in 20)."""
UNKNOWN_SHARE = 0.5
"""A word no phrase has may be context ("收银", "上面") or what the question is really about: it counts
as this share of the rarest known word against the phrase's precision."""
SMALL_PHRASE = 10.0
"""A phrase weighing less than this (about the 10th percentile: "交易失败", "办 pos机") has its overlap
scaled by the square root of its share: it fits many questions fully without saying which problem it
is. 10 was best of 0/10/15/20 on the dev sets (benchmarks/accuracy.py)."""
BETA = 2.0
"""The F-measure's recall weight (2: recall counts four times as much as precision)."""


def keys_of(form: str) -> dict[str, bool]:
    """A match form's keys: its words (True) and the character pairs of its text without spaces (False)."""
    words = form.split()
    keys: dict[str, bool] = {word: True for word in words}
    joined = "".join(words)
    for i in range(len(joined) - 1):
        keys.setdefault(joined[i:i + 2], False)
    return keys


class PhraseIndex:
    """Inverted index from keys to phrase numbers; `owners[n]` is the intent of phrase n."""

    def __init__(self, forms: Sequence[str], owners: Sequence[int]) -> None:
        postings: dict[str, list[int]] = {}
        intents_of: dict[str, set[int]] = {}
        phrase_keys: list[dict[str, bool]] = []
        for number, form in enumerate(forms):
            keys = keys_of(form) if form else {}
            phrase_keys.append(keys)
            for key in keys:
                postings.setdefault(key, []).append(number)
                intents_of.setdefault(key, set()).add(owners[number])
        self.size = len(forms)
        intents = max(1, len(set(owners)))
        self.unknown_word = UNKNOWN_SHARE * math.log(1 + intents)
        """The weight of a question word no phrase has (UNKNOWN_SHARE of the rarest word's)."""
        self._postings = {key: np.array(numbers, dtype=np.intp) for key, numbers in postings.items()}
        self._idf = {key: math.log(1 + intents / len(owners_of)) for key, owners_of in intents_of.items()}
        self._phrase_weight = np.array(
            [sum(self.weight(key, is_word) for key, is_word in keys.items()) for keys in phrase_keys],
            dtype=np.float64)
        # each phrase's SMALL_PHRASE factor, computed once (the same elementwise operations overlap made per question)
        self._small_share = np.minimum(1.0, self._phrase_weight / SMALL_PHRASE) ** 0.5 if SMALL_PHRASE > 0 else None

    def weight(self, key: str, is_word: bool) -> float:
        idf = self._idf.get(key, self.unknown_word)
        return idf if is_word else PAIR_WEIGHT * idf

    def says_something(self, word: str, *, rare: bool = False) -> bool:
        """A word some phrase uses, and few intents: it points at a problem ("签到", "小票"), unlike
        卡/刷卡/pos机, a word no phrase has, or a single character (在, 了: filler, whatever its count)."""
        idf = self._idf.get(word)
        return len(word) >= 2 and idf is not None and idf >= (RARE_WEIGHT if rare else SPECIFIC_WEIGHT)

    def overlap(self, form: str) -> tuple[np.ndarray, np.ndarray]:
        """(phrase numbers sharing a key with `form`, their weighted F-overlap 0..1), best
        MAX_SCORED only, in ascending phrase order."""
        return self.overlaps([form])[0]

    def overlaps(self, forms: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """`overlap` of each of `forms`, computed together: one bincount over (form, phrase) cells and the
        F-measure over all of them at once, so a long message's dozen units pay numpy's per-call cost once
        rather than a dozen times. Each form's numbers are those `overlap` alone gives, bit for bit (a cell's
        weights are summed in the same order; every other step is elementwise)."""
        empty = (np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64))
        results: list[tuple[np.ndarray, np.ndarray]] = [empty] * len(forms)
        postings: list[np.ndarray] = []
        key_weights: list[float] = []
        slots: list[int] = []  # the form each row of cells belongs to
        question_weights: list[float] = []
        posting_counts: list[int] = []  # postings per slot
        idf_of, postings_of, unknown = self._idf.get, self._postings.get, self.unknown_word
        for number, form in enumerate(forms):
            question_weight = 0.0
            held = len(postings)
            for key, is_word in keys_of(form).items():
                idf = idf_of(key, unknown)
                weight = idf if is_word else PAIR_WEIGHT * idf  # self.weight, inlined: ~40 keys a unit
                question_weight += weight
                posting = postings_of(key)
                if posting is not None:
                    postings.append(posting)
                    key_weights.append(weight)
            if len(postings) > held:
                slots.append(number)
                question_weights.append(question_weight)
                posting_counts.append(len(postings) - held)
        if not slots:
            return results
        lengths = [len(posting) for posting in postings]
        per_slot = np.add.reduceat(np.array(lengths, dtype=np.intp), np.cumsum([0] + posting_counts[:-1]))
        cells = np.concatenate(postings) + np.repeat(np.arange(len(slots), dtype=np.intp) * self.size, per_slot)
        weights = np.repeat(key_weights, lengths)
        shared = np.bincount(cells, weights=weights, minlength=len(slots) * self.size)
        # (a boolean mask's nonzero is several times faster than a float array's: 15 against 55 us at 18,000 phrases)
        found_cells = np.flatnonzero(shared != 0)
        slot_of, found = np.divmod(found_cells, self.size)
        shared_found = shared[found_cells]
        recall = np.minimum(1.0, shared_found / self._phrase_weight[found])
        precision = np.minimum(1.0, shared_found / np.array(question_weights)[slot_of])
        beta2 = BETA * BETA
        f_measure = (1 + beta2) * precision * recall / np.maximum(beta2 * precision + recall, 1e-9)
        if self._small_share is not None:
            # a phrase that says little ("交易失败") is fully inside many questions: its overlap counts less
            f_measure = f_measure * self._small_share[found]
        bounds = np.searchsorted(slot_of, np.arange(len(slots) + 1)).tolist()
        for slot, number in enumerate(slots):
            phrases, values = found[bounds[slot]:bounds[slot + 1]], f_measure[bounds[slot]:bounds[slot + 1]]
            if len(phrases) > MAX_SCORED:
                keep = best_positions(values, MAX_SCORED)
                phrases, values = phrases[keep], values[keep]
            results[number] = (phrases, values)
        return results


def best_positions(values: np.ndarray, count: int) -> np.ndarray:
    """Positions of the `count` largest of `values` (more than `count` of them), in ascending order.

    Two partitions of the values find the count-th and the next largest; when they differ, the best are
    exactly those above the latter, found by a comparison (about 3x faster than argpartition over 4,000
    values). When they are equal, which of the tied values are kept is argpartition's choice, so argpartition
    makes it, as it always did."""
    size = len(values)
    kth = np.partition(values, (size - count - 1, size - count))
    last_kept, first_left = kth[size - count], kth[size - count - 1]
    if last_kept > first_left:
        return np.flatnonzero(values > first_left)
    return np.sort(np.argpartition(-values, count)[:count])


PROFILE_SHARE = 0.5
"""How much an intent's profile (all its phrases together) moves its score: each intent loses
PROFILE_SHARE x (best profile similarity - its own). A phrase is one way to say a problem; the profile
is every word the intent's phrases use, so a long message whose words are spread over several of one
intent's examples, or a new wording of it, is pulled towards that intent rather than towards another
one's single phrase that happens to share a few words. Read blind sets (benchmarks/accuracy.py): 0.3,
0.4, 0.5, 0.7 and 1.0 all lift every set; 0.5 is the middle of the plateau (blind_dev4a 0.919 -> 0.948,
blind_dev5a 0.885 -> 0.915, blind_dev7 0.884 -> 0.895)."""


LONG_PROFILE_SHARE = 1.0
"""PROFILE_SHARE in a long message (bot/core/match.py LONG_MESSAGE): the more a message says, the better all
its words together tell its intent, and the less one phrase matching a few of them does. Read blind sets,
long messages at 0.5 → 0.8 fixed 6 and lost 2, → 1.0 fixed 12 and lost 6, → 1.5 fixed 14 and lost 11,
→ 2.0 fixed 16 and lost 15 (counted by clauses; match.LONG_MESSAGE says how length is counted now)."""


class IntentProfiles:
    """Each intent as one weighted bag of keys (the sum of its phrases' unit vectors, the same keys and
    weights as PhraseIndex), compared with a question by cosine similarity."""

    def __init__(self, index: PhraseIndex, forms: Sequence[str], owners: Sequence[int], intents: int) -> None:
        sums: list[dict[str, float]] = [{} for _ in range(intents)]
        self._phrase_vectors: list[dict[str, float]] = []
        for form, owner in zip(forms, owners, strict=True):
            vector = _unit(index, form) if form else {}
            self._phrase_vectors.append(vector)
            total = sums[owner]
            for key, value in vector.items():
                total[key] = total.get(key, 0.0) + value
        self._sums = sums
        self._norms = np.array([math.sqrt(sum(v * v for v in total.values())) or 1.0 for total in sums])
        postings: dict[str, list[tuple[int, float]]] = {}
        for owner, total in enumerate(sums):
            norm = float(self._norms[owner])
            for key, value in total.items():
                postings.setdefault(key, []).append((owner, value / norm))
        # one flat array of (intent, weight) runs and each key's slice of it: one numpy array, not thousands
        self._slices: dict[str, tuple[int, int]] = {}
        flat: list[tuple[int, float]] = []
        for key, entries in postings.items():
            self._slices[key] = (len(flat), len(flat) + len(entries))
            flat.extend(entries)
        self._flat_owners = np.array([owner for owner, _ in flat], dtype=np.intp)
        self._flat_values = np.array([value for _, value in flat], dtype=np.float64)
        self._index = index
        self._owners = list(owners)
        self.size = intents

    def similarity(self, form: str, *, without: Sequence[int] = ()) -> np.ndarray:
        """Cosine similarity of `form` with every intent's profile (0..1). `without` leaves phrases
        out of their intents' profiles (the validator's "as if this example were not there")."""
        query = _unit(self._index, form)
        result = np.zeros(self.size, dtype=np.float64)
        slices = self._slices
        hit = [(slices[key], weight) for key, weight in query.items() if key in slices]
        if hit:
            # every hit key's run of the flat arrays gathered by one index array, not sliced key by key
            lengths = np.array([end - start for (start, end), _ in hit], dtype=np.intp)
            starts = np.array([start for (start, _end), _ in hit], dtype=np.intp)
            runs = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
            values = self._flat_values[runs] * np.repeat([weight for _, weight in hit], lengths)
            result = np.bincount(self._flat_owners[runs], weights=values, minlength=self.size).astype(np.float64)
        for phrase in without:
            result[self._owners[phrase]] = self._similarity_without(query, phrase)
        return result

    def _similarity_without(self, query: dict[str, float], phrase: int) -> float:
        owner = self._owners[phrase]
        total, removed = self._sums[owner], self._phrase_vectors[phrase]
        kept = {key: value - removed.get(key, 0.0) for key, value in total.items()}
        norm = math.sqrt(sum(v * v for v in kept.values()))
        if norm < 1e-9:
            return 0.0
        return sum(value * kept.get(key, 0.0) for key, value in query.items()) / norm


def _unit(index: PhraseIndex, form: str) -> dict[str, float]:
    """A form's keys weighted as PhraseIndex weighs them, scaled to length 1."""
    weights = {key: index.weight(key, is_word) for key, is_word in keys_of(form).items()}
    norm = math.sqrt(sum(value * value for value in weights.values())) or 1.0
    return {key: value / norm for key, value in weights.items()}
