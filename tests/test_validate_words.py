"""What `posbot validate` and uploads tell an admin is Chinese: broken content of every kind we know,
run through the real CLI, and no line of what it prints says its sentence in English."""

import re
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.errors import ContentError
from bot.admin.uploads import Uploads

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"

SMALLTALK = """\
smalltalk:
  - id: greeting
    title: 打招呼
    answer: 您好，请说说机器出了什么问题。
    examples:
      - 你好
      - 在吗: 有人吗
      - 88
      - yes
      -
      - ""
    keeps_flow: maybe
    colour: red
  - id: code_thanks
    title: 谢谢谢谢谢谢谢谢谢谢谢谢谢谢谢谢谢谢
    examples: 谢谢
  - id: Bad-Id
    title: 再见
    answer: 再见
    examples: [再见, 拜拜]
"""

REDLINES = """\
redlines:
  - id: cash_out
    kind: smalltalk
    title: 套现
    answer: 不能帮忙。
    examples: [帮我套现, 刷卡套现, 套点现金]
    patterns: ["刷(卡.{0,3}"]
"""

CODES = """\
codes:
  - id: code_mac
    code: A0
    name: 校验错
    meaning: 密钥不同步。
    party: shop
    steps: []
    tell_customer: 稍等。
    confidence: sure
  - id: code_5
    code: "5"
    name: x
    meaning: x
    party: merchant
    steps: [x]
    tell_customer: x
    confidence: high
  - 5
  - 就一句话
"""

FLOWS = """\
flows:
  - id: broken
    title: 坏流程
    intents: [Bad]
    parties: [shop]
    steps:
      - id: Start
        text: 第一步
        choices:
          - label: 结束了没有呢还有别的吗请告诉我
            end: done
          - label: 两个
            next: a
            end: resolved
          - label: 没有目标
          - 一句话
      - id: second
        text: [a, b]
        choices: []
  - id: texts
    title: 只有文字
    steps: 一句话
"""

LEXICON = """\
words: 打印机
synonyms: [[小票]]
typos: [错字]
"""

YAML_MISTAKES = {  # one file each: a parser stops at the first mistake of a file
    "colon.yaml": "symptoms:\n  - id: a\n    title: 打印: 不出纸: 怎么办\n",
    "bracket.yaml": "symptoms:\n  - id: a\n    examples: [不出纸, 白纸\n",
    "indent.yaml": "symptoms:\n  id: a\n title: 标题\n",
    "dash.yaml": "symptoms:\n  - id: a\n  title: 标题\n",
    "tab.yaml": "symptoms:\n\t- id: a\n",
    "quote.yaml": "symptoms:\n  - id: a\n    title: '标题\n",
    "nocolon.yaml": "symptoms:\n  - id: a\n    title 标题\n",
    "alias.yaml": "symptoms:\n  - id: a\n    title: *星号开头\n",
    "undefined.yaml": "symptoms:\n  - id: a\n    title: *star\n",
    "at.yaml": "symptoms:\n  - id: a\n    title: @商户\n",
    "brace.yaml": "symptoms:\n  - {id: a\n",
    "tag.yaml": "symptoms: !!python/object 1\n",
    "empty.yaml": "",
    "list.yaml": "- a\n- b\n",
    "again.yaml": ('codes:\n  - id: code_51\n    code: "51"\n    name: 余额不足\n    meaning: x\n    party: merchant\n    now: x\n'
                   "    steps: [x]\n    tell_customer: x\n    confidence: high\n"),
}


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    return root


def _write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text, encoding="utf-8")


def _unreadable_broken(root: Path) -> None:
    _write(root, "intents/smalltalk.yaml", SMALLTALK)
    _write(root, "intents/redlines.yaml", REDLINES)
    _write(root, "intents/codes/broken.yaml", CODES)
    _write(root, "knowledge/flows/broken.yaml", FLOWS)
    _write(root, "intents/lexicon.yaml", LEXICON)
    for name, text in YAML_MISTAKES.items():
        _write(root, f"intents/codes/{name}", text)
    (root / "intents/codes/binary.yaml").write_bytes(b"\xff\xfe\x00garbage")


def _references_broken(root: Path) -> None:
    path = root / "knowledge/flows/mini.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in (("next: repair", "next: repiar"), ("script: receipt", "script: nope"),
                     ("flow: signin_failure", "flow: nowhere"),
                     ('intents: [signin_failure, "A0"]', 'intents: [signin_failure, "A0", "99", printer_problem]'),
                     ("      - id: reload", "      - id: blank")):
        text = text.replace(old, new, 1)
    path.write_text(text + text[text.index("  - id: signin_failure"):], encoding="utf-8")  # a flow written twice


