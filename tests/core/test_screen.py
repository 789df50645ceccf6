"""Text read off a photo: OCR confusions repaired in code positions only, screen chrome and slip
fields left out, and the dialog's answer to it (what was read, then the answer or a question)."""

import pytest
from hypothesis import given, strategies as st

from bot.console import render
from bot.core.codes import find_codes
from bot.core.dialog import NONE_OF_THESE, SHOW, Dialog, DialogState
from bot.core.normalise import prepare
from bot.core.screen import ScreenLine, clean_line, read_screen, repair_code

KNOWN = frozenset({"00", "01", "03", "05", "10", "11", "12", "14", "51", "55", "96", "A0", "A1", "Y1", "Z1"})


def codes(text: str) -> list[str]:
    return [hit.code for hit in find_codes(prepare(text), KNOWN) if hit.known]


def screen(*lines: str | tuple[str, float]) -> list[ScreenLine]:
    return [ScreenLine(*line) if isinstance(line, tuple) else ScreenLine(line) for line in lines]


@pytest.mark.parametrize("read, expected", [
    ("错误码：AO", "错误码:A0"),
    ("应答码:O3", "应答码:03"),
    ("应答码:o5", "应答码:05"),
    ("返回码: 5l", "返回码: 51"),
    ("响应码：l4", "响应码:14"),
    ("应答码:5 1", "应答码:51"),
    ("返回码=Yl", "返回码=Y1"),
    ("应答码:AI", "应答码:A1"),
    ("交易失败[5l]", "交易失败[51]"),
    ("交易失败（O3）", "交易失败(03)"),
    ("【A 0】", "【A0】"),
    ("AOMAC校验错", "A0 MAC校验错"),
    ("A0MAC校验错", "A0 MAC校验错"),
    ("l4-无效卡号", "14-无效卡号"),
    ("5l 余额不足", "51 余额不足"),
    ("AO", "A0"),
])
def test_ocr_confusions_in_code_positions_are_repaired(read: str, expected: str) -> None:
    assert clean_line(read, KNOWN) == expected


@pytest.mark.parametrize("read", [
    "OK", "IC卡", "AI助手", "(AI)", "POS签购单", "PIN输入错误", "MAC校验错", "请按OK键", "1 2 3 4", "12:03:45",
    "应答码:OK", "应答码:5 12", "错误码:XYZ", "TO MAC", "超出金额限制", "无效卡号 14", "版本V1.0",
])
def test_ordinary_words_and_numbers_are_left_alone(read: str) -> None:
    assert clean_line(read, KNOWN) == read


@pytest.mark.parametrize("field", [
    "终端编号：10020315操作员号：01", "操作员号:01", "卡号：622202******1234", "卡号:6222 02** **** 1234",
    "日期时间：2024/05/0112：03:45", "日期时间:2024/05/01 12:03:45", "金额：RMB100.00", "批次号：000105凭证号：000321",
    "商户名称：好又多便利店", "交易类型：消费", "授权码:12",
])
def test_slip_fields_are_dropped_so_their_numbers_are_not_codes(field: str) -> None:
    assert clean_line(field, KNOWN) == ""


def test_a_field_glued_to_the_failure_keeps_the_failure() -> None:
    assert clean_line("交易类型：消费交易失败应答码：14", KNOWN) == "交易失败应答码:14"


def test_a_single_digit_is_left_to_the_code_finder() -> None:
    assert repair_code("5", KNOWN) is None
    assert codes(clean_line("应答码:5", KNOWN)) == ["05"]


def test_letters_outside_a_label_need_an_o_read_for_a_zero() -> None:
    assert repair_code("AI", KNOWN) == "A1"
    assert repair_code("AI", KNOWN, letters_need_zero=True) is None
    assert repair_code("AO", KNOWN, letters_need_zero=True) == "A0"


