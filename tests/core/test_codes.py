"""Code extraction: the forms merchants type, and the numbers that are not codes."""

import pytest
from hypothesis import given, strategies as st

from bot.core.codes import find_codes
from bot.core.normalise import prepare

KNOWN = frozenset({"00", "01", "03", "05", "10", "12", "30", "51", "55", "61", "96", "A0", "Z1", "C1"})


def codes(text: str) -> list[str]:
    return [hit.code for hit in find_codes(prepare(text), KNOWN) if hit.known]


@pytest.mark.parametrize("text, expected", [
    ("03", ["03"]),
    ("０３", ["03"]),
    ("a0", ["A0"]),
    ("Ａ０", ["A0"]),
    ("错误码:51", ["51"]),
    ("错误码：51", ["51"]),
    ("返回码 Z1", ["Z1"]),
    ("报96", ["96"]),
    ("【03】", ["03"]),
    ("5 1", ["51"]),
    ("pos机显示03", ["03"]),
    ("刷卡出现A0咋办", ["A0"]),
    ("提示码是55", ["55"]),
    ("扣钱了但显示96", ["96"]),
    ("先报03后来又报51", ["03", "51"]),
    ("51 51 51", ["51"]),
    ("报3", ["03"]),
    ("显示5", ["05"]),
    ("刷了5000块 提示61", ["61"]),
    ("报零三", ["03"]),
    ("显示五一咋办", ["51"]),
    ("操作员01签到提示A0", ["A0"]),
    ("10点51刷卡显示05", ["05"]),
    ("下午3点20刷卡报51", ["51"]),
    ("输完密码显示55", ["55"]),
    ("swiped 3 times 显示51", ["51"]),
])
def test_finds_codes(text: str, expected: list[str]) -> None:
    assert codes(text) == expected


@pytest.mark.parametrize("text", [
    "2024年03月的钱还没到账",
    "12:03刷的卡扣了两次",
    "刷了300元没出小票",
    "收了0.01",
    "6222021234567890123",
    "6222 0212 3456 7890",
    "13812345678",
    "刷了10次都不行",
    "等了30分钟",
    "收了51块钱",
    "3月05日",
    "第03笔",
    "2024-03-05",
    "1 2 3 4",
    "费率0.55",
    "我有3台机器",
    "机器是第5代",
    "操作员01密码也没输错",
    "换了卷新的57*50热敏纸",
    "纸是57mm的那种，打出来是白的",
    "电池5000mah的用不到半天",
    "刷一万扣60正常吗",
    "卡尾号0551",
    "报零三十块",
    "10点51刷的，扣钱了没出票",
    "3点20的那笔",
    "下午3点半刷的",
    "十点51分刷的",
    "14:05扣的钱",
    "终端号:51",
    "一共51",
    "金额51",
    "商户号12",
    "刷了5笔",
    "用了3年了",
    "刷卡机每年扣我99流量费",
    "帮我算下96乘以51等于多少",
    "开机要输操作员号 我输01和密码 一直转圈",
    "输入12再按确认",
    "customer wants installment 12 months",
    "swiped 3 times 还是不行",
    "it costs 51 yuan",
    "店在51路公交站旁边 刷卡没反应",
    "我们在12楼 信号不好",
    "都30多岁了还不会用",
    "这台是C1型号的机器",
    "机器是A0的机型",
    "孩子数学考了118 英语95",
])
def test_ignores_numbers_that_are_not_codes(text: str) -> None:
    assert codes(text) == []


def test_vendor_codes_after_a_cue_are_reported_as_unknown() -> None:
    hits = find_codes(prepare("屏幕显示E001"), KNOWN)
    assert [(h.code, h.known) for h in hits] == [("E001", False)]
    assert find_codes(prepare("报S3"), KNOWN)[0].code == "S3"


def test_letter_runs_without_a_cue_are_not_vendor_codes() -> None:
    assert find_codes(prepare("机器型号A920"), KNOWN) == []


@given(st.text(max_size=200))
def test_never_crashes_and_hits_are_inside_the_text(text: str) -> None:
    prepared = prepare(text)
    for hit in find_codes(prepared, KNOWN):
        assert 0 <= hit.start < hit.end <= len(prepared)
        assert hit.known == (hit.code in KNOWN)


@given(st.integers(min_value=100, max_value=10**19))
def test_long_numbers_are_never_codes(number: int) -> None:
    assert codes(f"卡号{number}") == []
    assert codes(f"{number}元") == []


@given(st.sampled_from(sorted(KNOWN)), st.sampled_from(["显示", "报", "错误码:", "pos机显示", "刷卡提示", ""]),
       st.sampled_from(["", "咋办", "是什么意思", "了", " 怎么回事"]))
def test_a_known_code_in_a_sentence_is_found(code: str, before: str, after: str) -> None:
    assert codes(before + code + after) == [code]


def test_a_number_already_said_as_an_amount_is_not_a_code_later() -> None:
    assert codes("刷了51块 顾客说扣了他两次 51加51") == []
    assert codes("收了96元 96+96是192") == []
    # unless the screen shows it
    assert codes("刷了51块 显示51") == ["51"]


def test_a_fee_or_a_sum_taken_is_an_amount() -> None:
    assert codes("还要交个96的激活费") == []
    assert codes("每年自动扣我96 说是服务费") == []
    assert codes("交51就能保住费率") == []
    assert codes("交了钱以后显示96") == ["96"]


def test_a_price_per_unit_is_an_amount() -> None:
    assert codes("苹果12一斤 买三斤多少钱") == []
    assert codes("这个51一个 那个30/斤") == []
    assert codes("刷了一斤的 显示51") == ["51"]


def test_a_list_of_numbers_is_not_a_list_of_codes() -> None:
    """Three or more numbers in a row (lottery numbers, a list of amounts) are data, not screens."""
    assert codes("双色球 03 05 12 30 51") == []
    assert codes("选了 01、03、10、12") == []
    assert codes("前区03 05 12 后区51") == []
    # two codes typed together are still two codes, and a cued one in a list still counts
    assert codes("一会显示03 一会显示05") == ["03", "05"]
    assert codes("显示03 12点 30分") == ["03"]