def _checks_broken(root: Path) -> None:
    symptoms = root / "intents/symptoms/common.yaml"
    text = symptoms.read_text(encoding="utf-8").replace("      - 机器签不上到\n", "      - 机器签不上到\n      - 小票打出来是白的\n")
    symptoms.write_text(text.replace("    examples:\n      - 就显示交易失败没有代码",
                                     '    related_codes: ["Z9"]\n    examples:\n      - 就显示交易失败没有代码'),
                        encoding="utf-8")
    flows = root / "knowledge/flows/mini.yaml"
    text = flows.read_text(encoding="utf-8").replace("          - label: 还是不行\n            next: repair",
                                                     "          - label: 还是不行\n            next: reload")
    flows.write_text(text.replace("intents: [charged_but_failed, unknown_decline]", "intents: [charged_but_failed]"),
                     encoding="utf-8")
    scripts = root / "knowledge/scripts/mini.yaml"
    scripts.write_text(scripts.read_text(encoding="utf-8").replace("我马上给您补打一张。", "卡号6222021234567890128，{customer}您好。"),
                       encoding="utf-8")


ENGLISH = re.compile(r"[A-Za-z]+(?:[ ,;:.!?-]+[A-Za-z]+){2,}")
"""Three English words in a row: a sentence (an id, a file name or a list of allowed values is not)."""


def _english_in(line: str) -> str | None:
    message = line.split("：", 1)[1] if "：" in line else line  # after the location (file:line field)
    message = re.sub(r"'[^']*'|\"[^\"]*\"", "''", message)  # what the admin wrote, quoted back
    if not re.search(r"[\u4e00-\u9fff]", message):
        return message
    found = ENGLISH.search(message)
    return found.group() if found else None


@pytest.mark.parametrize("breaks, exit_code, least", [
    (_unreadable_broken, 2, 40), (_references_broken, 2, 6), (_checks_broken, 1, 6)])
def test_every_validate_message_is_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           breaks, exit_code: int, least: int) -> None:
    root = _copy(tmp_path)
    breaks(root)
    assert main(["validate", str(root)]) == exit_code
    out, err = capsys.readouterr()
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert len(lines) >= least, lines  # the fixtures really are broken in that many ways
    assert [(line, _english_in(line)) for line in lines if _english_in(line)] == []


def test_the_english_detector_finds_pydantic_and_parser_words() -> None:
    """The check above could pass on anything if it found nothing: it must catch what we replaced."""
    assert _english_in("intents/x.yaml:3 examples[1]：Input should be a valid string")
    assert _english_in("intents/x.yaml:3：YAML 格式错误（mapping values are not allowed here）")
    assert _english_in('intents/x.yaml:3 examples[1]：要写成文字，请加引号（YAML 把 88 读成了数字，应写 "88"）') is None


