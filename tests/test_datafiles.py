"""The data files' one loader: every shipped file loads, and a broken one is an error naming the file and entry."""

from __future__ import annotations

import json
import re

import pytest

from assistant.datafiles import SCHEMAS, DataFileError, check_all, parse


def test_every_shipped_data_file_matches_its_schema():
    assert set(check_all()) == set(SCHEMAS)


@pytest.mark.parametrize("name, text, message", [
    ("intents.toml", '[oil_choice]\nexmaples = ["what oil"]\n', "oil_choice: unknown key 'exmaples'"),
    ("intents.toml", '[oil_choice]\nexamples = "what oil"\n', "oil_choice.examples should be a list"),
    ("intents.toml", "[oil_choice]\nsections = ['(unclosed']\n", "oil_choice.sections[0]: bad regular expression"),
    ("intents.toml", '[oil_choice]\nexamples = ["what oil", "What oil"]\n', "'What oil' is listed twice"),
    ("safety.toml", 'disclaimer = "x"\n', "missing 'negation_cues'"),
    ("cleaning.toml", "caption_max_words = 1.5\n", "caption_max_words should be int, not float"),
    ("replies.toml", "greeting = [", "not valid TOML"),
])
def test_a_broken_data_file_names_the_file_and_the_entry(name, text, message):
    with pytest.raises(DataFileError, match=re.escape(message)) as caught:
        parse(name, text)
    assert str(caught.value).startswith(name)


def test_regular_expressions_are_compiled_at_load():
    doc = parse("cleaning.toml", "cut_from = ['^about the author$']\n")
    assert doc["cut_from"][0].match("About The Author")  # compiled, case-insensitive


@pytest.fixture
def fresh_loader(monkeypatch):
    """The loader with nothing read and no build snapshot trusted (restored afterwards)."""
    from assistant import datafiles

    monkeypatch.setattr(datafiles, "_TRUSTED", {})
    monkeypatch.setattr(datafiles, "_READ", {})
    datafiles.load.cache_clear()
    yield datafiles
    datafiles.load.cache_clear()


def test_a_file_as_the_build_checked_it_loads_the_same_from_the_snapshot(fresh_loader):
    checked_whole = {name: fresh_loader.load(name) for name in SCHEMAS}
    shot = fresh_loader.snapshot()
    fresh_loader.trust(json.loads(json.dumps(shot)))  # as an index stores it
    fresh_loader.load.cache_clear()
    for name in SCHEMAS:
        assert fresh_loader.load(name) == checked_whole[name], name


def test_a_file_changed_since_the_build_is_checked_whole(fresh_loader, monkeypatch):
    fresh_loader.trust(fresh_loader.snapshot())
    fresh_loader.load.cache_clear()
    shipped = fresh_loader.raw_bytes
    monkeypatch.setattr(fresh_loader, "raw_bytes",
                        lambda name: b"cut_from = ['(unclosed']\n" if name == "cleaning.toml" else shipped(name))
    with pytest.raises(DataFileError, match=re.escape("cleaning.toml: cut_from[0]: bad regular expression")):
        fresh_loader.load("cleaning.toml")


@pytest.mark.parametrize("shot", [None, [], {"files": "x", "needles": {}}, {"files": {"cleaning.toml": {"sha256": 1}}, "needles": {}},
                                  {"files": {}, "needles": {"x": "not a list"}}])
def test_a_malformed_snapshot_is_not_trusted(fresh_loader, shot):
    fresh_loader.trust(shot)
    assert fresh_loader._TRUSTED == {}


def test_a_build_after_loading_from_a_snapshot_still_keeps_every_file(fresh_loader):
    shot = fresh_loader.snapshot()
    fresh_loader._READ.clear()
    fresh_loader.trust(shot)
    fresh_loader.load.cache_clear()
    for name in SCHEMAS:
        fresh_loader.load(name)  # from the snapshot
    assert fresh_loader.snapshot()["files"] == shot["files"]
