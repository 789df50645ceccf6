"""/reload says what changed, by name: intents, flows and scripts added, removed or changed."""

import shutil
from pathlib import Path

from bot.admin.changes import compare
from bot.core.loader import load_content

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"


def test_changes_are_named(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    old = load_content(root)
    symptoms = root / "intents" / "symptoms" / "common.yaml"
    symptoms.write_text(symptoms.read_text(encoding="utf-8").replace(
        "      - 不出纸咋回事\n", "      - 不出纸咋回事\n      - 出纸口卡住了\n") + (
        "  - id: paper_jam\n    title: 卡纸\n    answer: 打开纸仓取出卡住的纸。\n    now: 先打开纸仓取出卡纸\n    steps:\n      - 取出卡纸。\n"
        "    examples:\n      - 纸卡在里面了\n"), encoding="utf-8")
    flows = root / "knowledge" / "flows" / "mini.yaml"
    flows.write_text(flows.read_text(encoding="utf-8").replace("title: 打印机排查", "title: 打印机一步步排查"),
                     encoding="utf-8")
    (root / "knowledge" / "scripts" / "mini.yaml").write_text("scripts: []\n", encoding="utf-8")
    flows.write_text(flows.read_text(encoding="utf-8").replace("            script: receipt\n", "            end: resolved\n"),
                     encoding="utf-8")  # both flows that offered the script
    changes = compare(old, load_content(root))
    assert changes.lines() == [
        "意图：新增 1 个（卡纸）；修改 1 个（打印机不出纸）",
        "排查流程：修改 2 个（打印机一步步排查、卡的问题）",
        "话术：删除 1 个（交易情况）",
    ]
    assert not compare(old, old)
