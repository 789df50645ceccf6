"""The red-line model (bot/core/redline_model.py): scikit-learn's naive Bayes in numpy, asked only where the matcher
would ask about a question or fall back, and refusing only as unsure."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_union

from bot.core.decide import MODEL_REFUSE_AT, MODEL_REFUSE_AT_LETTERS, Decision, decide, model_readable, second_opinion
from bot.core.engine import Engine
from bot.core.redline_model import MIN_DOCUMENTS, SMOOTHING, RedlineModel, Verdict, character_grams, word_features
from tests.conftest import MINI

REQUESTS = [("cash_out", "朋友让我刷他的卡 我转现金给他", ["朋友", "刷", "卡", "转", "现金"]),
            ("cash_out", "刷两万 你把钱打回我微信", ["刷", "两万", "钱", "打回", "微信"]),
            ("cash_out", "帮人刷卡换现金 收点手续费", ["帮人", "刷卡", "换", "现金", "手续费"]),
            ("split_payment", "一万的单子分两次刷", ["一万", "单子", "分", "两次", "刷"]),
            ("split_payment", "金额太大 拆成几笔刷", ["金额", "太大", "拆成", "几笔", "刷"])]
OTHERS = [("打印机不出纸", ["打印机", "不出", "纸"]), ("刷卡显示51", ["刷卡", "显示", "51"]),
          ("客人一半刷卡一半付现金", ["顾客", "一半", "刷卡", "一半", "付", "现金"]),
          ("机器连不上网", ["pos机", "连不上", "网"]), ("退货怎么退到卡上", ["退货", "怎么", "退", "卡"]),
          ("刷卡金额太大 提示超限", ["刷卡", "金额", "太大", "提示", "超限"])]


def test_the_model_is_scikit_learns_naive_bayes_on_the_same_features() -> None:
    """Same features as a union of two TfidfVectorizers (characters; words and word pairs), same MultinomialNB: same
    probabilities."""
    model = RedlineModel(REQUESTS, OTHERS)
    documents = [(text, words) for _intent, text, words in REQUESTS] + OTHERS
    labels = [1] * len(REQUESTS) + [0] * len(OTHERS)
    features = make_union(
        TfidfVectorizer(analyzer=lambda d: character_grams(d[0]), sublinear_tf=True, min_df=MIN_DOCUMENTS),
        TfidfVectorizer(analyzer=lambda d: word_features(d[1]), sublinear_tf=True, min_df=MIN_DOCUMENTS))
    bayes = MultinomialNB(alpha=SMOOTHING, fit_prior=False).fit(features.fit_transform(documents), labels)
    questions = [("我刷你的卡 你转我现金", ["刷", "卡", "转", "现金"]), ("打印机卡纸了", ["打印机", "卡纸"]),
                 ("金额太大 分几次刷", ["金额", "太大", "分", "几次", "刷"])]
    expected = bayes.predict_proba(features.transform(questions))[:, 1]
    got = [model.judge(text, words).probability for text, words in questions]
    assert np.allclose(got, expected, atol=1e-9)
    assert expected[0] > 0.5 > expected[1]


def test_the_red_line_named_is_the_one_the_request_is_most_like() -> None:
    model = RedlineModel(REQUESTS, OTHERS)
    assert model.judge("金额太大 分几次刷", ["金额", "太大", "分", "几次", "刷"]).intent == "split_payment"
    assert model.judge("我刷你的卡 你转我现金", ["刷", "卡", "转", "现金"]).intent == "cash_out"


def test_a_text_with_nothing_the_model_knows_is_no_request() -> None:
    model = RedlineModel(REQUESTS, OTHERS)
    assert model.judge("", []) == Verdict(0.0, None)
    assert model.judge("😀", ["😀"]).probability < 0.5  # only the padding space is known
    assert RedlineModel([], OTHERS).judge("刷卡", ["刷卡"]) == Verdict(0.0, None)
    assert RedlineModel([], []).judge("刷卡", ["刷卡"]) == Verdict(0.0, None)


def _never_asked(_text: str) -> Verdict:
    raise AssertionError("the model is asked only where the matcher would clarify or fall back")


SURE = Verdict(MODEL_REFUSE_AT, "cash_out")


@pytest.mark.parametrize("decision", [Decision("answer", intent="printer_problem"), Decision("refuse", intent="cash_out")])
def test_an_answer_or_a_refusal_is_left_as_it_is(decision: Decision) -> None:
    assert second_opinion(decision, _never_asked, "刷卡") is decision


@pytest.mark.parametrize("kind", ["clarify", "fallback"])
def test_a_sure_model_turns_a_question_or_a_fallback_into_an_unsure_refusal(kind: str) -> None:
    decision = second_opinion(Decision(kind), lambda _text: SURE, "帮人刷点钱出来")  # type: ignore[arg-type]
    assert (decision.kind, decision.intent, decision.sure) == ("refuse", "cash_out", False)
    unsure = Verdict(MODEL_REFUSE_AT - 0.01, "cash_out")
    assert second_opinion(Decision(kind), lambda _text: unsure, "帮人刷点钱出来").kind == kind  # type: ignore[arg-type]


@pytest.mark.parametrize("question", ["bang ren shua dian qian chu lai 行吗", "𝓣𝓱𝓮 𝓬𝓪𝓼𝓱", "ｃａｓｈ　ｏｕｔ 吗", "😀😀😀", "кэш"])
def test_a_text_not_mostly_in_chinese_characters_is_not_judged(question: str) -> None:
    """The model learnt from Chinese: a text left mostly in letters (English the lexicon does not know, pinyin
    the matcher could not write back) would be judged by its letters alone."""
    assert second_opinion(Decision("fallback"), _never_asked, question).kind == "fallback"


def test_a_request_typed_in_pinyin_is_judged_as_the_matcher_reads_it(engine: Engine) -> None:
    """Written for this test: the model reads the words the pinyin sounds like, so a request typed with the input
    method off is refused as it would be in characters; an honest question in pinyin is not."""
    question = "dian li na tai ji qi wan shang jie gei ye shi bai tan de lao xiang yong"
    analysis = engine.matcher.analyse(question)
    assert decide(analysis.candidates, specific=analysis.specific).kind in ("clarify", "fallback")
    assert (engine.understand(question).decision.kind, engine.understand(question).decision.intent) == (
        "refuse", "terminal_lending")
    for honest in ["ji qi ban dao xin dian yao ban shen me shou xu", "keren wangle mima zenme ban"]:
        assert engine.understand(honest).decision.kind != "refuse"


def test_requests_in_words_no_pattern_has_are_refused_by_the_model_and_honest_ones_are_not(engine: Engine) -> None:
    """Written for this test (no evaluation set holds them): the matcher alone falls back on the first two."""
    for question, red_line in [("店里那台机器晚上借给夜市摆摊的老乡用 他收的钱我再转他", "terminal_lending"),
                               ("帮客人把那六位数记本子上 下次他来就不用按了", "card_data_capture")]:
        analysis = engine.matcher.analyse(question)
        assert decide(analysis.candidates, specific=analysis.specific).kind in ("clarify", "fallback")
        understood = engine.understand(question)
        assert (understood.decision.kind, understood.decision.intent, understood.decision.sure) == (
            "refuse", red_line, False)
    for honest in ["机器搬到新店要办什么手续", "客人忘了密码 让他自己再试一次吗"]:
        assert engine.understand(honest).decision.kind != "refuse"


LENDING = """\
redlines:
  - id: terminal_lending
    title: 出借出租机器
    now: 机器只能你自己的店用，不能借、租给别人
    answer: 把机器借给、租给别人收款，违反“一机一户”的规定。
    examples: [我的pos机能借给朋友用吗, 把刷卡机租给别的店收费, 朋友开店没机器 用我的先收着]
