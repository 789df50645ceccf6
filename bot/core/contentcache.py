"""Loaded, validated content kept between starts: parsing and validating ~2,900 YAML examples costs about
0.15 s of every start, and the result depends only on the content files' bytes and on this code.

One pickle per (content files, code) in the cache directory (bot/core/segment.py cache_dir), beside the
phrase forms (bot/core/formcache.py). It is trusted only when every check passes: the file is this user's
and nobody else may write it (pickle runs code on load, and the default folder is under /tmp), its header
names this format, and the SHA-256 of its payload matches the one written beside it (a torn or corrupt file
is rebuilt, never half-read). The key covers every content file's path and bytes, the content root, every
source file of bot/core and the versions of Python and the libraries whose objects are pickled, so any
edit to the content or the code makes a new key and the old file is never read again.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from bot.core.formcache import code_fingerprint, keep_newest
from bot.core.loader import Content, content_files, default_root, load_content
from bot.core.segment import cache_dir

MAGIC = b"posbot-content-1\n"
"""First bytes of a cache file: another format (or another program's file) is not read."""
KEPT = 5
"""Content versions kept (as formcache.KEPT: a live reload writes a new one; workers mid-deploy may still read
the one before)."""


@lru_cache(maxsize=1)
def _library_versions() -> str:
    import numpy
    import pydantic
    import yaml

    return f"{sys.version} {pydantic.VERSION} {yaml.__version__} {numpy.__version__}"


def cache_key(root: Path) -> str:
    """A digest of everything load_content(root) reads and of the code that reads and validates it."""
    digest = hashlib.sha256(f"{code_fingerprint()} {_library_versions()} {root.resolve()}".encode())
    for path in content_files(root):
        digest.update(b"\0" + str(path.relative_to(root)).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\1missing")
    return digest.hexdigest()


def cache_path(root: Path) -> Path:
    return cache_dir() / f"content-{cache_key(root)[:24]}.pickle"


def cached_content(root: Path | str | None = None) -> Content:
    """load_content(root), from the cache when an earlier start saved these very files with this code.
    Content with problems raises ContentError as load_content does, and is never saved."""
    root = Path(root) if root is not None else default_root()
    try:
        path = cache_path(root)
    except OSError:  # no cache folder can be made: load as if there were no cache
        return load_content(root)
    content = _read(path)
    if content is None:
        content = load_content(root)
        _write(path, content)
    return content


def _read(path: Path) -> Content | None:
    """The content saved at `path`, or None for a missing, foreign, corrupt or unreadable file."""
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            if hasattr(os, "geteuid") and (status.st_uid != os.geteuid() or status.st_mode & 0o022):
                return None
            data = handle.read()
    except OSError:
        return None
    header, _, rest = data.partition(b"\n")
    expected, _, payload = rest.partition(b"\n")
    if header + b"\n" != MAGIC or hashlib.sha256(payload).hexdigest().encode() != expected:
        return None
    try:
        content = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - the digest matched, but a class may have moved: rebuild, never fail
        return None
    return content if isinstance(content, Content) else None


def _write(path: Path, content: Content) -> None:
    """Save through a temporary file and a rename: a reader never sees half a file, and two processes saving
    at once each rename a whole one. A read-only or full cache costs the next start the load, nothing more."""
    payload = pickle.dumps(content, protocol=pickle.HIGHEST_PROTOCOL)
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        os.replace(temporary, path)
        temporary = None
        keep_newest(path.parent, "content-*.pickle", KEPT)
    except OSError:
        pass
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
