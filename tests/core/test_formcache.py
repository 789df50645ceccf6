"""Phrase forms kept between starts (bot/core/formcache.py): same matcher, never in the way."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core import formcache, pinyin
from bot.core.loader import load_content
from bot.core.match import Matcher
from tests.conftest import ROOT


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("POSBOT_CACHE_DIR", str(folder))
    return folder


def test_a_second_start_reads_the_forms_and_builds_the_same_matcher(cache: Path, mini_copy: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    content = load_content(mini_copy)
    first = Matcher(content)
    saved = formcache.cache_path(content.version)
    assert saved.exists() and saved.parent == cache
    # the second start must not segment a single phrase again
    calls: list[str] = []
    original = Matcher.match_form

    def counting(self: Matcher, text: str) -> str:
        calls.append(text)
        return original(self, text)

    monkeypatch.setattr(Matcher, "match_form", counting)
    second = Matcher(content)
    assert calls == []
    assert second._texts == first._texts
    assert second.analyse("小票打出来是白的").candidates == first.analyse("小票打出来是白的").candidates


def test_a_second_start_reads_pinyin_syllables_from_the_cache(cache: Path, mini_copy: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    content = load_content(mini_copy)
    Matcher(content)
    monkeypatch.setattr(pinyin, "_inventory", None)  # a new process: nothing read yet

    def unread() -> frozenset[str]:
        raise AssertionError("pypinyin's table read again")

    monkeypatch.setattr(pinyin, "_read_syllables", unread)
    second = Matcher(content)
    assert "qian" in pinyin.syllables() and len(pinyin.syllables()) > 300
    assert second.analyse("xiaopiao dabuchulai").candidates[0].intent == "printer_problem"


def test_changed_content_gets_its_own_forms(cache: Path, mini_copy: Path) -> None:
    before = load_content(mini_copy)
    Matcher(before)
    path = mini_copy / "intents" / "symptoms" / "common.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("不出纸咋回事", "纸出不来咋回事"), encoding="utf-8")
    after = load_content(mini_copy)
    assert formcache.cache_path(after.version) != formcache.cache_path(before.version)
    assert set(Matcher(after)._texts) != set(Matcher(before)._texts)
    assert formcache.cache_path(after.version).exists()


def test_a_broken_cache_or_a_full_disk_never_stops_the_start(cache: Path, mini_copy: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    content = load_content(mini_copy)
    cache.mkdir(parents=True, exist_ok=True)
    formcache.cache_path(content.version).write_text("{not json", encoding="utf-8")
    assert Matcher(content).analyse("小票打出来是白的").candidates[0].intent == "printer_problem"
    formcache.cache_path(content.version).unlink()

    def full_disk(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(formcache.os, "replace", full_disk)
    assert Matcher(content).analyse("小票打出来是白的").candidates[0].intent == "printer_problem"
    assert not formcache.cache_path(content.version).exists()
    assert list(cache.glob("*.tmp")) == []


def test_only_the_newest_content_versions_are_kept(cache: Path) -> None:
    for number in range(formcache.KEPT + 3):
        formcache.save(f"version-{number}", {"m:x": str(number)})
    assert len(list(cache.glob("forms-*.json"))) == formcache.KEPT
    assert formcache.load(f"version-{formcache.KEPT + 2}") == {"m:x": str(formcache.KEPT + 2)}


def test_a_second_start_reads_the_red_line_model_instead_of_learning_it(cache: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Learning the model is a quarter of a start; kept as numbers and strings, it is read back and judges alike (the
    features are hashed again: a string's hash differs from process to process)."""
    content = load_content(ROOT)
    first = Matcher(content)
    assert formcache.arrays_path("redline-model", content.version).exists()
    monkeypatch.setattr(Matcher, "_learnt_redlines", lambda self, content: pytest.fail("learnt again"))
    second = Matcher(content)
    for question in ("店里那台机器晚上借给夜市摆摊的老乡用 他收的钱我再转他", "机器搬到新店要办什么手续", "😀"):
        assert second.redline_verdict(second.analyse(question)) == first.redline_verdict(first.analyse(question))


def test_an_unreadable_or_misshapen_kept_model_is_learnt_again(cache: Path, mini_copy: Path) -> None:
    content = load_content(mini_copy)
    learnt = Matcher(content).redline_model
    kept = formcache.arrays_path("redline-model", content.version)
    kept.write_bytes(b"not an npz")
    assert Matcher(content).redline_model.arrays()["features"].tolist() == learnt.arrays()["features"].tolist()
    arrays = learnt.arrays()
    formcache.save_arrays("redline-model", content.version, {**arrays, "idf": arrays["idf"][:1]})
    assert Matcher(content).redline_model.arrays()["idf"].tolist() == learnt.arrays()["idf"].tolist()