def test_screen_drops_buttons_and_key_hints_and_quotes_the_rest() -> None:
    read = read_screen(screen("提示", "交易失败", "应答码：O3", "无效商户", "按[确认]键返回", "确定"), KNOWN)
    assert read.shown == "交易失败 应答码:03 无效商户"
    assert read.text == "应答码:03 无效商户"  # 交易失败 adds nothing once the code is known
    assert codes(read.text) == ["03"]


def test_screen_without_a_code_keeps_the_failure() -> None:
    assert read_screen(screen("交易失败"), KNOWN).text == "交易失败"


def test_what_is_quoted_back_is_short_and_masks_card_numbers() -> None:
    read = read_screen(screen("6222021234567890128 刷卡失败", "很长的一行" * 30), KNOWN)
    assert "6222021234567890128" not in read.shown
    assert "7890128"[-4:] in read.shown
    assert len(read.shown) <= 80


def test_confidence_of_a_code_is_its_lines() -> None:
    read = read_screen(screen(("交易失败", 0.99), ("应答码:51", 0.62)), KNOWN)
    assert read.confidence_of("51", KNOWN) == 0.62
    assert read.confidence_of("03", KNOWN) is None


# ---- properties ---------------------------------------------------------------------------

WORDS = ["OK", "IC", "ID", "AI", "PI", "POS", "MAC", "PIN", "USB", "WiFi", "SIM", "QR", "SN", "GPRS", "NFC", "TMS",
         "pos机", "刷卡", "签到", "失败", "请", "按", "键", "返回", "商户", "终端", "打印", "网络", "的", "了"]
NUMBERS = ["300元", "12:03", "2024/05/01", "第3笔", "0.55", "10次", "6222021234567890128", "57*50"]


@given(st.lists(st.sampled_from(WORDS + NUMBERS), max_size=12),
       st.lists(st.sampled_from([" ", "", "，", "。", "！"]), min_size=12, max_size=12))
def test_cleaning_never_turns_words_or_quantities_into_codes(words: list[str], gaps: list[str]) -> None:
    text = "".join(word + gap for word, gap in zip(words, gaps[:len(words)], strict=True))
    assert set(codes(clean_line(text, KNOWN))) <= set(codes(text))


@given(st.text(max_size=60))
def test_cleaning_is_idempotent_and_never_crashes(text: str) -> None:
    once = clean_line(text, KNOWN)
    assert clean_line(once, KNOWN) == once


@given(st.sampled_from(sorted(KNOWN)), st.sampled_from(["应答码", "返回码", "错误码", "响应码"]),
       st.sampled_from([":", "：", " ", "=", ": "]), st.sampled_from(["", " 余额不足", "无效商户"]))
def test_a_labelled_code_read_right_survives_cleaning(code: str, label: str, colon: str, after: str) -> None:
    assert codes(clean_line(label + colon + code + after, KNOWN)) == [code]


@given(st.sampled_from(sorted(c for c in KNOWN if "0" in c or "1" in c)),
       st.sampled_from(["应答码:", "返回码：", "错误码 ", "交易失败[", "交易失败("]))
def test_a_labelled_code_with_ocr_confusions_is_recovered(code: str, before: str) -> None:
    confused = code.replace("0", "O").replace("1", "l")
    if before.endswith(("[", "(")) and confused.isalpha() and "O" not in confused:
        before = "应答码:"  # in brackets, letters alone ("[ll]") stay letters: see the test above
    after = "]" if before.endswith("[") else ")" if before.endswith("(") else ""
    assert codes(clean_line(before + confused + after, KNOWN)) == [code]


# ---- the dialog's answer to a photo --------------------------------------------------------

