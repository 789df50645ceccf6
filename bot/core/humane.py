"""What the schema and the YAML parser say, worded in Chinese for admins who do not read Python.

Pydantic and PyYAML speak English ("Input should be a valid string" for a stray colon); the loader
passes each of their errors through here, so `posbot validate`, uploads and /reload show a sentence
that says what to change. Quoted values and field names stay as written, so an admin can search for them.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import yaml

from bot.core.models import CODE_PATTERN, ID_PATTERN

_CODE_EXAMPLE = '两位数字或大写字母，并加引号，例如 "51"、"A0"'
_ID_RULE = "只能用小写英文字母、数字和下划线，以字母开头（例如 paper_jam）"
_COLON = "这一句里有英文冒号加空格（“: ”），YAML 把它读成了“名称: 内容”；请给整句加引号，或改用中文冒号“：”"

KIND_WORDS = {"flow": "流程", "script": "话术"}
TARGET_WORDS = {"next": "步骤", "flow": "流程", "script": "话术"}
RECURSIVE_ALIAS = "别名（*名字）指向了包含它自己的内容（循环引用）"


def pydantic_problem(issue: Mapping[str, Any]) -> str:
    """One pydantic error (an item of `ValidationError.errors()`) as a sentence for admins."""
    kind, value = issue["type"], issue.get("input")
    ctx = issue.get("ctx") or {}
    if kind == "missing":
        return "缺少这个字段（必填）"
    if kind == "extra_forbidden":
        return "不认识这个字段（检查拼写；可用的字段见 intents/README.md）"
    if kind == "string_type":
        return _not_text(value)
    if kind == "string_too_short":
        return "不能为空" if ctx.get("min_length") == 1 else f"至少要 {ctx.get('min_length')} 个字"
    if kind == "string_too_long":
        return f"太长了：最多 {ctx.get('max_length')} 个字，现在有 {len(str(value))} 个"
    if kind == "too_short":
        return f"至少要有 {ctx.get('min_length')} 项，现在有 {ctx.get('actual_length')} 项"
    if kind == "too_long":
        return f"最多只能有 {ctx.get('max_length')} 项，现在有 {ctx.get('actual_length')} 项"
    if kind == "string_pattern_mismatch":
        return _pattern(value, str(ctx.get("pattern", "")))
    if kind in ("enum", "literal_error"):
        allowed = "、".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
        return f"{value!r} 不是可选的值，只能写其中一个：{allowed}"
    if kind in ("bool_type", "bool_parsing"):
        return f"要写 true（是）或 false（否），现在是 {value!r}"
    if kind in ("list_type", "tuple_type", "set_type"):
        return _not_list(value)
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        return _not_mapping(value)
    if kind in ("int_type", "int_parsing", "float_type", "float_parsing"):
        return f"要写一个数字，现在是 {value!r}"
    if kind == "value_error":  # our own validators in bot/core/models.py, already worded in Chinese
        return str(ctx.get("error", issue["msg"]))
    # a type the schema does not use today: still say where, keep pydantic's words for a developer
    return f"写法不符合要求（{issue['msg']}）"


def _not_text(value: Any) -> str:
    if isinstance(value, bool):  # YAML 1.1 reads yes/no/on/off/true/false unquoted as a truth value
        return f"要写成文字，请加引号（YAML 把它读成了是/否 {str(value).lower()}，应写成带引号的文字）"
    if isinstance(value, (int, float)):
        return f"要写成文字，请加引号（YAML 把 {value!r} 读成了数字，应写 \"{value!r}\"）"
    if value is None:
        return "这里是空的：冒号或“- ”后面要写文字"
    if isinstance(value, dict):
        return _COLON
    if isinstance(value, (list, tuple)):
        return "这里要写一句文字，不是列表（去掉多余的“- ”或方括号）"
    return "要写成文字"


def _pattern(value: Any, pattern: str) -> str:
    if pattern == CODE_PATTERN:
        return f"{value!r} 不是应答码：应答码是{_CODE_EXAMPLE}"
    if pattern == ID_PATTERN:
        return f"{value!r} 不能当 id：{_ID_RULE}"
    if "[0-9A-Z]{2}" in pattern:  # IntentRef: an intent id or a code
        return f"{value!r} 既不是意图 id（如 printer_problem），也不是加了引号的应答码（如 \"51\"）"
    return f"{value!r} 格式不对（要符合 {pattern}）"


def _not_list(value: Any) -> str:
    if isinstance(value, str):
        return "要写成列表：每项单独一行，以“- ”开头（现在只写了一句文字）"
    if isinstance(value, dict):
        return "要写成列表：每项单独一行，以“- ”开头（现在写成了“名称: 内容”）"
    return "要写成列表：每项单独一行，以“- ”开头"


def _not_mapping(value: Any) -> str:
    if isinstance(value, str):
        return "这里要写一组“字段: 内容”（例如 id: 、title: ），现在只写了一句文字；检查缩进和“- ”"
    if isinstance(value, (list, tuple)):
        return "这里要写一组“字段: 内容”，不是列表"
    return "这里要写一组“字段: 内容”（例如 id: 、title: ）"


_YAML_PROBLEMS: tuple[tuple[str, str], ...] = (
    # (what PyYAML or libyaml says, starts with ...) -> what to do; both parsers' wordings are listed
    ("mapping values are not allowed", _COLON),
    ("could not find expected ':'", "少了冒号：每行应是“名称: 内容”，或者上一行的引号、“|”块没有写完"),
    ("did not find expected key", "缩进没有对齐：同一层的字段要从同一列开始（只用空格，每层两个）"),
    ("expected <block end>", "缩进没有对齐：同一层的字段要从同一列开始（只用空格，每层两个）"),
    ("did not find expected '-' indicator", "列表里每一项都要以“- ”开头，并且对齐"),
    ("did not find expected ',' or ']'", "方括号 [ ] 没有配对，或项与项之间少了逗号"),
    ("expected ',' or ']'", "方括号 [ ] 没有配对，或项与项之间少了逗号"),
    ("did not find expected ',' or '}'", "花括号 { } 没有配对，或项与项之间少了逗号"),
    ("expected ',' or '}'", "花括号 { } 没有配对，或项与项之间少了逗号"),
    ("found unexpected end of stream", "文件在中途结束了：多半是引号没有配对"),
    ("found character '\\t'", "不能用 Tab 缩进，请改用空格"),
    ("found character that cannot start any token", "这里有一个字符不能放在开头（Tab、@ 或 `）：缩进请用空格，以 @ 或 ` 开头的文字要加引号"),
    ("found character", "这里有一个字符不能放在开头（@ 或 `）：以它开头的文字要加引号"),
    ("did not find expected alphabetic or numeric character", "以 * 或 & 开头的文字要加引号（YAML 把它当成了别名）"),
    ("expected alphabetic or numeric character", "以 * 或 & 开头的文字要加引号（YAML 把它当成了别名）"),
    ("did not find expected node content", "这里少了内容：多半是方括号、花括号没有配对，或者“- ”、冒号后面什么都没写"),
    ("expected the node content", "这里少了内容：多半是方括号、花括号没有配对，或者“- ”、冒号后面什么都没写"),
    ("found undefined alias", "用了没有定义的别名（*名字）：文字以 * 开头时要加引号"),
    ("found duplicate anchor", "同一个锚点（&名字）定义了两次"),
    ("could not determine a constructor", "用了不支持的标签（!!…）：内容文件里不要写 !! 开头的东西"),
    ("found unknown directive", "不认识以 % 开头的行：以 % 开头的文字要加引号"),
)


def yaml_problem(error: yaml.YAMLError) -> str:
    """A parser error as a sentence for admins, with what to check on the reported line."""
    said = str(getattr(error, "problem", None) or error)
    for start, meaning in _YAML_PROBLEMS:
        if said.startswith(start):
            return f"YAML 格式错误：{meaning}"
    return f"YAML 格式错误：请检查这一行和上一行的缩进、冒号和引号（解析器原话：{said}）"


def unreadable(error: Exception) -> str:
    """Why a file could not be read, in words an admin can act on."""
    if isinstance(error, UnicodeDecodeError):
        return "不是 UTF-8 编码的文字（请用 UTF-8 保存，或它根本不是文本文件）"
    if isinstance(error, PermissionError):
        return "没有读取权限"
    if isinstance(error, IsADirectoryError):
        return "这是一个文件夹，不是文件"
    return f"系统报错 {error}"
