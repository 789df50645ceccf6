"""Validated content kept between starts (bot/core/contentcache.py): the same content as a fresh load, never
trusted when stale, corrupt or foreign, and never in the way of a start."""

from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path

import pytest

from bot.core import contentcache, loader
from bot.core.contentcache import cache_path, cached_content
from bot.core.engine import Engine
from bot.core.errors import ContentError
from bot.core.loader import load_content


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("POSBOT_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every real load_content the cache makes (a hit makes none)."""
    calls: list[Path] = []

    def counting(root: Path) -> loader.Content:
        calls.append(root)
        return load_content(root)

    monkeypatch.setattr(contentcache, "load_content", counting)
    return calls


def test_a_second_start_reads_the_same_content_without_validating(cache: Path, mini_copy: Path,
                                                                  loads: list[Path]) -> None:
    first = cached_content(mini_copy)
    assert loads == [mini_copy] and cache_path(mini_copy).exists()
    second = cached_content(mini_copy)
    assert loads == [mini_copy]
    fresh = load_content(mini_copy)
    assert second.intents == fresh.intents and second.lexicon == fresh.lexicon
    assert second.version == fresh.version == first.version
    assert (second.flows, second.scripts, second.followups) == (fresh.flows, fresh.scripts, fresh.followups)
    assert dict(second.locations) == dict(fresh.locations)
    assert dict(second.by_code) == dict(fresh.by_code) and second.root == fresh.root
    question = "小票打出来是白的"
    assert Engine(second).understand(question) == Engine(fresh).understand(question)


def test_any_changed_file_is_loaded_again(cache: Path, mini_copy: Path, loads: list[Path]) -> None:
    before = cached_content(mini_copy)
    path = mini_copy / "intents" / "symptoms" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("不出纸咋回事", "纸出不来咋回事"), encoding="utf-8")
    after = cached_content(mini_copy)
    assert len(loads) == 2 and after.version != before.version
    assert after.version == load_content(mini_copy).version
    added = mini_copy / "intents" / "symptoms" / "more.yaml"
    added.write_text(path.read_text(encoding="utf-8").replace("id: ", "id: more_"), encoding="utf-8")
    grown = cached_content(mini_copy)  # a new file is read too
    assert len(loads) == 3 and len(grown.intents) > len(after.intents)


def test_changed_code_is_loaded_again(cache: Path, mini_copy: Path, loads: list[Path],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cached_content(mini_copy)
    monkeypatch.setattr(contentcache, "code_fingerprint", lambda: "another version of bot/core")
    cached_content(mini_copy)
    assert len(loads) == 2


def test_content_with_problems_is_never_saved(cache: Path, mini_copy: Path) -> None:
    path = mini_copy / "intents" / "symptoms" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n  - {id: 1}\n", encoding="utf-8")
    with pytest.raises(ContentError):
        cached_content(mini_copy)
    assert not list(cache.glob("content-*"))


@pytest.mark.parametrize("damage", ["truncated", "flipped", "other format", "empty", "digest of other bytes"])
def test_a_corrupt_file_is_loaded_again_and_replaced(cache: Path, mini_copy: Path, loads: list[Path],
                                                     damage: str) -> None:
    cached_content(mini_copy)
    path = cache_path(mini_copy)
    data = path.read_bytes()
    payload = pickle.dumps("not content")
    broken = {"truncated": data[:len(data) // 2], "flipped": data[:-10] + bytes([data[-10] ^ 1]) + data[-9:],
              "other format": b"posbot-content-0\n" + data.partition(b"\n")[2], "empty": b"",
              "digest of other bytes": data.rpartition(b"\n")[0] + b"\n" + payload}[damage]
    path.write_bytes(broken)
    assert cached_content(mini_copy).version == load_content(mini_copy).version
    assert len(loads) == 2
    assert path.read_bytes() != broken  # rebuilt


def test_a_valid_pickle_of_something_else_is_not_trusted(cache: Path, mini_copy: Path, loads: list[Path]) -> None:
    import hashlib

    cached_content(mini_copy)
    payload = pickle.dumps({"intents": ()})
    cache_path(mini_copy).write_bytes(contentcache.MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    assert cached_content(mini_copy).intents
    assert len(loads) == 2


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="file owners and modes are POSIX")
def test_a_file_others_may_write_is_not_read(cache: Path, mini_copy: Path, loads: list[Path]) -> None:
    cached_content(mini_copy)
    os.chmod(cache_path(mini_copy), 0o666)
    cached_content(mini_copy)
    assert len(loads) == 2


def test_a_read_only_cache_never_stops_the_start(cache: Path, mini_copy: Path, loads: list[Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cache.mkdir(parents=True)
    cache.chmod(0o500)

    def read_only(*_args: object, **_kwargs: object) -> None:  # as the folder is to anyone but root
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(contentcache.tempfile, "mkstemp", read_only)
    try:
        assert cached_content(mini_copy).intents and cached_content(mini_copy).intents
        assert len(loads) == 2 and not list(cache.iterdir())
    finally:
        cache.chmod(0o700)


def test_a_failing_write_leaves_no_file_behind(cache: Path, mini_copy: Path, loads: list[Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(contentcache.os, "replace", full_disk)
    assert cached_content(mini_copy).intents
    assert list(cache.glob("content-*")) == []


def test_no_cache_folder_at_all_still_loads(tmp_path: Path, mini_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("POSBOT_CACHE_DIR", str(blocker / "cache"))
    assert cached_content(mini_copy).version == load_content(mini_copy).version


def test_writers_at_once_leave_one_whole_file(cache: Path, mini_copy: Path) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            results.append(cached_content(mini_copy).version)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and set(results) == {load_content(mini_copy).version}
    assert [p.name for p in cache.glob("content-*")] == [cache_path(mini_copy).name]
    assert list(cache.glob("*.tmp")) == []
    assert contentcache._read(cache_path(mini_copy)) is not None


def test_only_the_newest_versions_are_kept(cache: Path, mini_copy: Path) -> None:
    path = mini_copy / "intents" / "symptoms" / "common.yaml"
    text = path.read_text(encoding="utf-8")
    for number in range(contentcache.KEPT + 2):
        path.write_text(text.replace("不出纸咋回事", f"不出纸咋回事{number}"), encoding="utf-8")
        cached_content(mini_copy)
    assert len(list(cache.glob("content-*.pickle"))) == contentcache.KEPT
