"""Crash an upload's apply on purpose, for tests/test_uploads.py (run as `python -m tests.upload_crash`).

`kill ROOT DATA`: for n = 1, 2, …, a forked child applies a fresh proposal and SIGKILLs itself just
before its n-th file-system call (open, write, fsync, rename …); after each death the target must
hold the old text or the new one. `full ROOT DATA`: a child whose files may not grow past a limit
(RLIMIT_FSIZE, what a full disk looks like to a writer) applies an upload larger than that.
Prints one JSON object: what the target held after each crash.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
from pathlib import Path
from typing import Any

from bot.admin.uploads import Uploads

TARGET = "intents/symptoms/common.yaml"
IO_CALLS = frozenset({"open", "write", "flush", "fsync", "replace", "rename", "close", "unlink", "chmod",
                      "mkstemp", "fdopen", "truncate", "ftruncate"})
"""C functions before which the child may die: every step that changes what is on disk."""


def edited(old: str, examples: int) -> str:
    lines = "".join(f"      - 出纸口卡住了第{n}次\n" for n in range(examples))
    return old.replace("      - 不出纸咋回事\n", "      - 不出纸咋回事\n" + lines)


def die_before(call: int) -> None:
    """SIGKILL this process just before its `call`-th file-system call."""
    seen = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal seen
        if event == "c_call" and getattr(arg, "__name__", "") in IO_CALLS:
            seen += 1
            if seen == call:
                os.kill(os.getpid(), signal.SIGKILL)

    sys.setprofile(profile)


def reset(uploads: Uploads, old: str, new: str) -> str:
    """The old file back, no backups, one fresh proposal of the new text; its token."""
    (uploads.root / TARGET).write_text(old, encoding="utf-8")
    for directory in (uploads.backup_dir, uploads.pending_dir):
        for path in directory.glob("*") if directory.is_dir() else ():
            path.unlink()
    return uploads.propose("common.yaml", new.encode(), TARGET).token


def state(uploads: Uploads, old: str, new: str) -> str:
    """What the target holds: old, new, or torn (bytes of neither, maybe cut inside a character)."""
    data = (uploads.root / TARGET).read_bytes()
    return "old" if data == old.encode() else "new" if data == new.encode() else f"torn ({len(data)} bytes)"


def kill(uploads: Uploads, old: str) -> dict[str, Any]:
    new = edited(old, 20)
    held: list[str] = []
    for call in range(1, 500):
        token = reset(uploads, old, new)
        child = os.fork()
        if child == 0:
            die_before(call)
            uploads.apply(token)
            sys.setprofile(None)
            os._exit(0)
        _, status = os.waitpid(child, 0)
        held.append(state(uploads, old, new))
        if os.WIFEXITED(status):  # apply ran to its end before the call-th one: every point was tried
            break
    leftovers = [p.name for p in (uploads.root / TARGET).parent.iterdir() if p.name.endswith(".tmp")]
    return {"held": held, "leftovers": leftovers}


def full(uploads: Uploads, old: str) -> dict[str, Any]:
    new = edited(old, 400)
    token = reset(uploads, old, new)
    limit = len(old.encode()) + 2048  # room for the backup of the old text, not for the new one
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        try:
            uploads.apply(token)
        except OSError:
            os._exit(3)
        os._exit(0)
    _, status = os.waitpid(child, 0)
    leftovers = [p.name for p in (uploads.root / TARGET).parent.iterdir() if p.name.endswith(".tmp")]
    return {"exit": os.waitstatus_to_exitcode(status), "held": [state(uploads, old, new)], "leftovers": leftovers,
            "bigger_than_limit": len(new.encode()) > limit}


def main() -> None:
    mode, root, data = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    uploads = Uploads(root, data)
    old = (root / TARGET).read_text(encoding="utf-8")
    print(json.dumps(kill(uploads, old) if mode == "kill" else full(uploads, old)))


if __name__ == "__main__":
    main()