def test_a_screen_is_answered_as_if_typed_with_what_was_read_first(dialog: Dialog) -> None:
    turn = dialog.on_screen(screen("交易失败", "应答码：O3", "无效商户"), DialogState())
    assert turn.reply.kind == "answer" and turn.reply.intent == "code_03"
    assert turn.reply.preface == "识别到：交易失败 应答码:03 无效商户"
    assert render(turn.reply).startswith("识别到：交易失败 应答码:03 无效商户\n【应答码 03")
    assert turn.state.last_intent == "code_03"
    assert not any("只显示交易失败" in option.label for option in turn.reply.options)


def test_a_code_read_with_low_confidence_is_asked_about(dialog: Dialog) -> None:
    turn = dialog.on_screen(screen(("交易失败", 0.99), ("应答码:51", 0.6)), DialogState())
    assert turn.reply.kind == "clarify"
    assert turn.reply.preface == "识别到：交易失败 应答码:51"
    assert [option.action for option in turn.reply.options] == [f"{SHOW}:code_51", NONE_OF_THESE]
    assert "应答码打给我" in turn.reply.text


def test_the_title_line_answers_when_the_instructions_below_dilute_it(dialog: Dialog) -> None:
    turn = dialog.on_screen(screen("打印机缺纸", "请装纸后按确认键"), DialogState())
    assert (turn.reply.kind, turn.reply.intent) == ("answer", "printer_problem")
    assert turn.reply.preface == "识别到：打印机缺纸 请装纸后按确认键"


def test_two_codes_on_one_picture_are_asked_about(dialog: Dialog) -> None:
    turn = dialog.on_screen(screen("应答码:51", "应答码:55"), DialogState())
    assert turn.reply.kind == "clarify"
    assert {f"{SHOW}:code_51", f"{SHOW}:code_55"} <= {option.action for option in turn.reply.options}
    assert "应答码打给我" in turn.reply.text


def test_text_that_says_nothing_asks_for_the_code(dialog: Dialog) -> None:
    turn = dialog.on_screen(screen("欢迎光临", "今日特价"), DialogState())
    assert turn.reply.kind == "fallback"
    assert turn.reply.preface == "识别到：欢迎光临 今日特价"
    assert "两位应答码" in turn.reply.text


@pytest.mark.parametrize("lines", [[], ["确定"], ["按确认键返回", "提示"]])
def test_a_picture_without_meaningful_text_asks_to_type_it(dialog: Dialog, lines: list[str]) -> None:
    state = DialogState(fallbacks=1)
    turn = dialog.on_screen(screen(*lines), state)
    assert turn.reply.kind == "fallback" and not turn.reply.preface
    assert "没认出文字" in turn.reply.text
    assert turn.state == state and turn.understanding is None


def test_what_the_merchant_wrote_under_the_photo_answers_when_the_picture_does_not(dialog: Dialog) -> None:
    blurry = dialog.on_screen(screen("欢迎光临"), DialogState(), caption="刷卡显示A0怎么办")
    assert (blurry.reply.kind, blurry.reply.intent) == ("answer", "code_a0")
    assert blurry.reply.preface == "识别到：欢迎光临；按你写的“刷卡显示A0怎么办”回答："
    unreadable = dialog.on_screen(screen(), DialogState(), caption="签到失败")
    assert unreadable.reply.kind == "answer" and unreadable.reply.preface.startswith("图片上没认出文字；按你写的")
    # a readable screen wins over the caption, and a caption that says nothing changes nothing
    sharp = dialog.on_screen(screen("应答码:51"), DialogState(), caption="显示A0")
    assert sharp.reply.intent == "code_51"
    vague = dialog.on_screen(screen("欢迎光临"), DialogState(), caption="这是啥")
    assert vague.reply.kind == "fallback" and vague.reply.preface == "识别到：欢迎光临"


def test_a_caption_quoted_back_has_its_card_number_masked(dialog: Dialog) -> None:
    turn = dialog.on_screen(screen("欢迎光临"), DialogState(), caption="卡6222021234567894显示A0")
    assert turn.reply.preface == "识别到：欢迎光临；按你写的“卡****7894显示A0”回答："
