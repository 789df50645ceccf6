"""Clauses, and which of them a merchant denies or dismisses (they do not vote)."""

import pytest

from bot.core.clauses import split_clauses


def denied(text: str) -> list[str]:
    return [c.text.strip() for c in split_clauses(text) if c.denied]


def kept(text: str) -> list[str]:
    return [c.text.strip() for c in split_clauses(text) if not c.denied]


def test_a_long_message_is_cut_at_punctuation_spaces_and_connectives() -> None:
    assert kept("我是开超市的，今天刷了268 机器显示交易失败但是顾客说扣钱了") == [
        "我是开超市的", "今天刷了268", "机器显示交易失败", "但是顾客说扣钱了"]


@pytest.mark.parametrize("text, gone, stays", [
    ("不是签到失败，是打印不出来", "不是签到失败", "是打印不出来"),
    ("不是68是98", "不是68", "是98"),
    ("网络没问题 就是刷不了卡", "网络没问题", "就是刷不了卡"),
    ("签到成功了但是刷卡还是不行", "签到成功了", "但是刷卡还是不行"),
    ("路由器也重启了 还是连不上", "路由器也重启了", "还是连不上"),
    ("没有扣两次，就扣了一次", "没有扣两次", "就扣了一次"),
])
def test_denied_dismissed_done_and_tried_clauses_do_not_vote(text: str, gone: str, stays: str) -> None:
    assert gone in denied(text)
    assert stays in kept(text)


@pytest.mark.parametrize("text", [
    "不是签到失败就是通讯失败",  # either … or …: both stay
    "不是吧",  # nothing after it
    "没反应，刷了好几次",  # 没 is the symptom itself
    "大单子是不是分几次刷就没事 听说五万以上会查",  # 是不是 asks, it denies nothing
    "刷不出来 是不是读卡器的问题",  # asks whether it is the reader
])
def test_what_is_not_a_denial_stays(text: str) -> None:
    assert denied(text) == []


def test_a_question_that_ends_like_a_dismissal_is_still_asked() -> None:
    """"每次刷4万9是不是就没事" asks whether it is fine; it once read as "fine" and was dropped, red line
    and all."""
    assert denied("听说超过5万要审核 那我每次刷4万9是不是就没事") == []
    assert denied("晚上刷会不会没问题") == []


def test_what_the_merchant_would_not_do_is_denied() -> None:
    clauses = split_clauses("顾客非要我帮他输 我没敢 是不是键盘坏了")
    assert clauses[0].denied and not clauses[-1].denied


def test_what_was_tried_and_did_not_help_is_context() -> None:
    clauses = split_clauses("一直显示网络错误 重启也没用")
    assert [c.denied for c in clauses] == [False, True]
    # what it was done to may come first ("路由器" here is not what is wrong)
    clauses = split_clauses("刷卡老是转圈 最后说交易超时 路由器重启了也一样")
    assert [c.denied for c in clauses] == [False, False, True]


def test_the_subject_of_a_denial_stays() -> None:
    clauses = split_clauses("机器不是坏了 是丢了")
    assert [(c.text.strip(), c.denied) for c in clauses] == [("机器", False), ("不是坏了", True), ("是丢了", False)]


def test_an_emoji_does_not_hide_a_dismissal() -> None:
    assert [c.denied for c in split_clauses("感谢 机器能用了👍")] == [False, True]


def test_what_did_not_happen_is_told_apart_from_what_is_denied() -> None:
    # "没买东西 就刷一笔": no sale is denied as the problem to match, but it is what the merchant says was so
    first, *_ = split_clauses("没买东西 就刷一笔")
    assert first.denied and first.absent
    # a denial proper or a part that works is not an absence
    assert not split_clauses("不是签到失败 是打印不出来")[0].absent
    assert not split_clauses("网络没问题 就是刷不了卡")[0].absent


@pytest.mark.parametrize("text", ["发卡方状态不正常，请稍后重试", "机器不能用了 怎么办", "打印不正常 怎么回事",
                                  "信号不满格 刷卡很慢"])
def test_a_negated_dismissal_says_what_is_wrong(text: str) -> None:
    # "不正常" is not "正常": the screen's own text ("发卡方状态不正常") was dropped as a part that works
    assert denied(text) == []


def test_a_step_done_long_ago_is_context() -> None:
    assert denied("机器早激活了 几个月没用就不能刷了") == ["机器早激活了"]
