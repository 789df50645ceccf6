"""Loading content: good files load; every kind of bad file gets a message naming file, line, field."""

import shutil
from pathlib import Path

import pytest

from bot.core.errors import ContentError
from bot.core.loader import content_version, default_root, load_content
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
    assert content.locate("code_a0").line == 17
    assert len(content.version) == 12


def test_version_changes_with_any_byte(mini_copy: Path) -> None:
    before = load_content(mini_copy).version
    path = mini_copy / "intents" / "lexicon.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# comment\n", encoding="utf-8")
    assert load_content(mini_copy).version != before


def test_the_cheap_version_is_the_loaded_version(tmp_path: Path) -> None:
    """content_version (what an upload compares before writing) must see every file load_content reads,
    the intent files beside the folders (intents/redlines.yaml …) included."""
    root = default_root()
    assert content_version(root) == load_content(root).version
    copy = tmp_path / "content"
    shutil.copytree(root / "intents", copy / "intents")
    shutil.copytree(root / "knowledge", copy / "knowledge")
    before = content_version(copy)
    redlines = copy / "intents" / "redlines.yaml"
    redlines.write_text(redlines.read_text(encoding="utf-8") + "\n# 改了一处\n", encoding="utf-8")
    assert content_version(copy) != before
    assert content_version(copy) == load_content(copy).version


def test_malformed_yaml_names_file_and_line(mini_copy: Path) -> None:
    path = mini_copy / "intents" / "codes" / "common.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[5] = "    aliases: [资金不足"  # unclosed flow sequence
    path.write_text("\n".join(lines), encoding="utf-8")
    [message] = problems(mini_copy)
    assert message == "intents/codes/common.yaml:7：YAML 格式错误：方括号 [ ] 没有配对，或项与项之间少了逗号"


def test_unquoted_code_is_explained(mini_copy: Path) -> None:
    path = mini_copy / "intents" / "codes" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('code: "03"', "code: 03"), encoding="utf-8")
    [message] = problems(mini_copy)
    assert message == 'intents/codes/common.yaml:31 codes[2].code：要写成文字，请加引号（YAML 把 3 读成了数字，应写 "3"）'


def test_wrong_party_and_missing_field_are_both_reported(mini_copy: Path) -> None:
    path = mini_copy / "intents" / "codes" / "common.yaml"
    text = path.read_text(encoding="utf-8").replace("party: terminal", "party: shop")
    text = text.replace("    meaning: 商户或终端不被认可。\n", "")
    path.write_text(text, encoding="utf-8")
    found = problems(mini_copy)
    assert "intents/codes/common.yaml:22 codes[1].party：'shop' 不是可选的值，只能写其中一个：" \
           "merchant、cardholder、issuer、acquirer、terminal、unionpay" in found
    assert any("codes[2].meaning：缺少这个字段（必填）" in p for p in found)


def test_unknown_field_is_reported(mini_copy: Path) -> None:
    path = mini_copy / "intents" / "symptoms" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    answer: 找到两位应答码。",
                                                             "    answr: 找到两位应答码。"), encoding="utf-8")
    found = problems(mini_copy)
    assert any("symptoms[3].answr：不认识这个字段" in p for p in found)
    assert any("symptoms[3].answer：缺少这个字段（必填）" in p for p in found)


def test_duplicate_ids_and_codes(mini_copy: Path) -> None:
    extra = mini_copy / "intents" / "codes" / "again.yaml"
    extra.write_text(
        'codes:\n  - id: code_51\n    code: "51"\n    name: 又一个\n    meaning: x\n    party: merchant\n    now: x\n'
        "    steps: [x]\n    tell_customer: x\n    confidence: high\n", encoding="utf-8")
    found = problems(mini_copy)
    # again.yaml sorts first; the message names both places (it once named the second one twice)
    assert "intents/codes/common.yaml:3 id：id 'code_51' 重复了（第一次出现在 intents/codes/again.yaml:2）" in found
    assert "intents/codes/common.yaml:3 code：应答码 51 写了两次（第一次在 intents/codes/again.yaml:2）" in found


def test_id_must_match_code(mini_copy: Path) -> None:
    path = mini_copy / "intents" / "codes" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("id: code_a0", "id: code_mac"), encoding="utf-8")
    assert any("应答码 A0 的 id 应当是 'code_a0'" in p for p in problems(mini_copy))


@pytest.mark.parametrize("body, expected", [
    ("", "odd.yaml：文件是空的"),
    ("- just\n- a list\n", "odd.yaml:1：最外层要写成“键: 值”"),
    ("codes: 5\n", "odd.yaml:1 codes：要写成列表：每项单独一行，以“- ”开头"),
])
def test_wrong_shapes(mini_copy: Path, body: str, expected: str) -> None:
    (mini_copy / "intents" / "codes" / "odd.yaml").write_text(body, encoding="utf-8")
    assert any(expected in p for p in problems(mini_copy))


def test_binary_file_is_reported_not_crashed(mini_copy: Path) -> None:
    (mini_copy / "intents" / "codes" / "junk.yaml").write_bytes(b"\xff\xfe\x00garbage")
    assert any("junk.yaml：读不了这个文件：不是 UTF-8 编码的文字" in p for p in problems(mini_copy))


def test_missing_directory(tmp_path: Path) -> None:
    assert "找不到内容目录" in problems(tmp_path / "nope")[0]
    assert "找不到内容目录" in problems(tmp_path)[0]


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
    assert message == "intents/lexicon.yaml：别名（*名字）用得太多：超过 100 个"


def test_a_few_aliases_of_a_huge_value_are_refused_too(mini_copy: Path) -> None:
    _lexicon_with(mini_copy, "words: &w ['" + "字" * 20_000 + "']\nstopwords: [" + ", ".join(["*w"] * 60) + "]\n")
    [message] = problems(mini_copy)
    assert message == "intents/lexicon.yaml：别名（*名字）展开后太大：超过 1,000,000 个字符"


def test_a_recursive_alias_is_refused(mini_copy: Path) -> None:
    _lexicon_with(mini_copy, "words: &w [a, *w]\n")
    [message] = problems(mini_copy)
    assert "循环引用" in message


def test_ordinary_aliases_still_load(mini_copy: Path) -> None:
    _lexicon_with(mini_copy, "words: &w [打印机, 小票]\nstopwords: *w\n")
    content = load_content(mini_copy)
    assert content.lexicon.stopwords == content.lexicon.words


def test_a_broken_not_the_terminal_pattern_is_explained(mini_copy: Path) -> None:
    path = mini_copy / "intents" / "lexicon.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nnot_the_terminal:\n  - '跟(机器没关系'\n", encoding="utf-8")
    [message] = problems(mini_copy)
    assert "not_the_terminal" in message
    assert "不是正确的正则表达式" in message


def test_a_symptoms_not_examples_keep_a_question_off_it(mini_copy: Path) -> None:
    from bot.core.match import Matcher

    question = "电脑打印机不打印了"
    before = [c.intent for c in Matcher(load_content(mini_copy)).analyse(question).candidates]
    assert "printer_problem" in before
    path = mini_copy / "intents" / "symptoms" / "common.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "      - 打印机不打印了\n", "      - 打印机不打印了\n    not_examples:\n      - 电脑打印机不打印了\n", 1)
    path.write_text(text, encoding="utf-8")
    content = load_content(mini_copy)
    assert content.locate("printer_problem", "not_examples", 0).file == "intents/symptoms/common.yaml"
    after = [c.intent for c in Matcher(content).analyse(question).candidates]
    assert "printer_problem" not in after
