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


@pytest.mark.parametrize("raw", [
    "这钱到底扣没扣",  # 钱到 sounds like 签到, but 到底 is a word and 钱 is never a slip
    "钱到我账上再转给他",
    "交易记录里的时间",  # 易记 sounds like 移机, cut out of 交易 and 记录
    "开五金店的",  # 金店 sounds like 进电
    "我们的机器不打纸质小票",  # 不打 sounds like 补打
    "怎么激活嘛",  # 激活嘛 sounds like 激活码: a particle is never a slip
])
def test_sound_alike_fixes_never_cut_through_real_words(raw: str) -> None:
    from bot.core.engine import Engine

    normaliser = Engine.load().matcher.normaliser
    assert normaliser.normalise(raw) == raw


@pytest.mark.parametrize("raw, normalised", [
    ("这钱到底扣没扣 签倒失败", "这钱到底扣没扣 签到失败"),
    ("小飘是白的", "小票是白的"),
    ("于额不足", "余额不足"),
    ("搬店了要一机", "搬店了要移机"),
])
def test_sound_alike_fixes_with_the_real_segmenter(raw: str, normalised: str) -> None:
    from bot.core.engine import Engine

    assert Engine.load().matcher.normaliser.normalise(raw) == normalised


def test_english_words_become_chinese_without_cutting_the_sentence() -> None:
    normaliser = Normaliser(english={"receipt": "小票", "e-receipt": "电子签购单", "resend": "重发", "ok": "好"})
    # no spaces beside Chinese (a space there starts a new clause); a hyphen or a space inside a key matches
    assert normaliser.english_to_chinese("e-receipt怎么resend给客人") == "电子签购单怎么重发给客人"
    assert normaliser.english_to_chinese("e receipt呢") == "电子签购单呢"
    assert normaliser.english_to_chinese("刷卡ok了吗") == "刷卡好了吗"
    # beside Latin letters or digits a space keeps the words apart ("5000mah" and codes stay readable)
    assert normaliser.english_to_chinese("receipt 2张") == "小票 2张"


def test_a_number_word_is_replaced_only_where_it_stands_alone() -> None:
    # "886" and "88" are goodbyes typed alone, never inside an amount or a longer number
    normaliser = Normaliser(english={"886": "再见", "88": "再见", "ok": "好"})
    assert normaliser.english_to_chinese("886") == "再见"
    assert normaliser.english_to_chinese("好的 88") == "好的 再见"
    assert normaliser.english_to_chinese("刷了886块 没出小票") == "刷了886块 没出小票"
    assert normaliser.english_to_chinese("收了1886") == "收了1886"
    assert normaliser.english_to_chinese("刷了88.5") == "刷了88.5"
    # nor is a Latin word replaced inside a run of letters and digits
    assert normaliser.english_to_chinese("ok2") == "ok2"


def test_a_question_fixes_each_run_of_sounds_once() -> None:
    """The memo analyse shares between the whole message and its clauses: the same result as without it, each
    run of Chinese characters fixed once (a second text holding a run already seen reuses its fix)."""
    normaliser = Normaliser(vocabulary=["签到", "通讯"], synonyms=[], typos={})
    calls: list[str] = []
    fix = normaliser._fix_sounds

    def counted(run: str) -> str:
        calls.append(run)
        return fix(run)
    normaliser._fix_sounds = counted  # type: ignore[method-assign]
    sounds: dict[str, str] = {}
    whole = normaliser.normalise_folded("签倒失败 通迅失败", sounds=sounds)
    clauses = [normaliser.normalise_folded(text, sounds=sounds) for text in ("签倒失败", "通迅失败")]
    assert whole == "签到失败 通讯失败" and clauses == ["签到失败", "通讯失败"]
    assert calls == ["签倒失败", "通迅失败"]
    assert sounds == {"签倒失败": "签到失败", "通迅失败": "通讯失败"}
    assert normaliser.normalise_folded("签倒失败 通迅失败") == whole


def test_strip_symbols_reads_every_character_as_its_category_says() -> None:
    """strip_symbols' table of characters (normalise._KEPT) writes what _is_kept says, over all of Unicode."""
    from bot.core.normalise import _SPACES, _is_kept, strip_symbols

    text = "".join(chr(code) for code in range(0x110000))
    assert strip_symbols(text) == _SPACES.sub(" ", "".join(c if _is_kept(c) else " " for c in text)).strip()
