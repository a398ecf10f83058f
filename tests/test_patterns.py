"""Data-file patterns compiled when first used and skipped over texts that cannot match: the
shortcut never changes what a pattern finds."""

from __future__ import annotations

import json
import re

import pytest

from assistant.datafiles import SCHEMAS, snapshot
from assistant.patterns import Regex, required_strings

from conftest import CORPUS


def _texts() -> list[str]:
    """People's questions and conversation turns from the shipped labelled sets, plus texts whose
    case-blind matches are not in their lowercase form."""
    texts = []
    for name in ("questions-lay.jsonl", "questions-lay2.jsonl", "dialogues-fourth.jsonl"):
        for line in (CORPUS / name).read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts += [row["question"]] if "question" in row else [t["text"] for t in row.get("turns", [])]
    return texts + ["SHE'S PREGNANT", "my bac\u212a hurts", "fever of 38.5\u00b0C", "Ache in her \u017fhoulder"]


@pytest.fixture(scope="module")
def shipped_patterns() -> list[str]:
    return sorted(snapshot()["needles"]) + ["(?:no needle)?"]


def test_every_data_file_pattern_finds_exactly_what_its_compiled_form_finds(shipped_patterns):
    texts = _texts()
    assert len(texts) > 200
    for source in shipped_patterns:
        lazy, plain = Regex(source, required_strings(source)), re.compile(source, re.IGNORECASE)
        for text in texts:
            got, want = lazy.search(text), plain.search(text)
            assert (got and got.span()) == (want and want.span()), (source, text)


def test_most_patterns_are_ruled_out_without_running():
    # the point of the shortcut: a question meets few of the patterns
    needles = snapshot()["needles"]
    question = "what oil should i use on her back?"
    ruled_out = sum(Regex(p, n).cannot_match(question) for p, n in needles.items())
    assert ruled_out > 0.8 * len(needles)


@pytest.mark.parametrize("pattern, text", [
    (r"\bpregnan(t|cy)\b", "PREGNANT"),
    (r"\bback\b", "bac\u212a"),  # the Kelvin sign matches "k" when case is ignored
    (r"^temp\w*\s+3[89]", "Temp 38"),
])
def test_a_match_only_case_blindness_finds_is_still_found(pattern, text):
    assert Regex(pattern, required_strings(pattern)).search(text)


def test_required_strings_come_from_the_pattern_not_from_a_list():
    assert required_strings(r"\b(Sore|stiff)\s+back\b") == ["sore", "stiff"]  # lowercased
    assert required_strings(r"\bhigh temperature\b") == ["high temperature"]
    assert required_strings(r"(a|)b?") is None  # nothing every match must hold
    assert required_strings(r"(unclosed") is None


def test_the_snapshot_covers_every_data_file():
    shot = snapshot()
    assert set(shot["files"]) == set(SCHEMAS)
    assert all(len(e["sha256"]) == 64 for e in shot["files"].values())


def test_a_pattern_copies_and_pickles_as_itself():
    import copy
    import pickle

    lazy = Regex(r"\bpregnan(t|cy)\b", required_strings(r"\bpregnan(t|cy)\b"))
    for other in (copy.copy(lazy), copy.deepcopy(lazy), pickle.loads(pickle.dumps(lazy))):
        assert other == lazy and other.needles == lazy.needles
        assert other.search("she's PREGNANT") and not other.search("she's fine")
