"""Red lines by word groups (`signals`): every group has a word in the question, in any order."""

import shutil
from pathlib import Path

import pytest

from bot.core.engine import Engine
from bot.core.errors import ContentError
from bot.core.models import signal_groups
from tests.conftest import MINI

REDLINES = """\
redlines:
  - id: split_payment
    title: 拆单
    now: 一笔交易按实际金额刷一次，不能拆单
    answer: 把一笔交易拆成几笔来绕过限额是违规的。
    signals:
      - '分开刷|分两次 + 限额|一次只能'
    examples: [一万的单子能不能拆成三笔, 把一单拆成几单刷, 帮我拆单]
"""


def _content_with(tmp_path: Path, redlines: str) -> Path:
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    (root / "intents" / "redlines.yaml").write_text(redlines, encoding="utf-8")
    return root


def test_signal_groups_split_on_plus_and_bar() -> None:
    assert signal_groups("分开刷|分 两次 + 限额") == (("分开刷", "分两次"), ("限额",))


@pytest.mark.parametrize("question", [
    "限额不够 客人想分开刷",
    "客人想分两次 因为卡一次只能刷五千",  # the other order, other words of the same groups
])
def test_a_word_of_every_group_refuses(tmp_path: Path, question: str) -> None:
    engine = Engine.load(_content_with(tmp_path, REDLINES))
    decision = engine.understand(question).decision
    assert (decision.kind, decision.intent) == ("refuse", "split_payment")


@pytest.mark.parametrize("question", [
    "客人想分开刷",  # one group only
    "限额不够",
    "限额不够 分开刷 显示51",  # a response code: the merchant asks about the code
    "不是要分开刷 限额是多少",  # the denied clause does not vote
])
def test_one_group_a_code_or_a_denial_does_not_refuse(tmp_path: Path, question: str) -> None:
    engine = Engine.load(_content_with(tmp_path, REDLINES))
    assert engine.understand(question).decision.kind != "refuse"


def test_a_signal_with_one_group_is_refused_in_chinese(tmp_path: Path) -> None:
    broken = REDLINES.replace("'分开刷|分两次 + 限额|一次只能'", "'分开刷|分两次'")
    with pytest.raises(ContentError) as caught:
        Engine.load(_content_with(tmp_path, broken))
    assert "组之间用 + 分开" in str(caught.value)


def test_shipped_signals_refuse_wordings_no_example_has(engine: Engine) -> None:
    # written for this test, in orders and words the red lines' examples and patterns do not have
    for question in ("店里来个熟人 说急用钱 让我刷他的卡 再把现金给他 收点手续费",
                     "卡背面三位数和卡号 客户电话里报给我了 能在pos上手动输吗"):
        assert engine.understand(question).decision.kind == "refuse", question


def test_words_of_a_signal_far_apart_in_a_story_do_not_refuse(tmp_path: Path) -> None:
    engine = Engine.load(_content_with(tmp_path, REDLINES))
    story = "上个月客人想分开刷 后来换了台新机器 打印纸也换了 店里刚装修完 门头招牌也换了新的 今天问一下单笔限额是多少"
    # (the mini content has few intents, so its examples may still come close: only the signal is checked)
    assert all(c.via != "pattern" for c in engine.understand(story).analysis.candidates)
    assert any(c.via == "pattern" for c in engine.understand("客人想分开刷 单笔限额不够").analysis.candidates)


def test_shipped_signals_read_english_and_new_shapes(engine: Engine) -> None:
    # written for this test: English red lines read through lexicon english, and shapes of later rounds
    for question in ("my friend wants cash, can I swipe his credit card and give him the money",
                     "把那笔交易删了 后台就查不到了吧", "卡号客人微信发我了 我手动输进去刷行不行"):
        assert engine.understand(question).decision.kind == "refuse", question
    # the PIN pad customers type on, and a cash refund, are not red lines
    for question in ("给客人输密码的那个小键盘没反应", "顾客说扣了钱 让我给她现金退回去 可以吗"):
        assert engine.understand(question).decision.kind != "refuse", question


def test_the_red_line_indexes_leave_out_only_what_cannot_fire() -> None:
    """Patterns and signals filed under character pairs (and patterns tested for their required_choice) are what a
    search of every one of them in content order finds, on every example and not_example of the content; and
    redirects' signals are held where they were."""
    import copy

    from bot.core.signals import CharacterIndex

    matcher = Engine.load().matcher
    everything = copy.copy(matcher)
    everything._patterns_by_character = CharacterIndex([frozenset()] * len(matcher.redline_patterns))
    everything._pattern_choices = tuple(() for _ in matcher.redline_patterns)
    for name in ("redline_signals", "redirect_signals"):
        unfiled = copy.copy(getattr(matcher, name))
        unfiled._by_character = CharacterIndex([frozenset()] * len(unfiled))
        setattr(everything, name, unfiled)
    texts = [text for intent in matcher.content.intents for text in (*intent.examples, *getattr(intent, "not_examples", ()))]
    found = 0
    for text in texts:
        literal = matcher.normaliser.fix_typos(text)
        expected = everything._redline_of(literal)
        assert matcher._redline_of(literal) == expected, text
        found += expected is not None
        normalised = matcher.normaliser.normalise(text)
        assert matcher.redirect_signals.held(normalised) == everything.redirect_signals.held(normalised), text
    assert found > 50
