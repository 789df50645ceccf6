"""Pinyin typed with the input method off, written back as the words posbot knows."""

from bot.core.engine import Engine
from bot.core.pinyin import split_syllables, transliterate

WORDS = {("qian", "dao"): "签到", ("shi", "bai"): "失败", ("xiao", "piao"): "小票", ("mei", "you"): "没有",
         ("chu",): "出"}


def test_runs_are_cut_into_the_fewest_syllables() -> None:
    assert split_syllables("qiandaobuliao") == ["qian", "dao", "bu", "liao"]
    assert split_syllables("xian") == ["xian"]
    assert split_syllables("printer") is None


def test_pinyin_with_and_without_spaces_becomes_known_words() -> None:
    assert transliterate("qiandao shibai", WORDS).split() == ["签到失败"]
    assert transliterate("mei you chu xiao piao", WORDS).split() == ["没有出小票"]
    assert transliterate("pos机qiandaoshibai了", WORDS).replace(" ", "") == "pos机签到失败了"


def test_one_syllable_is_left_alone() -> None:
    assert transliterate("显示an", WORDS) == "显示an"


def test_units_glued_to_numbers_are_not_pinyin() -> None:
    """"57mm" once lost its "mm" (two syllables of the interjection m), leaving 57 to be read as a code."""
    assert transliterate("纸是57mm的 打不出来", WORDS) == "纸是57mm的 打不出来"
    assert transliterate("电池5000mah 用不到半天", WORDS) == "电池5000mah 用不到半天"
    assert split_syllables("mm") is None


def test_a_code_s_letter_is_not_pinyin(engine: Engine) -> None:
    """"A0" said twice is two syllables "a": written as sounds, the code was lost and the merchant asked
    which of 99, 59 or A0 they meant."""
    assert transliterate("刷完报A0 重新签到了还是A0", WORDS) == "刷完报A0 重新签到了还是A0"
    assert engine.understand("刷完报A0 重新签到了还是A0").decision.intent == "code_a0"
    # pinyin typed right after a code is pinyin, not a unit of it
    assert engine.understand("shuaka xianshi51yuebuzu").decision.intent == "code_51"


def test_the_reading_with_the_longest_words_wins_not_the_longest_first_word(engine: Engine) -> None:
    words = {("shua", "xin"): "刷新", ("yong", "ka"): "用卡", ("xin", "yong", "ka"): "信用卡", ("shua",): "刷"}
    # longest first: 刷新 用卡; best cover: 刷 信用卡
    assert transliterate("shua xin yong ka", words).split() == ["刷信用卡"]
    # so a red line typed in pinyin is read as one ("huan" read as 换, a typo of 还 before 贷款)
    assert engine.understand("shua xinyongka huan daikuan xing bu xing").decision.kind == "refuse"


def test_english_the_lexicon_does_not_know_is_not_read_as_pinyin() -> None:
    # can, fa ke read as pinyin; the, location, of, my, pos do not: it is English, left alone
    text = "can i fake the location of my pos"
    assert transliterate(text, {("fa",): "发", ("ke",): "可", ("can",): "餐"}) == text


def test_a_left_over_syllable_reads_as_a_common_character_unless_the_domain_uses_another_much_more(
        engine: Engine) -> None:
    sounds = engine.matcher._sounds
    # 其, 就 are far more common in Chinese than 期, 九 (a few instalment and amount examples use those)
    assert sounds[("qi",)] == "其"
    assert sounds[("jiu",)] == "就"
    assert sounds[("dan",)] == "但"
    # 机 is in hundreds of phrases: "pos ji" is still 机, not 急
    assert sounds[("ji",)] == "机"
    # the commonest characters by jieba's own count, not the lower one posbot gives its user words (的, 他
    # are stopwords): "de" was 得 and "ta" 她, and the red-line model read "自己得信用卡"
    assert (sounds[("de",)], sounds[("ta",)]) == ("的", "他")
    # but a question's last "ma" is still 吗, not the domain's 码
    assert sounds[("ma",)] == "吗"


def test_u_with_umlaut_is_typed_as_v() -> None:
    """费率 is "feilv" on every Chinese keyboard (pypinyin writes 率 as "lv" too); "lv" was no syllable, so no
    question about the rate typed in pinyin was read."""
    assert split_syllables("feilv") == ["fei", "lv"]
    assert split_syllables("nvde") == ["nv", "de"]


def test_a_latin_word_typed_together_with_pinyin_is_a_word_of_its_own(engine: Engine) -> None:
    assert split_syllables("xiangyongposshua") is None
    assert split_syllables("xiangyongposshua", ["pos"]) == ["xiang", "yong", "\x02pos", "shua"]
    # a run pinyin alone reads is read as before, and a word made of terms is English
    assert split_syllables("shuaka", ["ka", "shua"]) == ["shua", "ka"]
    assert split_syllables("customers", ["custom", "ers"]) is None
    read = engine.matcher.analyse("nenggaimccma woshimaizhubaode").normalised
    assert "mcc" in read and "珠宝" in read


def test_one_letter_before_a_character_is_a_label() -> None:
    """"A卡的账单 用B卡还" read the a as 啊 (and the message as small talk)."""
    assert transliterate("A卡的账单到期了 用B卡还A卡", {("a",): "啊"}) == "A卡的账单到期了 用B卡还A卡"
    assert transliterate("a ka shua bu liao", {("a",): "啊", ("ka",): "卡"}).split() == ["啊卡"]


def test_a_red_line_pattern_reads_a_number_with_spaces_around_it_as_glued(engine: Engine) -> None:
    # pinyin written back keeps a space around its numbers ("刷 5000 我给他 4800 现金"), as many merchants type
    assert engine.understand("客户刷 5000 我给他 4800 现金可以吗").decision.kind == "refuse"
    assert engine.understand("kehushua5000wogeita4800xianjin keyima").decision.kind == "refuse"
