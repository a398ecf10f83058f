"""Passages kept as arrays: every text in one UTF-8 byte buffer with the offset where each ends,
and each passage's offsets, strings and sentences as rows of integer arrays. A sentence is kept as
where it stands in its guide and in its passage's text (whose words it is), not as a text again.

A saved index holds its passages this way (memory-mapped when loaded: a passage is made when it
is asked for), and a large build's split workers hand theirs back this way: a few byte buffers
and arrays instead of millions of objects, so the parent neither unpickles nor keeps an object
for every passage and sentence of the corpus.
"""

from __future__ import annotations

import mmap
from typing import Iterable, Iterator, Sequence, overload

import numpy as np

from assistant.schema import Passage, Span

PASSAGE_STRINGS = 5  # id, guide, title, section, group; then the texts of any sentences not in the passage's text
FIELDS = ("id", "guide", "title", "section", "group")  # the PASSAGE_STRINGS, in order


class Strings(Sequence[str]):
    """Strings kept as one UTF-8 byte buffer (a memory-mapped file, or bytes) and the offset where
    each one ends: a string is decoded when it is asked for."""

    def __init__(self, data: mmap.mmap | bytes, ends: np.ndarray, offset: int = 0):
        self.data = data
        self.ends = ends
        self.offset = offset  # where the first string starts in data (after a .npy header)

    @classmethod
    def of(cls, strings: Iterable[str]) -> "Strings":
        """Strings held in memory the way a saved index holds them (a build's passages, searched
        by substring: a quote missing from a million passages is a few seconds, not 47)."""
        encoded = [t.encode("utf-8") for t in strings]
        return cls(b"".join(encoded), np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))))

    @classmethod
    def joined(cls, parts: Sequence["Strings"]) -> "Strings":
        """The strings of each part, one part after the other."""
        sizes = [part.size for part in parts]
        shifts = np.cumsum([0] + sizes[:-1], dtype=np.int64)
        ends = [part.ends + shift for part, shift in zip(parts, shifts.tolist())]
        return cls(b"".join(part.bytes() for part in parts), np.concatenate(ends) if ends else np.zeros(0, np.int64))

    @property
    def size(self) -> int:
        """How many bytes the strings take."""
        return int(self.ends[-1]) if len(self.ends) else 0

    def bytes(self) -> bytes:
        """The strings' UTF-8 bytes, one after the other."""
        if self.offset == 0 and isinstance(self.data, bytes) and len(self.data) == self.size:
            return self.data
        return bytes(self.data[self.offset:self.offset + self.size])

    def __len__(self) -> int:
        return len(self.ends)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            return self.run(start, stop) if step == 1 else [self[j] for j in range(start, stop, step)]
        i = range(len(self))[i]  # an IndexError past the end, as a list raises
        return self.run(i, i + 1)[0]

    def run(self, first: int, stop: int) -> list[str]:
        """The strings first .. stop - 1."""
        if stop <= first:
            return []
        bounds = self.ends[first - 1 if first else 0:stop].tolist()
        if not first:
            bounds.insert(0, 0)
        at = self.offset
        return [self.data[at + start:at + end].decode("utf-8") for start, end in zip(bounds, bounds[1:])]

    def picked(self, numbers: np.ndarray) -> list[str]:
        """The strings numbered, in that order."""
        numbers = np.asarray(numbers, dtype=np.int64)
        starts = np.where(numbers > 0, self.ends[np.maximum(numbers - 1, 0)], 0) if len(numbers) else numbers
        at, data = self.offset, self.data
        return [data[at + a:at + b].decode("utf-8") for a, b in zip(starts.tolist(), self.ends[numbers].tolist())]

    def candidates(self, key: str) -> Iterator[int]:
        """The numbers of the strings a search for a string finds a match starting in, in order:
        every string holding it (and any a match starts in and runs on from into the next). The
        search starts again at the next string after each one found."""
        needle, base = key.encode("utf-8"), self.offset
        at = self.data.find(needle, base)
        while at >= 0:
            i = int(self.ends.searchsorted(at - base, side="right"))
            if i >= len(self.ends):
                return
            yield i
            at = self.data.find(needle, base + int(self.ends[i]))

    def holding(self, keys: Iterable[str]) -> Iterator[int]:
        """The numbers of the strings holding every key, in order: the bytes are searched for the
        longest key, and only the strings it is found in are read."""
        keys = sorted(set(keys), key=len, reverse=True)
        if not keys:
            yield from range(len(self))
            return
        for i in self.candidates(keys[0]):
            text = self[i]
            if all(k in text for k in keys):
                yield i