def test_load_problems_say_what_to_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy(tmp_path)
    _unreadable_broken(root)
    main(["validate", str(root)])
    err = capsys.readouterr().err
    for expected in (
        'intents/smalltalk.yaml:8 smalltalk[0].examples[2]：要写成文字，请加引号（YAML 把 88 读成了数字，应写 "88"）',
        "intents/smalltalk.yaml:7 smalltalk[0].examples[1]：这一句里有英文冒号加空格（“: ”）",
        "intents/smalltalk.yaml:9 smalltalk[0].examples[3]：要写成文字，请加引号（YAML 把它读成了是/否 true",
        "intents/smalltalk.yaml:10 smalltalk[0].examples[4]：这里是空的",
        "smalltalk[0].examples[5]：不能为空",
        "smalltalk[0].keeps_flow：要写 true（是）或 false（否），现在是 'maybe'",
        "smalltalk[0].colour：不认识这个字段",
        "smalltalk[1].answer：缺少这个字段（必填）",
        "smalltalk[1].id：以 \"code_\" 开头的 id 留给应答码意图用",
        "smalltalk[1].title：太长了：最多 16 个字，现在有 18 个",
        "smalltalk[1].examples：要写成列表：每项单独一行，以“- ”开头（现在只写了一句文字）",
        "smalltalk[2].id：'Bad-Id' 不能当 id：只能用小写英文字母、数字和下划线",
        "smalltalk[2].examples：至少要有 3 项，现在有 2 项",
        "redlines[0].kind：'smalltalk' 不是可选的值，只能写其中一个：redline",
        "redlines[0].patterns：'刷(卡.{0,3}' 不是正确的正则表达式（第 2 个字符附近出错）",
        "codes[0].party：'shop' 不是可选的值",
        "codes[0].steps：至少要有 1 项，现在有 0 项",
        "codes[0].confidence：'sure' 不是可选的值，只能写其中一个：high、medium、low",
        "codes[1].code：'5' 不是应答码：应答码是两位数字或大写字母",
        "codes[2]：这里要写一组“字段: 内容”",
        "codes[3]：这里要写一组“字段: 内容”（例如 id: 、title: ），现在只写了一句文字",
        "flows[0].intents[0]：'Bad' 既不是意图 id",
        "flows[0].steps[0].choices[0].end：'done' 不是可选的值，只能写其中一个：resolved、escalate",
        "flows[0].steps[0].choices[1]：一个按钮只能通向一处：next、end、script、flow 四个里恰好写一个（现在写了 next、end）",
        "flows[0].steps[0].choices[2]：一个按钮只能通向一处：next、end、script、flow 四个里恰好写一个（现在一个也没写）",
        "flows[0].steps[1].text：这里要写一句文字，不是列表",
        "flows[1].steps：要写成列表",
        "intents/lexicon.yaml:2 synonyms：一组同义词至少要有两个词：['小票']",
        "intents/lexicon.yaml:3 typos：这里要写一组“字段: 内容”，不是列表",
        "intents/codes/colon.yaml:3：YAML 格式错误：这一句里有英文冒号加空格",
        "intents/codes/bracket.yaml:4：YAML 格式错误：方括号 [ ] 没有配对",
        "intents/codes/indent.yaml:3：YAML 格式错误：缩进没有对齐",
        "intents/codes/dash.yaml:3：YAML 格式错误：列表里每一项都要以“- ”开头",
        "intents/codes/tab.yaml:2：YAML 格式错误：这里有一个字符不能放在开头（Tab、@ 或 `）",
        "intents/codes/quote.yaml:4：YAML 格式错误：文件在中途结束了：多半是引号没有配对",
        "intents/codes/nocolon.yaml:4：YAML 格式错误：少了冒号",
        "intents/codes/alias.yaml:3：YAML 格式错误：以 * 或 & 开头的文字要加引号（YAML 把它当成了别名）",
        "intents/codes/undefined.yaml:3：YAML 格式错误：用了没有定义的别名（*名字）：文字以 * 开头时要加引号",
        "intents/codes/brace.yaml:3：YAML 格式错误：花括号 { } 没有配对",
        "intents/codes/tag.yaml:1：YAML 格式错误：用了不支持的标签",
        "intents/codes/empty.yaml：文件是空的",
        "intents/codes/list.yaml:1：最外层要写成“键: 值”",
        "intents/codes/binary.yaml：读不了这个文件：不是 UTF-8 编码的文字",
        "id：id 'code_51' 重复了（第一次出现在 intents/codes/again.yaml:2）",
    ):
        assert expected in err, expected
    # six examples written, five broken: pydantic's "at least 3, not 1" would send the admin counting
    assert "smalltalk[0].examples：" not in err


def test_references_and_checks_say_what_to_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy(tmp_path)
    _references_broken(root)
    main(["validate", str(root)])
    err = capsys.readouterr().err
    for expected in ("流程 id 'signin_failure' 重复了", "没有 id 为 'repiar' 的步骤", "没有 id 为 'nope' 的话术",
                     "没有 id 为 'nowhere' 的流程", "没有叫 '99' 的意图或应答码", "步骤 id 'blank' 重复了",
                     "printer_problem 已经写在流程 'printer_problem' 里了：一个意图只能对应一个流程"):
        assert expected in err, expected
    root = _copy(tmp_path / "again")
    _checks_broken(root)
    main(["validate", str(root)])
    out = capsys.readouterr().out
    for expected in ("intents/symptoms duplicate_charge：缺少必备的症状意图（posbot 会用到它，不能删）", "unknown_decline.related_codes[0]：没有应答码 Z9 的意图",
                     "signin_failure.examples[2]：'小票打出来是白的' 在 printer_problem.examples[0] 里也有",
                     "printer_problem.repair：从第一步走不到这一步", "unknown_decline：没有对应的排查流程",
                     "receipt.solution：不认识的占位符 ['customer']：只能用 {amount}、{time} 或 {last4}",
                     "receipt.solution：话术里不能出现卡号，也不能让顾客说出密码"):
        assert expected in out, expected


def test_upload_refusals_are_chinese(tmp_path: Path) -> None:
    uploads = Uploads(_copy(tmp_path), tmp_path / "data")
    refusals = []
    for name, data, caption in (("x.yaml", b"a" * 2_000_000, None), ("x.yaml", b"\xff\xfe", None),
                                ("nowhere.yaml", b"words: []\n", None), ("x.yaml", b"words: []\n", "../etc/x.yaml"),
                                ("lexicon.yaml", b"words: [\n", None)):
        with pytest.raises(ContentError) as caught:
            uploads.propose(name, data, caption)
        refusals += [str(problem) for problem in caught.value.problems]
    assert len(refusals) == 5
    assert [(line, _english_in(line)) for line in refusals if _english_in(line)] == []
