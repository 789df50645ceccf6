"""Content files uploaded by admins: checked against the whole content in a scratch copy, shown as a
diff, applied only after confirmation, with the replaced version kept so /rollback restores it."""

from __future__ import annotations

import difflib
import json
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.core.errors import ContentError, Problem
from bot.core.loader import INTENT_DIRS, INTENT_FILES, KNOWLEDGE_DIRS, LEXICON_FILE, load_content

MAX_UPLOAD_BYTES = 512 * 1024
MAX_DIFF_LINES = 60
CONTENT_DIRS = INTENT_DIRS + KNOWLEDGE_DIRS


@dataclass(frozen=True)
class Proposal:
    token: str
    target: str
    """Path relative to the content root, e.g. intents/symptoms/printer_problem.yaml."""
    diff: str
    new_file: bool


class Uploads:
    """Pending uploads and backups live in DATA_DIR, never inside the content tree."""

    def __init__(self, content_root: Path, data_dir: Path) -> None:
        self.root = content_root
        self.pending_dir = data_dir / "uploads"
        self.backup_dir = data_dir / "backups"

    def target_for(self, file_name: str, caption: str | None) -> str:
        """Where an upload goes: a path in the caption, else the existing file with that name."""
        if caption and caption.strip():
            target = caption.strip()
            inside = (any(target.startswith(d + "/") for d in CONTENT_DIRS) or target == LEXICON_FILE
                      or target in INTENT_FILES)
            if not inside or ".." in target or not target.endswith(".yaml"):
                raise ContentError([Problem(target, None, "", "a target must be a .yaml path under "
                                            + ", ".join(CONTENT_DIRS) + f" or {LEXICON_FILE}")])
            return target
        matches = [p.relative_to(self.root).as_posix() for d in CONTENT_DIRS for p in (self.root / d).glob("*.yaml")
                   if p.name == file_name]
        matches += [name for name in (LEXICON_FILE, *INTENT_FILES) if Path(name).name == file_name]
        if len(matches) != 1:
            raise ContentError([Problem(file_name, None, "", "no single existing file has this name; put the target "
                                        "path in the caption, e.g. intents/symptoms/new_problem.yaml")])
        return matches[0]

    def propose(self, file_name: str, data: bytes, caption: str | None = None) -> Proposal:
        """Validate the whole content with the upload in place (in a scratch copy); keep it pending."""
        if len(data) > MAX_UPLOAD_BYTES:
            raise ContentError([Problem(file_name, None, "", "file too large for a content file")])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ContentError([Problem(file_name, None, "", "not UTF-8 text")]) from None
        target = self.target_for(file_name, caption)
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "content"
            for name in ("intents", "knowledge"):
                if (self.root / name).is_dir():
                    shutil.copytree(self.root / name, copy / name)
            (copy / target).parent.mkdir(parents=True, exist_ok=True)
            (copy / target).write_text(text, encoding="utf-8")
            load_content(copy)  # raises ContentError with file:line for the admin
        current = self.root / target
        old = current.read_text(encoding="utf-8") if current.exists() else ""
        diff = "".join(difflib.unified_diff(old.splitlines(keepends=True), text.splitlines(keepends=True),
                                            fromfile=f"a/{target}", tofile=f"b/{target}", n=1))
        lines = diff.splitlines()
        if len(lines) > MAX_DIFF_LINES:
            diff = "\n".join(lines[:MAX_DIFF_LINES]) + f"\n… ({len(lines) - MAX_DIFF_LINES} more lines)"
        token = secrets.token_hex(4)
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        (self.pending_dir / f"{token}.json").write_text(json.dumps({"target": target, "text": text},
                                                                   ensure_ascii=False), encoding="utf-8")
        return Proposal(token, target, diff or "(no change)", new_file=not current.exists())

    def apply(self, token: str) -> str:
        """Write a confirmed upload; the file it replaces is backed up first. Returns the target."""
        if not re.fullmatch(r"[0-9a-f]{8}", token):
            raise KeyError(token)
        pending = self.pending_dir / f"{token}.json"
        if not pending.exists():
            raise KeyError(token)
        item = json.loads(pending.read_text(encoding="utf-8"))
        target = self.root / item["target"]
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        backup = {"target": item["target"], "text": target.read_text(encoding="utf-8") if target.exists() else None}
        name = f"{time.time_ns()}.json"
        (self.backup_dir / name).write_text(json.dumps(backup, ensure_ascii=False), encoding="utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item["text"], encoding="utf-8")
        pending.unlink()
        return item["target"]

    def discard(self, token: str) -> None:
        if re.fullmatch(r"[0-9a-f]{8}", token):
            (self.pending_dir / f"{token}.json").unlink(missing_ok=True)

    def rollback(self) -> str | None:
        """Restore the file the latest applied upload replaced (a new file is removed)."""
        backups = sorted(self.backup_dir.glob("*.json")) if self.backup_dir.is_dir() else []
        if not backups:
            return None
        latest = backups[-1]
        item = json.loads(latest.read_text(encoding="utf-8"))
        target = self.root / item["target"]
        if item["text"] is None:
            target.unlink(missing_ok=True)
        else:
            target.write_text(item["text"], encoding="utf-8")
        latest.unlink()
        return item["target"]
