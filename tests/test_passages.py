"""Passages kept as arrays: packed, joined, read back, searched (assistant/passages.py)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.config import load_config
from assistant.index import load
from assistant.passages import (FIELDS, StoredPassages, Strings, passage_field, passage_headings, passage_texts,
                                passages_holding)
from assistant.schema import Passage, Span


def test_strings_read_back_as_written_one_by_one_in_runs_and_picked():
    words = ["oil", "", "crème", "naïve café", "x" * 300, "\u2019tis", ""]
    strings = Strings.of(words)
    assert list(strings) == words and strings[2] == "crème" and strings[-1] == "" and strings[1:4] == words[1:4]
    assert strings.picked(np.array([4, 0, 2, 2, 6])) == [words[4], words[0], words[2], words[2], words[6]]
    assert strings.picked(np.array([], dtype=np.int64)) == []
    assert strings.size == sum(len(w.encode("utf-8")) for w in words) == len(strings.bytes())
    with pytest.raises(IndexError):
        strings[len(words)]


def test_strings_joined_read_as_one_list():
    parts = [["a", "bé"], [], ["", "c", "déjà vu"]]
    joined = Strings.joined([Strings.of(p) for p in parts])
    assert list(joined) == [w for p in parts for w in p]


def test_passages_packed_and_joined_come_back_equal_without_being_made(guides):
    from assistant.corpus import build_passages

    every = build_passages(list(guides.values()))
    assert every and all(isinstance(p, Passage) for p in every)
    stored = StoredPassages.joined([StoredPassages.pack(every[:7]), StoredPassages.pack([]),
                                    StoredPassages.pack(every[7:])])
    assert len(stored) == len(every)
    for name in FIELDS:
        assert passage_field(stored, name) == passage_field(every, name) == [getattr(p, name) for p in every]
    assert passage_headings(stored) == [p.headings for p in every]
    assert list(passage_texts(stored)) == [p.text for p in every]
    assert stored._all is None and not stored._made  # all of that read without making a passage
    assert stored[5:9] == every[5:9] and not stored._made  # a slice (a worker's chunk) is not kept
    assert stored[-1] == every[-1] and stored[3] is stored[3]
    assert list(stored) == every  # sentences, offsets and all


def test_a_passage_with_no_sentences_and_unicode_strings_survives_packing():
    made = [Passage("g#1", "g.txt", "Tïtle", "Sëction", "", 0, 0, (), ""),
            Passage("g#2", "g.txt", "Tïtle", "Why?", "Yes \u2014 it is.", 5, 20, (Span(5, 20, "Yes \u2014 it is."),), "Grôup")]
    assert list(StoredPassages.pack(made)) == made


def test_a_sentence_is_stored_as_its_place_in_the_passage_text_unless_the_text_lacks_it():
    """A sentence's words are its passage's, so it is kept as where it stands there; one the text does
    not hold (in order) keeps its own text, and both come back as they were."""
    text = "Warm the oil. • Use long strokes. Warm the oil."
    made = [Passage("g#1", "g.txt", "T", "S", text, 100, 160,
                    (Span(100, 113, "Warm the oil."), Span(118, 134, "Use long strokes."), Span(135, 148, "Warm the oil."),
                     Span(150, 160, "Not in it.")), ""),
            Passage("g#2", "g.txt", "T", "S2", "Last one.", 170, 179, (Span(170, 179, "Last one."),), "")]
    stored = StoredPassages.pack(made)
    assert stored.spans[:, 2:].tolist() == [[0, 13], [16, 33], [34, 47], [-1, 0], [0, 9]]
    assert len(stored.strings) == 2 * 5 + 1  # the fields, and the one sentence the text lacks
    assert list(stored) == made and list(StoredPassages.joined([StoredPassages.pack(made[:1]),
                                                               StoredPassages.pack(made[1:])])) == made


def test_a_loaded_index_finds_the_passages_holding_words_without_a_pass_over_them(index_dir, index):
    loaded = load(index_dir, load_config())
    every = list(load(index_dir, load_config()).passages)
    for keys in (["oil"], ["oil", "coconut"], ["pregnan", "massage", "the"], ["\u00e9"], ["no such words"], ["a"], []):
        assert list(passages_holding(every, keys)) == [(n, p) for n, p in enumerate(every) if all(k in p.text for k in keys)]
        if keys:
            assert list(passages_holding(loaded.passages, keys)) == list(passages_holding(every, keys))
        assert list(Strings.of([p.text for p in every]).holding(keys)) == \
               [n for n, p in enumerate(every) if all(k in p.text for k in keys)]
    assert loaded.passage_numbers == {p.id: i for i, p in enumerate(every)}
    assert loaded.passages._all is None  # found and numbered without making every passage
    assert [p for _, p in passages_holding(loaded.passages, [])] == every