class StoredPassages(Sequence[Passage]):
    """Passages kept as arrays, each made from them when it is first asked for (a question touches
    a few of a corpus's passages; opening an index makes none). Going through them all makes them
    all, once; a slice's are made afresh and not kept (a build's worker reads its chunk so)."""

    def __init__(self, texts: Strings, strings: Strings, table: np.ndarray, spans: np.ndarray):
        self.texts = texts  # each passage's text
        self.strings = strings  # each passage's PASSAGE_STRINGS, then the texts of its sentences placed by number
        self.table = table  # per passage: start, end, its first string, its first sentence
        # per sentence: start and end in the guide, then where its text starts and ends in its passage's
        # text, or -1 and which of the passage's strings after its PASSAGE_STRINGS holds it
        self.spans = spans
        self._made: dict[int, Passage] = {}
        self._all: list[Passage] | None = None

    @classmethod
    def pack(cls, passages: Sequence[Passage]) -> "StoredPassages":
        """The passages as arrays (what a saved index holds)."""
        counts = np.fromiter((len(p.sentences) for p in passages), dtype=np.int64, count=len(passages))
        first_sentence = np.cumsum(counts) - counts
        places, strings, string_counts = [], [], []
        for p in passages:
            placed = sentence_places(p)
            places += placed
            unplaced = [s.text for s, (a, _) in zip(p.sentences, placed) if a < 0]
            strings += [p.id, p.guide, p.title, p.section, p.group, *unplaced]
            string_counts.append(PASSAGE_STRINGS + len(unplaced))
        sizes = np.array(string_counts, dtype=np.int64)
        bounds = np.fromiter((n for p in passages for n in (p.start, p.end)), dtype=np.int64, count=2 * len(passages))
        spans = np.fromiter((n for p in passages for s in p.sentences for n in (s.start, s.end)), dtype=np.int64)
        spans = np.column_stack([spans.reshape(-1, 2), np.array(places, dtype=np.int64).reshape(-1, 2)])
        return cls(Strings.of(p.text for p in passages), Strings.of(strings),
                   np.column_stack([bounds.reshape(-1, 2), np.cumsum(sizes) - sizes, first_sentence]), spans)

    @classmethod
    def joined(cls, parts: Sequence["StoredPassages"]) -> "StoredPassages":
        """The passages of each part, one part after the other."""
        tables, string_shift, sentence_shift = [], 0, 0
        for part in parts:
            table = part.table.copy()
            table[:, 2] += string_shift
            table[:, 3] += sentence_shift
            tables.append(table)
            string_shift += len(part.strings)
            sentence_shift += len(part.spans)
        return cls(Strings.joined([p.texts for p in parts]), Strings.joined([p.strings for p in parts]),
                   np.concatenate(tables) if tables else np.zeros((0, 4), np.int64),
                   np.concatenate([p.spans for p in parts]) if parts else np.zeros((0, 4), np.int64))

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays an index saves, but for the string bytes themselves, by file name."""
        return {"passage_text_ends.npy": self.texts.ends, "passage_string_ends.npy": self.strings.ends,
                "passage_table.npy": self.table, "sentence_spans.npy": self.spans}

    def field(self, name: str, start: int = 0, stop: int | None = None) -> list[str]:
        """One of FIELDS of the passages start .. stop - 1 (all by default), without making them."""
        return self.strings.picked(self.table[start:stop, 2] + FIELDS.index(name))

    def __len__(self) -> int:
        return len(self.table)

    @overload
    def __getitem__(self, i: int) -> Passage: ...
    @overload
    def __getitem__(self, i: slice) -> list[Passage]: ...

    def __getitem__(self, i):
        if self._all is not None:
            return self._all[i]
        if isinstance(i, slice):
            return [self._made.get(j) or self._make(j) for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]  # an IndexError past the end, as a list raises
        passage = self._made.get(i)
        if passage is None:
            passage = self._made[i] = self._make(i)
        return passage

    def __iter__(self) -> Iterator[Passage]:
        if self._all is None:
            self._all = [self._made.get(i) or self._make(i) for i in range(len(self))]
            self._made.clear()
        return iter(self._all)

    def _make(self, i: int) -> Passage:
        start, end, first_string, first_sentence = self.table[i].tolist()
        stop_sentence = int(self.table[i + 1, 3]) if i + 1 < len(self.table) else len(self.spans)
        spans = self.spans[first_sentence:stop_sentence].tolist()
        unplaced = sum(1 for _, _, a, _ in spans if a < 0)
        pid, guide, title, section, group, *others = self.strings.run(
            first_string, first_string + PASSAGE_STRINGS + unplaced)
        text = self.texts[i]
        return Passage(pid, guide, title, section, text, start, end,
                       tuple(Span(s, e, text[a:b] if a >= 0 else others[b]) for s, e, a, b in spans), group)

    def holding(self, keys: list[str]) -> Iterator[tuple[int, Passage]]:
        """The passages whose text holds every key, with their numbers, in order: the stored
        texts are searched for the first key, and only the texts it is found in are read."""
        for i in self.texts.holding(keys):
            yield i, self[i]


def passage_field(passages: Sequence[Passage], name: str, start: int = 0, stop: int | None = None) -> list[str]:
    """One of FIELDS, or "text", of the passages start .. stop - 1 (all by default), in order;
    stored passages' read without making them (a build's worker reads its chunk's so)."""
    stop = len(passages) if stop is None else stop
    if isinstance(passages, StoredPassages):
        return passages.texts.run(start, stop) if name == "text" else passages.field(name, start, stop)
    return [getattr(p, name) for p in passages[start:stop]]


