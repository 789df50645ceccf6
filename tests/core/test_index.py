"""The word index and the intent profiles, on small hand-made forms (the shipped content is in test_match)."""

from __future__ import annotations

import pytest

from bot.core.index import IntentProfiles, PhraseIndex

# intent 0: the receipt printer; intent 1: signing in; intent 2: a charge without a slip
FORMS = ["打印机 没纸", "小票 打不出来", "打印机 卡纸",
         "签到 失败", "签到 不了",
         "扣钱 没 小票", "扣款 成功 小票 没出"]
OWNERS = [0, 0, 0, 1, 1, 2, 2]


def profiles(forms: list[str] = FORMS, owners: list[int] = OWNERS) -> IntentProfiles:
    return IntentProfiles(PhraseIndex(forms, owners), forms, owners, max(owners) + 1)


def test_a_message_whose_words_are_spread_over_one_intents_phrases_is_closest_to_it() -> None:
    # no single phrase holds 没纸 and 卡纸 together; the printer's profile holds both
    similarity = profiles().similarity("打印机 没纸 又 卡纸")
    assert similarity.argmax() == 0
    assert similarity[0] > similarity[2]


def test_similarity_is_a_cosine_between_zero_and_one() -> None:
    similarity = profiles().similarity("签到 失败")
    assert 0.0 < similarity[1] <= 1.0 + 1e-9
    assert similarity[0] == 0.0
    assert profiles().similarity("天气 怎么样").max() == 0.0


def test_leaving_a_phrase_out_is_as_if_it_had_never_been_there() -> None:
    # the validator asks how an example would fare without itself: its intent's profile must lose it
    question = "扣钱 没 小票"
    left_out = profiles().similarity(question, without=[5])
    forms = [form for number, form in enumerate(FORMS) if number != 5]
    owners = [owner for number, owner in enumerate(OWNERS) if number != 5]
    # the index's weights stay those of the full content, so only the profile of intent 2 is compared
    rebuilt = IntentProfiles(PhraseIndex(FORMS, OWNERS), forms, owners, 3).similarity(question)
    assert left_out[2] == pytest.approx(rebuilt[2])
    assert left_out[2] < profiles().similarity(question)[2]
    assert left_out[0] == pytest.approx(profiles().similarity(question)[0])


def test_best_positions_are_argpartitions_own_choice_with_or_without_ties() -> None:
    import numpy as np

    from bot.core.index import best_positions

    rng = np.random.default_rng(13)
    for size in (61, 62, 100, 1000, 4000):
        for values in (rng.random(size), rng.integers(0, 5, size).astype(np.float64) / 4,
                       np.round(rng.random(size), 2)):
            expected = np.sort(np.argpartition(-values, 60)[:60])
            assert np.array_equal(best_positions(values, 60), expected)


def test_overlap_is_bit_for_bit_what_it_was_before_it_was_made_faster() -> None:
    """The faster overlap (precomputed small-phrase factors, best_positions) against the formula as first
    written, on forms that share keys with many phrases."""
    import math

    import numpy as np

    from bot.core import index as module
    from bot.core.index import keys_of

    rng = np.random.default_rng(5)
    words = ["打印机", "没纸", "小票", "签到", "失败", "扣钱", "刷卡", "pos机", "成功", "不", "了", "网络", "卡"]
    forms = [" ".join(rng.choice(words, rng.integers(1, 6))) for _ in range(400)]
    owners = [int(owner) for owner in rng.integers(0, 30, len(forms))]
    built = PhraseIndex(forms, owners)
    for question in forms[:60] + ["打印机 没纸 又 卡纸 刷卡 失败", "天气 怎么样"]:
        found, values = built.overlap(question)
        keys = keys_of(question)
        question_weight = sum(built.weight(key, is_word) for key, is_word in keys.items())
        shared = np.zeros(built.size)
        for key, is_word in keys.items():
            for number in built._postings.get(key, ()):
                shared[number] += built.weight(key, is_word)
        expected = np.flatnonzero(shared)
        recall = np.minimum(1.0, shared[expected] / built._phrase_weight[expected])
        precision = np.minimum(1.0, shared[expected] / question_weight)
        beta2 = module.BETA * module.BETA
        f = (1 + beta2) * precision * recall / np.maximum(beta2 * precision + recall, 1e-9)
        f = f * np.minimum(1.0, built._phrase_weight[expected] / module.SMALL_PHRASE) ** 0.5
        if len(expected) > module.MAX_SCORED:
            keep = np.sort(np.argpartition(-f, module.MAX_SCORED)[:module.MAX_SCORED])
            expected, f = expected[keep], f[keep]
        assert np.array_equal(found, expected)
        assert np.array_equal(values, f) and not any(math.isnan(v) for v in values)


def test_overlaps_of_many_forms_are_each_forms_own() -> None:
    """overlaps (one bincount for all of a question's units) gives each form what it gives that form alone."""
    import numpy as np

    rng = np.random.default_rng(8)
    words = ["打印机", "没纸", "小票", "签到", "失败", "扣钱", "刷卡", "pos机", "成功", "不", "了", "网络", "卡"]
    forms = [" ".join(rng.choice(words, rng.integers(1, 6))) for _ in range(300)]
    built = PhraseIndex(forms, [int(owner) for owner in rng.integers(0, 20, len(forms))])
    questions = ["天气 怎么样", *forms[:12], "", "打印机 没纸 又 卡纸 刷卡 失败", "火星"]
    for question, (found, values) in zip(questions, built.overlaps(questions), strict=True):
        alone_found, alone_values = built.overlaps([question])[0]
        assert np.array_equal(found, alone_found) and np.array_equal(values, alone_values)
    assert built.overlaps([]) == []


def test_similarity_is_bit_for_bit_the_key_by_key_sum() -> None:
    """IntentProfiles.similarity gathers every hit key's run at once: the same sums as slicing key by key."""
    import numpy as np

    from bot.core.index import _unit

    rng = np.random.default_rng(21)
    words = ["打印机", "没纸", "小票", "签到", "失败", "扣钱", "刷卡", "pos机", "成功", "不", "了", "网络", "卡"]
    forms = [" ".join(rng.choice(words, rng.integers(1, 6))) for _ in range(200)]
    owners = [int(owner) for owner in rng.integers(0, 15, len(forms))]
    built = IntentProfiles(PhraseIndex(forms, owners), forms, owners, 15)
    for question in [*forms[:30], "打印机 没纸 又 卡纸 刷卡 失败", "天气 怎么样"]:
        query = _unit(built._index, question)
        hit = [(built._slices[key], query[key]) for key in query if key in built._slices]
        expected = np.zeros(15)
        if hit:
            keyed = np.concatenate([built._flat_owners[start:end] for (start, end), _ in hit])
            values = np.concatenate([built._flat_values[start:end] * weight for (start, end), weight in hit])
            expected = np.bincount(keyed, weights=values, minlength=15).astype(np.float64)
        assert np.array_equal(built.similarity(question), expected)