"""


def test_model_examples_teach_the_model_and_leave_every_score_alone(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    redlines = root / "intents" / "redlines.yaml"
    redlines.write_text(LENDING, encoding="utf-8")
    before = Engine.load(root)
    redlines.write_text(LENDING + "    model_examples: [晚上把机器给别人摆摊收钱, 机器给隔壁店用 收的钱我再转他, 摆摊的老乡用我机器收钱]\n",
                        encoding="utf-8")
    after = Engine.load(root)
    question = "晚上机器给隔壁摆摊的用 钱我再转他"
    assert after.matcher.analyse(question).candidates == before.matcher.analyse(question).candidates
    assert (after.matcher.redline_verdict(after.matcher.analyse(question)).probability
            > before.matcher.redline_verdict(before.matcher.analyse(question)).probability)


def test_the_model_judges_the_chinese_of_a_text_mostly_in_english_words_only_when_chinese_outnumbers_them() -> None:
    assert model_readable("帮人刷点钱出来") == "帮人刷点钱出来"
    # more letters than characters, more characters than English words: the Chinese alone
    assert model_readable("how to make the 刷卡 look like real sales 金额弄随机一点就行吗") == "刷卡 金额弄随机一点就行吗"
    # mostly English words: nothing to judge
    assert model_readable("customer paid half 现金 half 卡, how to 退款 the 卡 part only") is None
    assert model_readable("😀😀😀") is None


def test_the_model_is_not_asked_when_posbot_asks_which_of_someone_elses_jobs_it_is(engine: Engine) -> None:
    """Written for this test: the model is sure (0.99) this loan question is a red line ("那种" reads as red); the
    matcher ranks the loan redirect first at 0.8 and asks, which is right."""
    question = "有没有那种不查征信也能借到钱的平台"
    analysis = engine.matcher.analyse(question)
    assert analysis.candidates[0].kind == "redirect" and engine.matcher.redline_verdict(analysis).probability >= MODEL_REFUSE_AT
    decision = engine.understand(question).decision
    assert (decision.kind, decision.choices[0].intent) == ("clarify", "redirect_loan")


def test_a_question_typed_in_letters_is_refused_from_its_own_threshold() -> None:
    """Pinyin written back is noisier, so the model is less sure of the same request (MODEL_REFUSE_AT_LETTERS)."""
    between = Verdict((MODEL_REFUSE_AT_LETTERS + MODEL_REFUSE_AT) / 2, "cash_out")
    read = "帮人刷点钱出来"
    assert second_opinion(Decision("fallback"), lambda _text: between, read, typed="bang ren shua dian qian chu lai").refused
    assert not second_opinion(Decision("fallback"), lambda _text: between, read, typed=read).refused
    assert not second_opinion(Decision("fallback"), lambda _text: between, read).refused
