"""The shipped content: complete, clean, and free of the wrong knowledge popular web pages spread."""

import re

from bot.core.checks import check_content
from bot.core.engine import Engine
from bot.core.models import REQUIRED_SYMPTOMS, CodeIntent, Party

# Every code in the domain reference (shared/domain/response_codes.yaml), 86 in all.
ALL_CODES = ("00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 19 20 21 22 23 25 30 31 33 34 35 36 37 38 39 "
             "40 41 42 43 44 45 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 75 77 79 90 91 92 93 94 "
             "95 96 97 98 99 A0 A1 A2 A3 A4 A5 A6 A7 A8 A9 C1 N1 P1 Y1 Y3 Z1 Z3").split()
RETAIN_CARD = ("04", "07", "34", "35", "37", "41", "43", "67")


def all_text(intent) -> str:
    fields = [getattr(intent, name, None) for name in ("name", "meaning", "answer", "tell_customer", "title")]
    return "\n".join([f for f in fields if f] + list(intent.steps))


def test_every_code_and_symptom_is_there(engine: Engine) -> None:
    assert len(ALL_CODES) == 86
    assert sorted(engine.content.by_code) == sorted(ALL_CODES)
    assert set(REQUIRED_SYMPTOMS) <= set(engine.content.by_id)


def test_content_passes_every_check(engine: Engine) -> None:
    assert [str(p) for p in check_content(engine.content, engine.matcher)] == []


def test_example_counts(engine: Engine) -> None:
    rich = [c.code for c in engine.content.codes if len(c.examples) >= 5]
    assert len(rich) >= 30, rich
    for symptom in engine.content.symptoms:
        assert len(symptom.examples) >= 10, symptom.id


def test_retain_card_codes_mean_the_issuer_wants_the_card_kept(engine: Engine) -> None:
    for code in RETAIN_CARD:
        intent = engine.content.by_code[code]
        text = all_text(intent)
        for clause in re.split(r"[，。；,;\n]", text):
            if re.search(r"误拿|拿错|余额不足|信号|机器故障|退不出", clause):
                assert re.search(r"不是|并非|无关", clause), (code, clause)
        assert "发卡" in text, code


def test_51_is_insufficient_funds_only(engine: Engine) -> None:
    intent = engine.content.by_code["51"]
    assert intent.party is Party.CARDHOLDER
    assert re.search(r"余额|钱不够|资金不足", intent.meaning)
    for clause in re.split(r"[，。；,;\n]", all_text(intent)):
        if re.search(r"过期|网络|故障|没收", clause):
            assert re.search(r"无关|不是|并非", clause), clause


def test_red_lines(engine: Engine) -> None:
    """Never ask for a PIN; never teach splitting payments or dodging risk control; no unfreeze agents."""
    for intent in engine.content.problems:
        for sentence in re.split(r"[。；;！!\n]", all_text(intent)):
            if re.search(r"拆单|拆成|分开刷|轮刷|换卡轮|中介|代解冻", sentence):
                assert re.search(r"不|别|勿|禁止|严禁", sentence), (intent.id, sentence)
            if re.search(r"(告诉|报|说).{0,4}密码", sentence) and "顾客" in sentence:
                assert re.search(r"不|别|勿|本人", sentence), (intent.id, sentence)


def test_code_intent_fields_are_phone_sized(engine: Engine) -> None:
    for intent in engine.content.codes:
        assert isinstance(intent, CodeIntent)
        assert 1 <= len(intent.steps) <= 5, intent.id
        assert len(intent.tell_customer) <= 80, intent.id
