"""The data files' one loader: every shipped file loads, and a broken one is an error naming the file and entry."""

from __future__ import annotations

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
