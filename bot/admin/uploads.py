"""Content files uploaded by admins: checked against the whole content in a scratch copy, shown as a
diff, applied only after confirmation, with the replaced version kept so /rollback restores it.

Every file written here (content, backups, pending uploads) goes through a temporary file, fsync
and a rename, so a kill or a full disk mid-write leaves the old file or the new one, never a torn
one. A proposal records the content it was checked against: applying it after something else
changed re-validates it, and refuses when its own target was changed meanwhile (another admin's
upload would be silently lost). Applies and rollbacks take a file lock, so two admins confirming at
once (or `posbot rollback` while the bot runs) happen one after the other.
"""

from __future__ import annotations

import difflib
import fcntl
import hashlib
import json
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.core.errors import ContentError, PosbotError, Problem
from bot.core.files import write_atomic
from bot.core.loader import INTENT_DIRS, INTENT_FILES, KNOWLEDGE_DIRS, LEXICON_FILE, content_version, load_content

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
    version: str = ""
    """The content version the upload was checked against."""


class StaleUpload(PosbotError):
    """A confirmed upload no longer fits the content on disk; nothing was written. `reason` is for
    the admin (Chinese), `problems` what validation found, if anything."""

    def __init__(self, reason: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problems = problems


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
                raise ContentError([Problem(target, None, "", "目标要写成 "
                                            + "、".join(CONTENT_DIRS) + f" 下面的 .yaml 路径，或 {LEXICON_FILE}")])
            return target
        matches = [p.relative_to(self.root).as_posix() for d in CONTENT_DIRS for p in (self.root / d).glob("*.yaml")
                   if p.name == file_name]
        matches += [name for name in (LEXICON_FILE, *INTENT_FILES) if Path(name).name == file_name]
        if len(matches) != 1:
            raise ContentError([Problem(file_name, None, "", "找不到唯一一个同名的现有文件：请在说明（caption）里写上"
                                        "目标路径，例如 intents/symptoms/new_problem.yaml")])
        return matches[0]

    def propose(self, file_name: str, data: bytes, caption: str | None = None) -> Proposal:
        """Validate the whole content with the upload in place (in a scratch copy); keep it pending."""
        if len(data) > MAX_UPLOAD_BYTES:
            raise ContentError([Problem(file_name, None, "", "文件太大，不像是内容文件")])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ContentError([Problem(file_name, None, "", "不是 UTF-8 编码的文字")]) from None
        target = self.target_for(file_name, caption)
        version = content_version(self.root)
        current = self.root / target
        old = current.read_text(encoding="utf-8") if current.exists() else None
        self._validate(target, text)  # raises ContentError with file:line for the admin
        diff = "".join(difflib.unified_diff((old or "").splitlines(keepends=True), text.splitlines(keepends=True),
                                            fromfile=f"a/{target}", tofile=f"b/{target}", n=1))
        lines = diff.splitlines()
        if len(lines) > MAX_DIFF_LINES:
            diff = "\n".join(lines[:MAX_DIFF_LINES]) + f"\n…（还有 {len(lines) - MAX_DIFF_LINES} 行）"
        token = secrets.token_hex(4)
        write_atomic(self.pending_dir / f"{token}.json", json.dumps(
            {"target": target, "text": text, "base": _fingerprint(old), "version": version}, ensure_ascii=False))
        return Proposal(token, target, diff or "（没有变化）", new_file=old is None, version=version)

    def apply(self, token: str) -> str:
        """Write a confirmed upload; the file it replaces is backed up first. Returns the target.
        KeyError: no such pending upload; StaleUpload: the content changed so that it no longer fits."""
        if not re.fullmatch(r"[0-9a-f]{8}", token):
            raise KeyError(token)
        pending = self.pending_dir / f"{token}.json"
        with self._locked():
            if not pending.exists():
                raise KeyError(token)
            item = json.loads(pending.read_text(encoding="utf-8"))
            target = self.root / item["target"]
            old = target.read_text(encoding="utf-8") if target.exists() else None
            if "base" in item and _fingerprint(old) != item["base"]:
                pending.unlink()
                raise StaleUpload(f"{item['target']} 在你上传之后已经被改过（另一次上传或回滚），直接写入会冲掉那次修改；"
                                  "请按现在的文件重新修改后再上传。")
            if item.get("version") != content_version(self.root):
                try:
                    self._validate(item["target"], item["text"])
                except ContentError as error:
                    pending.unlink()
                    raise StaleUpload("内容在你上传之后有了别的修改，这个文件和现在的内容合在一起通不过检查，没有写入：",
                                      tuple(str(p) for p in error.problems)) from None
            backup = {"target": item["target"], "text": old}
            write_atomic(self.backup_dir / f"{time.time_ns()}.json", json.dumps(backup, ensure_ascii=False))
            write_atomic(target, item["text"])
            pending.unlink()
        return str(item["target"])

    def discard(self, token: str) -> None:
        if re.fullmatch(r"[0-9a-f]{8}", token):
            (self.pending_dir / f"{token}.json").unlink(missing_ok=True)

    def rollback(self) -> str | None:
        """Restore the file the latest applied upload replaced (a new file is removed)."""
        with self._locked():
            backups = sorted(self.backup_dir.glob("*.json")) if self.backup_dir.is_dir() else []
            if not backups:
                return None
            latest = backups[-1]
            item = json.loads(latest.read_text(encoding="utf-8"))
            target = self.root / item["target"]
            if item["text"] is None:
                target.unlink(missing_ok=True)
            else:
                write_atomic(target, item["text"])
            latest.unlink()
        return str(item["target"])

    def _validate(self, target: str, text: str) -> None:
        """The whole content, loaded from a scratch copy with `text` at `target`."""
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "content"
            for name in ("intents", "knowledge"):
                if (self.root / name).is_dir():
                    shutil.copytree(self.root / name, copy / name)
            (copy / target).parent.mkdir(parents=True, exist_ok=True)
            (copy / target).write_text(text, encoding="utf-8")
            load_content(copy)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One apply or rollback at a time, across threads and processes (flock on DATA_DIR)."""
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        with open(self.pending_dir / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _fingerprint(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()
