"""The core never imports aiogram: it is plain Python that every front end drives the same way."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "bot" / "core"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_does_not_import_aiogram() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert files, "bot/core has no modules?"
    offenders = {str(p.relative_to(CORE)): sorted(m for m in imported_modules(p) if m.split(".")[0] == "aiogram")
                 for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_does_not_import_front_ends() -> None:
    for path in CORE.rglob("*.py"):
        for module in imported_modules(path):
            assert not module.startswith(("bot.telegram", "bot.console", "bot.cli")), (path, module)


def test_core_does_not_import_optional_extras() -> None:
    """OCR and its native libraries are an optional extra (bot/ocr); the core stays installable without it."""
    optional = {"rapidocr_onnxruntime", "onnxruntime", "cv2", "PIL"}
    for path in CORE.rglob("*.py"):
        for module in imported_modules(path):
            assert module.split(".")[0] not in optional and not module.startswith("bot.ocr"), (path, module)


def test_ocr_does_not_import_aiogram() -> None:
    for path in (CORE.parent / "ocr").rglob("*.py"):
        assert not any(m.split(".")[0] == "aiogram" for m in imported_modules(path)), path


def test_one_process_on_sqlite_loads_no_server_driver(tmp_path) -> None:
    """The default (no DATABASE_URL, no REDIS_URL) opens every store without importing psycopg or
    redis: the two-command start never needs a server or its driver."""
    import os
    import subprocess
    import sys

    script = ("import asyncio, sys\n"
              "from bot.telegram.app import Stores\n"
              "from bot.settings.run import Settings\n"
              "async def main():\n"
              f"    stores = await Stores.open(Settings(bot_token='123456:ABCDEFGHIJKLMN', data_dir={str(tmp_path)!r},"
              " _env_file=None))\n"
              "    await stores.close()\n"
              "asyncio.run(main())\n"
              "print(sorted(m for m in ('psycopg', 'psycopg_pool', 'redis') if m in sys.modules))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60,
                          cwd=CORE.parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


BOT = CORE.parent
NO_AIOGRAM = ("storage", "handoff", "admin", "settings", "turn", "coordination.py", "records.py")
"""Packages (and modules) that hold behaviour or records, not Telegram glue: each front end drives
them the same way, so none of them may reach for aiogram."""


def _modules_under(name: str) -> list[Path]:
    target = BOT / name
    return [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))


def test_behaviour_and_records_do_not_import_aiogram_or_front_ends() -> None:
    offenders = {}
    for name in NO_AIOGRAM:
        files = _modules_under(name)
        assert files, f"bot/{name} is gone? update NO_AIOGRAM"
        for path in files:
            bad = sorted(m for m in imported_modules(path)
                         if m.split(".")[0] == "aiogram" or m.startswith(("bot.telegram", "bot.console", "bot.cli")))
            if bad:
                offenders[str(path.relative_to(BOT))] = bad
    assert offenders == {}


def test_storage_does_not_import_handoff_or_admin() -> None:
    """Storage holds tables; what a handoff or an admin does with them lives next to handoff and admin."""
    for path in _modules_under("storage"):
        for module in imported_modules(path):
            assert not module.startswith(("bot.handoff", "bot.admin", "bot.coordination", "bot.records")), (path, module)
