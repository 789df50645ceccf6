"""Loading content: good files load; every kind of bad file gets a message naming file, line, field."""

from pathlib import Path

import pytest

from bot.core.errors import ContentError
from bot.core.loader import load_content
from bot.core.models import CodeIntent, Party


def problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_content(root)
    return [str(p) for p in caught.value.problems]


def test_fixture_content_loads(mini_copy: Path) -> None:
    content = load_content(mini_copy)
    assert set(content.by_code) == {"51", "A0", "03"}
    assert isinstance(content.by_id["code_51"], CodeIntent)
    assert content.by_id["code_a0"].party is Party.TERMINAL
    assert content.locate("code_a0").file == "intents/codes/common.yaml"
    assert content.locate("code_a0").line == 16
    assert len(content.version) == 12


def test_version_changes_with_any_byte(mini_copy: Path) -> None:
    before = load_content(mini_copy).version
    path = mini_copy / "intents" / "lexicon.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# comment\n", encoding="utf-8")
    assert load_content(mini_copy).version != before


def test_malformed_yaml_names_file_and_line(mini_copy: Path) -> None:
    path = mini_copy / "intents" / "codes" / "common.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[5] = "    aliases: [资金不足"  # unclosed flow sequence
    path.write_text("\n".join(lines), encoding="utf-8")
    [message] = problems(mini_copy)
    assert message.startswith("intents/codes/common.yaml:")
    assert "not valid YAML" in message


def test_unquoted_code_is_explained(mini_copy: Path) -> None:
    path = mini_copy / "intents" / "codes" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('code: "03"', "code: 03"), encoding="utf-8")
    [message] = problems(mini_copy)
    assert message.startswith("intents/codes/common.yaml:29: codes[2].code:")
    assert "quotes" in message


def test_wrong_party_and_missing_field_are_both_reported(mini_copy: Path) -> None:
    path = mini_copy / "intents" / "codes" / "common.yaml"
    text = path.read_text(encoding="utf-8").replace("party: terminal", "party: shop")
    text = text.replace("    meaning: 商户或终端不被认可。\n", "")
    path.write_text(text, encoding="utf-8")
    found = problems(mini_copy)
    assert any(":21: codes[1].party:" in p and "'shop'" in p for p in found)
    assert any("codes[2].meaning: this field is required" in p for p in found)


def test_unknown_field_is_reported(mini_copy: Path) -> None:
    path = mini_copy / "intents" / "symptoms" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    answer: 找到两位应答码。",
                                                             "    answr: 找到两位应答码。"), encoding="utf-8")
    found = problems(mini_copy)
    assert any("symptoms[3].answr: unknown field" in p for p in found)
    assert any("symptoms[3].answer: this field is required" in p for p in found)


def test_duplicate_ids_and_codes(mini_copy: Path) -> None:
    extra = mini_copy / "intents" / "codes" / "again.yaml"
    extra.write_text(
        'codes:\n  - id: code_51\n    code: "51"\n    name: 又一个\n    meaning: x\n    party: merchant\n'
        "    steps: [x]\n    tell_customer: x\n    confidence: high\n", encoding="utf-8")
    found = problems(mini_copy)
    assert any(p.startswith("intents/codes/common.yaml:") and "duplicate id 'code_51'" in p for p in found)
    assert any("code 51 is defined twice" in p for p in found)


def test_id_must_match_code(mini_copy: Path) -> None:
    path = mini_copy / "intents" / "codes" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("id: code_a0", "id: code_mac"), encoding="utf-8")
    assert any("id should be 'code_a0'" in p for p in problems(mini_copy))


@pytest.mark.parametrize("body, expected", [
    ("", "file is empty"),
    ("- just\n- a list\n", "top level must be a mapping"),
    ("codes: 5\n", "codes"),
])
def test_wrong_shapes(mini_copy: Path, body: str, expected: str) -> None:
    (mini_copy / "intents" / "codes" / "odd.yaml").write_text(body, encoding="utf-8")
    assert any(expected in p for p in problems(mini_copy))


def test_binary_file_is_reported_not_crashed(mini_copy: Path) -> None:
    (mini_copy / "intents" / "codes" / "junk.yaml").write_bytes(b"\xff\xfe\x00garbage")
    assert any("cannot read file" in p for p in problems(mini_copy))


def test_missing_directory(tmp_path: Path) -> None:
    assert "content directory not found" in problems(tmp_path / "nope")[0]
    assert "content directory not found" in problems(tmp_path)[0]


def _lexicon_with(mini_copy: Path, text: str) -> Path:
    path = mini_copy / "intents" / "lexicon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_alias_bomb_is_refused_before_it_is_expanded(mini_copy: Path) -> None:
    """100,000 aliases of one string (the red team's 505 KB file grew the process to 5.7 GB)."""
    bomb = "words: &w [" + ", ".join(["填充文字" * 50] * 4) + "]\nstopwords: [" + ", ".join(["*w"] * 100_000) + "]\n"
    assert len(bomb.encode()) < 1024 * 1024
    _lexicon_with(mini_copy, bomb)
    [message] = problems(mini_copy)
    assert message == "intents/lexicon.yaml: too many aliases (*name): more than 100"


def test_a_few_aliases_of_a_huge_value_are_refused_too(mini_copy: Path) -> None:
    _lexicon_with(mini_copy, "words: &w ['" + "字" * 20_000 + "']\nstopwords: [" + ", ".join(["*w"] * 60) + "]\n")
    [message] = problems(mini_copy)
    assert message == "intents/lexicon.yaml: too large once its aliases are expanded (over 1,000,000 characters)"


def test_a_recursive_alias_is_refused(mini_copy: Path) -> None:
    _lexicon_with(mini_copy, "words: &w [a, *w]\n")
    [message] = problems(mini_copy)
    assert "recursive alias" in message


def test_ordinary_aliases_still_load(mini_copy: Path) -> None:
    _lexicon_with(mini_copy, "words: &w [打印机, 小票]\nstopwords: *w\n")
    content = load_content(mini_copy)
    assert content.lexicon.stopwords == content.lexicon.words