def passage_headings(passages: Sequence[Passage]) -> list[str]:
    """Every passage's Passage.headings, in order (stored passages' without making them)."""
    groups = passage_field(passages, "group")
    return [f"{g} {s}" if g else s for g, s in zip(groups, passage_field(passages, "section"))]


def passage_texts(passages: Sequence[Passage]) -> Strings:
    """Every passage's text as Strings (stored passages' own)."""
    return passages.texts if isinstance(passages, StoredPassages) else Strings.of(p.text for p in passages)


def passages_holding(passages: Sequence[Passage], keys: Iterable[str]) -> Iterator[tuple[int, Passage]]:
    """The passages whose text holds every one of the keys (strings), with their numbers, in
    order; stored passages' found without making the others (StoredPassages.holding)."""
    keys = sorted(set(keys), key=len, reverse=True)
    if isinstance(passages, StoredPassages) and keys:
        return passages.holding(keys)
    return ((n, p) for n, p in enumerate(passages) if all(k in p.text for k in keys))


def sentence_places(passage: Passage) -> list[tuple[int, int]]:
    """Where each sentence's text stands in the passage's text, in order (start, end), or, for one
    it does not hold there, (-1, k): the k-th such sentence of the passage."""
    places, at, unplaced = [], 0, 0
    for s in passage.sentences:
        found = passage.text.find(s.text, at)
        if found < 0:
            places.append((-1, unplaced))
            unplaced += 1
        else:
            at = found + len(s.text)
            places.append((found, at))
    return places
