"""Phrase forms kept between starts: normalising and segmenting every example (2,800 of them) is most of
what building the matcher costs, and the result depends only on the content and on this code.

The cache is one JSON file per (content version, code) in the cache directory, written through a temporary
file and a rename. A missing, unreadable or stale file is simply rebuilt; a full disk or a read-only cache
never stops posbot from starting.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.core.segment import cache_dir, jieba

_CODE = Path(__file__).resolve().parent
KEPT = 5
"""Forms of this many content versions stay (a live reload writes a new one; workers mid-deploy may still
use the one before)."""


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Every source file of bot/core, jieba's and pypinyin's versions: a change to any may change a form."""
    import pypinyin

    digest = hashlib.sha256(f"{jieba.__version__} {pypinyin.__version__}".encode())
    for path in sorted(_CODE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_path(content_version: str) -> Path:
    key = hashlib.sha256(f"{content_version}:{code_fingerprint()}".encode()).hexdigest()[:20]
    return cache_dir() / f"forms-{key}.json"


def load(content_version: str) -> dict[str, str]:
    """The forms saved for this content and code, or {} when there are none (or they cannot be read)."""
    try:
        data = json.loads(cache_path(content_version).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save(content_version: str, forms: dict[str, str]) -> None:
    path = cache_path(content_version)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(forms, out, ensure_ascii=False)
        os.replace(temporary, path)
        keep_newest(path.parent, "forms-*.json", KEPT)
    except OSError:
        # a full disk or a read-only cache costs the next start half a second, nothing more
        try:
            os.unlink(temporary)
        except (OSError, UnboundLocalError):
            pass


def arrays_path(name: str, content_version: str) -> Path:
    """Arrays kept as `name` beside the forms of the same content and code (same key)."""
    forms = cache_path(content_version)
    return forms.with_name(f"{name}-{forms.stem.removeprefix('forms-')}.npz")


def load_arrays(name: str, content_version: str) -> dict[str, np.ndarray] | None:
    """The arrays saved as `name` for this content and code, or None when there are none or they cannot be read
    (numbers and strings only: nothing is unpickled)."""
    try:
        with np.load(arrays_path(name, content_version), allow_pickle=False) as saved:
            return {key: saved[key] for key in saved.files}
    except (OSError, ValueError, KeyError, EOFError):
        return None


def save_arrays(name: str, content_version: str, arrays: dict[str, np.ndarray]) -> None:
    """Written as the forms are: a temporary file and a rename; a full disk or a read-only cache is no error."""
    path = arrays_path(name, content_version)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]
        os.replace(temporary, path)
        keep_newest(path.parent, f"{name}-*.npz", KEPT)
    except OSError:
        try:
            os.unlink(temporary)
        except (OSError, UnboundLocalError):
            pass


def keep_newest(folder: Path, pattern: str, kept: int) -> None:
    """Delete all but the `kept` newest files of `folder` matching `pattern`."""
    saved = []
    for path in folder.glob(pattern):
        try:
            saved.append((path.stat().st_mtime, path))
        except OSError:  # another process removed it meanwhile
            continue
    for _mtime, old in sorted(saved, reverse=True)[kept:]:
        try:
            old.unlink()
        except OSError:
            pass
