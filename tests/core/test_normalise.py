"""Normalisation: width, script, case, symbols, typos, sound-alike slips, synonyms."""

import unicodedata

import pytest
from hypothesis import given, strategies as st

from bot.core.normalise import MAX_INPUT_CHARS, Normaliser, fold

NORMALISER = Normaliser(
    vocabulary=["签到", "通讯", "余额不足", "签购单", "热敏纸", "pos机"],
    synonyms=[["pos机", "刷卡机", "机器", "pos机器", "pos"], ["小票", "签购单", "票子"]],
    typos={"签购但": "签购单"},
)


@pytest.mark.parametrize("raw, folded", [
    ("ＰＯＳ机　显示０３", "pos机 显示03"),
    ("簽到失敗", "签到失败"),
    ("餘額不足", "余额不足"),
    ("MAC校验错！！！", "mac校验错"),
    ("扣钱了😭😭没出票", "扣钱了 没出票"),
    ("  多个   空格\t\n", "多个 空格"),
    ("<b>你好</b>", "b 你好 b"),
    ("a\x00b\x1bc", "a b c"),
])
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


@pytest.mark.parametrize("raw, normalised", [
    ("签倒失败", "签到失败"),
    ("通迅失败", "通讯失败"),
    ("余额不组", "余额不足"),
    ("签购但没出来", "签购单没出来"),
    ("簽倒", "签到"),
])
def test_normalise_fixes_typos_and_sound_alike_slips(raw: str, normalised: str) -> None:
    assert NORMALISER.normalise(raw) == normalised


@pytest.mark.parametrize("word, canonical", [
    ("刷卡机", "pos机"), ("pos机器", "pos机"), ("票子", "小票"), ("签购单", "小票"), ("机器人", "机器人"),
    ("小票", "小票"),
])
def test_synonyms_map_whole_words(word: str, canonical: str) -> None:
    assert NORMALISER.canonical(word) == canonical


def test_words_already_right_are_left_alone() -> None:
    assert NORMALISER.normalise("签到成功") == "签到成功"
    # a single character is never "corrected": too many homophones
    assert NORMALISER.normalise("倒了") == "倒了"


def test_ambiguous_sounds_are_not_guessed() -> None:
    normaliser = Normaliser(vocabulary=["支付", "致富"])
    assert normaliser.normalise("之付") == "之付"


def test_huge_input_is_cut() -> None:
    assert len(fold("好" * 10_000)) == MAX_INPUT_CHARS


@given(st.text(max_size=300))
def test_normalise_is_idempotent_and_clean(text: str) -> None:
    once = NORMALISER.normalise(text)
    assert NORMALISER.normalise(once) == once
    assert once == once.strip()
    assert "  " not in once
    assert once == once.lower()


def _stays_symbol(char: str) -> bool:
    """NFKC turns some symbols into letters (㈀ -> (ᄀ)); those rightly survive folding."""
    return all(unicodedata.category(c)[0] not in "LN" for c in unicodedata.normalize("NFKC", char))


SYMBOLS = st.characters(categories=["So", "Sk", "Po", "Ps", "Pe", "Cc"]).filter(_stays_symbol)


@given(st.text(alphabet=SYMBOLS, max_size=50))
def test_symbols_and_emoji_only_fold_to_nothing(text: str) -> None:
    assert fold(text) == ""
