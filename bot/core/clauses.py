"""Split a message into clauses, and find the clauses a merchant denies or dismisses.

A long message ("我是开超市的，今天下午三点一个顾客刷了268，机器显示交易失败，但是顾客说扣钱了") is mostly
context around one problem. Scoring it whole dilutes the problem with the shop, the time and the
amount, so the matcher also scores each clause and keeps the best. A clause the merchant denies
("不是签到失败，是打印不出来") or dismisses ("网络没问题，就是刷不了卡") must not vote at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOUNDARY = re.compile(r"[，,。.!！?？;；、\n~～…]+|\s+(?=[^\sa-z0-9])|(?<=[^\sa-z0-9])\s+")
"""Punctuation, and a space beside a Chinese character (a space between Latin words or digits stays:
"sign in", "5 1")."""
_CONNECTIVE = re.compile(r"(?=但是|可是|结果|然后|不过|而是|但|可就是|就是|现在又|后来)")
"""Words that start a new clause even without punctuation ("签到成功了但是刷卡还是不行")."""
_DENIED_START = re.compile(r"^(?:也|倒|并|又|还)?(?:不是|并非|不是说)|^.{0,4}(?<!是)(?:不是|并不是)(?!很|太)")
"""A clause that opens with 不是 denies what follows ("不是签到失败 是…"); 是不是 asks ("大单子是不是分几次刷")."""
_NOT_THIS = re.compile(r"^(?:我|我们|钱|机器|顾客|客人)?(?:也)?(?:没有|没|不想|不要|不用)(?!反应|反映|信号|网|电|纸|显示|出|打|到账|钱|收到)")
"""A clause opening with 没(有) followed by a correction denies it ("没有扣两次，就扣了一次"), unless 没
is the symptom itself (没反应, 没出小票, 没到账 …)."""
_CORRECTION = re.compile(r"^(?:我|我们)?(?:是|而是|就|只|但|可是|不过)")
_DISMISSED = re.compile(r"(?<![不没未无])(?:没问题|没有问题|没毛病|是好的|都好|好好的|正常的?|没事|都正常|没坏|都可以|能用|满格|能刷|"
                        r"也能刷|能上网)(?:的|了|啊|呀)?$")
"""A clause ending like this says that part works ("网络没问题", "打印是好的"); not after a negation ("状态不正常",
"机器不能用了", "信号不满格" say what is wrong)."""
_ASKING = re.compile(r"是不是|会不会|是否|能不能|可不可以|行不行")
"""A clause that asks ("是不是就没事", "会不会没问题") states nothing: it is not a dismissal."""
_DONE = re.compile(r"(?:签到|激活|连网|联网|下载|更新|重启|开机|充电)(?:也|都)?(?:成功了|好了|成功)$"
                   r"|已经(?:付|刷|收)(?:款)?(?:成功了|好了)$"
                   r"|(?:早|早就|已经|早都)(?:签到|激活|绑定|实名|认证|连网|联网|下载|更新)(?:过)?了$")
"""A step that worked ("签到成功了，但是刷卡不行", "机器早激活了"): context, not the problem."""
_TRIED = re.compile(r"(?:也|都|已经)(?:重启|换|试|插|拔|检查|改|重装|充)(?:了一下|过了|过|了)$")
"""Something already tried ("路由器也重启了", "卡也换过了"): what was done, not what is wrong."""
_TRIED_NO_HELP = re.compile(r"^(?:我|我们|也)?(?:把)?(?:路由器|机器|pos机?|刷卡机|手机|网线|wifi|卡)?"
                            r"(?:重启|重新开机|关机重开|重插|拔了重插|换了?卡|换了?线|试了|重装)(?:了|过|一下|几次|好几次)?"
                            r"(?:也|都|还是)(?:没用|不行|一样|没效果)(?:的|了|啊)?$")
""""重启也没用", "路由器重启了也一样": what was tried, told to say it did not help: context, not the problem."""
_TRIED_IT = re.compile(r"^(?:我|我们|也|都|已经)*把.{1,8}(?:重启|重插|拔了|换了|检查|重新插|关了又开)(?:了|过了|过|一下|了一下)?$")
""""我把路由器重启了": what the merchant did to it, not the problem."""
_DISMISSED_NOT_PROBLEM = re.compile(r"(?<!是)不是.{1,12}的问题$|(?<!是)不是.{1,12}问题$")
_DECLINED = re.compile(r"^(?:但|可|但是|可是)?(?:我|我们|他|她|收银员|店员)?(?:没敢|不敢|没答应|没同意|没帮他|没帮她|没帮|没有帮|没给他|没给她|拒绝了|没理他|没理她|没按|没有按|没输|没有输)"
                       r"(?:的|了|啊)?$")
"""A clause saying the merchant did not go along with what came just before ("让我帮他输 我没敢")."""
MIN_CLAUSE = 2


@dataclass(frozen=True)
class Clause:
    text: str
    start: int
    end: int
    denied: bool
    absent: bool = False
    """Denied only as something that did not happen, before what did ("没买东西 就刷一笔"): not the problem
    to match, but still what the merchant says was so (a red line is read in it)."""


def split_clauses(text: str) -> list[Clause]:
    """The clauses of `text` (already folded to lower case and half width), with positions, and
    whether each one is denied or dismissed."""
    pieces: list[tuple[str, int, int]] = []
    position = 0
    for match in _BOUNDARY.finditer(text + "\n"):
        chunk_start, chunk_end = position, match.start()
        position = match.end()
        chunk = text[chunk_start:chunk_end]
        offsets = [m.start() for m in _CONNECTIVE.finditer(chunk) if m.start() > 0] + [len(chunk)]
        begin = 0
        for offset in offsets:
            piece = chunk[begin:offset]
            if piece.strip():
                pieces.append((piece, chunk_start + begin, chunk_start + offset))
            begin = offset
    pieces = [part for piece in pieces for split in _split_subject(*piece) for part in _split_correction(*split)]
    clauses: list[Clause] = []
    for index, (piece, start, end) in enumerate(pieces):
        following = pieces[index + 1][0] if index + 1 < len(pieces) else ""
        corrected = any(_CORRECTION.search(later.strip()) for later, _, _ in pieces[index + 1:])
        denied = _is_denied(piece, following, corrected=corrected)
        clauses.append(Clause(piece, start, end, denied, absent=denied and _only_absent(piece)))
        if index and _DECLINED.search(piece.strip()):
            # "非要我帮他按 我没敢": what the merchant would not do is not what they ask about
            before = clauses[index - 1]
            clauses[index - 1] = Clause(before.text, before.start, before.end, True)
    return clauses


_SELF_CORRECTION = re.compile(r"^((?:也|倒|并)?不是.+?)((?<![不就还但可而也总])是.+)$")


def _split_correction(piece: str, start: int, end: int) -> list[tuple[str, int, int]]:
    """"不是68是98" in one breath: the denied part and the correction as two clauses."""
    match = _SELF_CORRECTION.match(piece)
    if match is None:
        return [(piece, start, end)]
    cut = start + match.start(2)
    return [(match.group(1), start, cut), (match.group(2), cut, end)]


_SUBJECT = re.compile(r"^(机器|pos机?|刷卡机|电签|卡|钱|顾客|客人|屏幕|小票)(?=不是|并不是|也不是)")
"""What a denial is about ("机器不是坏了 是丢了"): the subject stays, only what is denied goes."""


def _split_subject(piece: str, start: int, end: int) -> list[tuple[str, int, int]]:
    match = _SUBJECT.match(piece.lstrip())
    if match is None:
        return [(piece, start, end)]
    cut = start + (len(piece) - len(piece.lstrip())) + match.end()
    return [(piece[:cut - start], start, cut), (piece[cut - start:], cut, end)]


def _only_absent(clause: str) -> bool:
    """Denied by _NOT_THIS alone: "没(有)…" followed by a correction, no 不是, nothing dismissed as working."""
    core = re.sub(r"^\W+|\W+$", "", clause.strip())
    return bool(_NOT_THIS.search(core)) and not _DENIED_START.search(core) and not _DISMISSED.search(core)


def _is_denied(clause: str, following: str, *, corrected: bool) -> bool:
    """`corrected`: some later clause opens with a correction (就是/只是/但 …)."""
    # emoji and punctuation at the ends ("机器能用了👍") say nothing about what is denied
    core = re.sub(r"^\W+|\W+$", "", clause.strip())
    if _DISMISSED.search(core) and len(core) <= 14 and not _ASKING.search(core):
        return True
    if (_DONE.search(core) or _TRIED.search(core)) and len(core) <= 10:
        return True
    if (_TRIED_IT.search(core) or _TRIED_NO_HELP.search(core)) and len(core) <= 12:
        return True
    if _DISMISSED_NOT_PROBLEM.search(core):
        return True
    if _NOT_THIS.search(core) and corrected:
        return True
    if _DENIED_START.search(core):
        # "不是签到失败，是打印不出来" corrects itself: the first part is denied. "不是签到失败就是通讯失败"
        # means "either … or …": both stay. Nothing after it ("不是吧") denies nothing.
        return bool(following.strip()) and not following.strip().startswith("就是")
    return False
