"""Red-line names the merchant disowns or asks about: "我不搞套现，就是顾客退货怎么退", "这样算不算套现".

A red line's name (套现, 养卡, 跳码 …) refuses wherever it stands, and so it should when a merchant asks
for it ("怎么套现"). But a merchant who says they do not do it, or who asks whether what they did counts
as it, asks about what they did: the name is taken out and the rest is read as any question is. If the
rest is itself a red line ("不算套现吧 我用自己的卡刷自己的机器"), its patterns, signals and examples
still refuse it.
"""

from __future__ import annotations

import re
from typing import Iterable

_DENIAL = (r"(?<![有会是要能想敢算搞做干])(?:(?:我|我们|咱|咱们|本店|我家|俺)?(?:可|也|从来|从|绝|并|根本|又)?"
           r"(?:不是|没有|没|不|未|别|莫)(?:在|是|要|会|想|敢|打算|准备|搞过|做过|干过|弄过|搞|做|干|玩|弄|参与|碰)?"
           r"(?:帮人|给人|替人|帮别人)?)")
"""A lead that says the merchant does not do it: 不搞, 没有, 从来不帮人, 可没, 不是; not the middle of a
question that asks for it ("有没有代还的", "会不会套现")."""
_QUESTION_BEFORE = (r"(?:算不算|算是|算|是不是|是不|属不属于|属于|会不会被当成|会不会被认为|会不会被判成?|"
                    r"会不会算|会被当成|会被认为|会被判成?|被当成|被认为是?|被判成?|被定性为?|当成|视为|涉嫌|构成)")
"""Asking whether something counts as it: 算不算, 会不会被当成, 属于."""
_ACCUSED = (r"(?:说|怀疑|以为|当|认为|判定?|冤枉|举报)(?:我|我们|商户|本店|我家)(?:是|在|要|想|有|刷卡|涉嫌|疑似)*")
"""Reporting someone else's accusation: 说我疑似套现, 怀疑我刷卡套现."""
_QUESTION_AFTER = r"(?:吗|嘛|么|不|没|没有|呢)?"
_SUSPECTED = r"(?:疑似|涉嫌|怀疑)"
"""What a bank or a screen says of someone: 提示疑似套现, 银行讲他疑似套现."""
_CAUGHT_AFTER = r"(?:的)?(?:被抓|被判|被查处|被处罚|被罚|被封|抓了|判了|坐牢)"
"""What became of those who did it: 因为养卡套现被抓了, 用pos套现被判了三年."""
_MEANING_BEFORE = r"(?:啥叫|什么叫|什么是|何为|啥是)"
_MEANING_AFTER = r"(?:到底)?(?:是啥意思|是什么意思|啥意思|什么意思|是什么|是啥|指什么|指的是啥|是怎么回事)"
"""Asking what the word means: 跳码是啥意思, 什么叫养卡."""
_TOLD_BEFORE = r"(?:听说|新闻|报道|严查|严打|整治|打击|查处|抖音|快手|朋友圈|网上|公告)[^，,。！？!?\s]{0,12}?"
"""News and hearsay about it: 听说最近严查套现, 新闻说今年要重点整治信用卡套现."""
_ASKING_HOW = re.compile(r"怎么|咋|如何|教|方法|办法|渠道|门路|路子|哪里能|哪能|帮我|带我|操作|步骤|流程|技巧|攻略|"
                         r"设置|关掉|去掉|消掉|屏蔽|绕过|不提示")
"""A question that asks how to do it, or how to silence the warning: news, a suspicion or a word's meaning told
beside this ("听说能套现 怎么弄", "老是提示疑似套现 能把提示关掉吗") is no report, and the name stays. Asking how to
get a frozen card or shop back is not asking how to do it ("说是怀疑套现 咋解冻": _UNFREEZING)."""
_UNFREEZING = re.compile(r"(?:怎么|咋|如何)(?:样|才能|能|办理?|去|申请)?(?:解冻|解封|解除冻结|恢复|申诉)")


class Disowner:
    """Takes red-line names out of a question where the merchant disowns them or asks whether they apply."""

    def __init__(self, names: Iterable[str]) -> None:
        ordered = sorted({name for name in names if name}, key=len, reverse=True)
        self._names = tuple(ordered)
        if not ordered:
            self._pattern: re.Pattern[str] | None = None
            return
        one = "(?:" + "|".join(re.escape(n) for n in ordered) + ")"
        name = f"{one}(?:[和、或/]?{one})*"  # 养卡套现, 套现和养卡: one name said twice
        self._pattern = re.compile(f"{_DENIAL}{name}(?:的)?|{_ACCUSED}{name}|{_QUESTION_BEFORE}{name}{_QUESTION_AFTER}"
                                   f"|{name}{_CAUGHT_AFTER}")
        self._told = re.compile(f"{_SUSPECTED}{name}|{_MEANING_BEFORE}{name}|{name}{_MEANING_AFTER}|(?P<told>{_TOLD_BEFORE}){name}")

    def __call__(self, text: str) -> str:
        """`text` with each disowned or questioned name (and the words that disown it) replaced by a space."""
        if self._pattern is None or not any(name in text for name in self._names):
            return text
        text = self._pattern.sub(" ", text)
        if not _ASKING_HOW.search(_UNFREEZING.sub(" ", text)):
            # the news itself is kept ("听说最近严查"): only the name goes
            text = self._told.sub(lambda found: (found.group("told") or "") + " ", text)
        return text
