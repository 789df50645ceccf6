"""`posbot read IMAGE`: what OCR read and what posbot would answer, for admins and scripts."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from bot.ocr import reader as reader_module
from tests.conftest import OCR_FIXTURES


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_read_prints_the_lines_the_decision_and_the_reply(ocr_reader, capsys) -> None:
    code, out, _ = run(capsys, "read", str(OCR_FIXTURES / "lcd_a0_letter_o.png"))
    assert code == 0
    assert "错误码：AO" in out  # as OCR read it, with its confidence
    assert "decision: answer -> code_a0" in out
    assert "识别到：交易失败 错误码:A0 MAC校验错\n【应答码 A0" in out


def test_read_json(ocr_reader, capsys) -> None:
    code, out, _ = run(capsys, "read", str(OCR_FIXTURES / "dialog_55_glare.png"), "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"file", "size", "seconds", "lines", "understanding", "reply"}
    assert data["lines"][1]["text"] == "交易失败(55)" and 0.5 <= data["lines"][1]["confidence"] <= 1
    assert (data["understanding"]["decision"], data["understanding"]["code"]) == ("answer", "55")
    assert data["reply"]["preface"].startswith("识别到：")


def test_read_a_picture_without_text(ocr_reader, capsys) -> None:
    code, out, _ = run(capsys, "read", str(OCR_FIXTURES / "cat_photo.png"))
    assert code == 0
    assert "(no text)" in out and "没认出文字" in out


def test_read_a_corrupt_file_fails_with_one_line(ocr_reader, capsys) -> None:
    code, out, err = run(capsys, "read", str(OCR_FIXTURES / "corrupt.png"))
    assert code == 1 and out == ""
    assert "UnreadableImage" in err and len(err.splitlines()) == 1


def test_read_a_missing_file(capsys) -> None:
    code, _, err = run(capsys, "read", str(OCR_FIXTURES / "no-such.png"))
    assert code == 2 and "cannot read" in err


def test_read_without_the_extra_says_how_to_install_it(monkeypatch, capsys) -> None:
    monkeypatch.setattr(reader_module, "ocr_available", lambda: False)
    code, _, err = run(capsys, "read", str(OCR_FIXTURES / "lcd_03_clean.png"))
    assert code == 2 and "pip install 'posbot[ocr]'" in err
