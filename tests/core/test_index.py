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
