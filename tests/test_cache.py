"""seqkit.data.cache: parsed data kept as JSON, keyed by the source's bytes and the reader's version."""

from __future__ import annotations

import json

import pytest

from seqkit.data.cache import cache_root, cached_json


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "scores.txt"
    source.write_text("C D E")
    calls = []

    def read(version="v1"):
        def compute():
            calls.append(source.read_text())
            return {"notes": source.read_text().split()}

        return cached_json("test-reader", version, source, compute)

    return source, calls, read


def test_an_entry_is_computed_once_then_read(cache):
    source, calls, read = cache
    assert read() == {"notes": ["C", "D", "E"]} and read() == {"notes": ["C", "D", "E"]}
    assert len(calls) == 1
    entries = list((cache_root() / "test-reader").rglob("*.json"))
    assert len(entries) == 1 and json.loads(entries[0].read_text())["source"] == str(source)


def test_edited_files_and_new_reader_versions_parse_again(cache):
    source, calls, read = cache
    read()
    source.write_text("C D E F")
    assert read() == {"notes": ["C", "D", "E", "F"]}
    assert read(version="v2") == {"notes": ["C", "D", "E", "F"]}
    assert len(calls) == 3


def test_a_damaged_entry_is_parsed_again_and_replaced(cache):
    _, calls, read = cache
    read()
    (entry,) = (cache_root() / "test-reader").rglob("*.json")
    entry.write_text('{"value": [1, 2')  # cut short
    assert read() == {"notes": ["C", "D", "E"]} and len(calls) == 2
    assert json.loads(entry.read_text())["value"] == {"notes": ["C", "D", "E"]}
    assert read() and len(calls) == 2


def test_caching_can_be_turned_off_and_a_read_only_cache_costs_only_time(cache, monkeypatch, tmp_path):
    _, calls, read = cache
    monkeypatch.setenv("SEQKIT_CACHE", "off")
    assert cache_root() is None
    read(), read()
    assert len(calls) == 2 and not (tmp_path / "cache").exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SEQKIT_CACHE", str(blocker))  # not a folder: nothing can be written
    assert read() == {"notes": ["C", "D", "E"]} and len(calls) == 3


def test_the_default_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("SEQKIT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "seqkit"
