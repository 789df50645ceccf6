"""Writing content files so that a crash or a full disk can never leave one half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

NEW_FILE_MODE = 0o644


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` all at once: written to a temporary file beside it, flushed to the
    disk (fsync), then renamed over it. Whatever happens meanwhile (kill -9, a full disk, a power
    cut), `path` holds either the old text or the new one, never a mix or nothing; a failed write
    raises OSError and leaves no temporary file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_leftovers(path)
    mode = path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(text.encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(path.parent)


def _sweep_leftovers(path: Path) -> None:
    """Temporary files of `path` left by writers that were killed: their names carry the writer's
    process id, and a live writer's file is never touched. (They end in .tmp, so the loader never
    reads them; this only keeps the directory tidy.)"""
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        pid = leftover.name.removeprefix(f".{path.name}.").split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _sync_directory(directory: Path) -> None:
    """The rename itself survives a power cut only once the directory is flushed too."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
