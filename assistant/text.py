"""Text analysis shared by the index, the router, the safety rules and the answers.

normalise -> words -> spelling correction -> thesaurus -> stop words -> Snowball stems.
Stop words come from scikit-learn, adjusted by the thesaurus file (copied into the index at build
time), stems from nltk's Snowball stemmer, which needs no downloaded data. Stems of every word the
project knows (and of the everyday words that share one) are precomputed into the index, so a
query never imports nltk.
Sentence splitting (nltk's untrained Punkt) runs at index build time only.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import unicodedata
from dataclasses import dataclass, field
from itertools import compress, count
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

from assistant.datafiles import DATA_DIR

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
                         "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-", "\u2010": "-",
                         "\u2011": "-", "\u00a0": " ", "\u2026": "..."})
_DROP_CATEGORIES = {"So", "Sk", "Cs", "Co", "Cn", "Cf"}
_ASCII_DROPPED = str.maketrans("", "", "^`")  # the ASCII characters of _DROP_CATEGORIES
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*|[.,;:!?()]")
_ASCII_NOT_IN_WORDS = str.maketrans({c: " " for c in map(chr, range(128)) if not ("a" <= c <= "z" or "0" <= c <= "9")})
_BOUNDARY = "|"
_ASCII_DIGIT = re.compile(r"[0-9]")


class _Contractions(NamedTuple):
    """data/language.toml's contractions: with an apostrophe; typed without one; typed without one
    that are English words too, opened only at the start of a clause, with the one-word fillers a
    clause may open with before them and the words after which they are the English word."""

    apostrophe: dict[str, list[str]]
    bare: dict[str, list[str]]
    at_clause_start: dict[str, list[str]]
    fillers: frozenset[str]
    not_before: frozenset[str]
    verbs_after: frozenset[str] = frozenset()  # after these the word is "i'll"/"i'd" anywhere ("ty ill let u know")
    not_after: frozenset[str] = frozenset()  # ...unless it follows one of these ("she is ill", "so ill")


@functools.cache
def _contractions() -> _Contractions:
    from assistant.datafiles import load

    lang = load("language.toml")
    bare = {w + "nt": [w, "not"] for w in lang["bare_contraction_stems"]} | lang["bare_contractions"]
    return _Contractions(lang["contractions"], bare, dict(lang.get("clause_start_contractions", {})),
                         frozenset(f for f in lang["leading_fillers"] if " " not in f),
                         frozenset(lang.get("clause_start_not_before", ())),
                         frozenset(lang.get("contraction_verbs_after", ())), frozenset(lang.get("contraction_not_after", ())))


def normalise(text: str) -> str:
    """Unicode NFKC, straight quotes and hyphens, no emoji or symbols, lowercase."""
    if text.isascii():  # NFKC and the quotes leave ASCII as it is; of it only ^ and ` are symbols dropped
        return text.translate(_ASCII_DROPPED).lower()
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).translate(_ASCII_DROPPED)
    # only the non-ASCII characters are looked up one by one (a guide from the web has a few in each line)
    return _NON_ASCII.sub(_without_dropped, text).lower()


def _without_dropped(run: re.Match) -> str:
    return "".join(ch for ch in run.group() if unicodedata.category(ch) not in _DROP_CATEGORIES)


def squash(text: str) -> str:
    """Whitespace-normalise: the form passage and sentence texts are compared in."""
    return " ".join(text.split())


_LOOSE = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


def loose_with_offsets(text: str) -> tuple[str, list[int]]:
    """The form quotes are found in (straight quotes and hyphens, white space squashed) and, for
    each of its characters, its offset in the text."""
    out, where = [], []
    pending_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            pending_space = bool(out)
            continue
        if pending_space:
            out.append(" ")
            where.append(i)
            pending_space = False
        out.append(ch.translate(_LOOSE))
        where.append(i)
    return "".join(out), where


def find_loose(quote: str, loose_text: tuple[str, list[int]]) -> tuple[int, int] | None:
    """Where a quote stands in a text, whitespace- and quote-style-insensitively, as (start, end)
    offsets into the text; `loose_text` is the text's loose_with_offsets."""
    haystack, where = loose_text
    needle = squash(quote.translate(_LOOSE))
    at = haystack.find(needle) if needle else -1
    return (where[at], where[at + len(needle) - 1] + 1) if at >= 0 else None


def words(text: str, boundaries: bool = False) -> list[str]:
    """Lowercased words of a text, contractions opened ("isn't" -> "is not", "she's" -> "she").

    With boundaries=True punctuation that ends a clause comes back as "|".
    """
    contractions, bare_contractions, at_start, fillers, not_before, verbs_after, not_after = _contractions()
    normalised = normalise(text)
    if not boundaries and "'" not in normalised and normalised.isascii():
        # most texts: the words are the runs of letters and digits, split at everything else (what
        # _TOKEN finds, without a regular expression: a third of the time)
        tokens = normalised.translate(_ASCII_NOT_IN_WORDS).split()
        if bare_contractions.keys().isdisjoint(tokens) and at_start.keys().isdisjoint(tokens):
            return tokens  # no contraction to open
    tokens = _TOKEN.findall(normalised)
    out: list[str] = []
    watch = not at_start.keys().isdisjoint(tokens)  # where clauses start matters only then
    clause_start = True
    for i, tok in enumerate(tokens):
        if not tok[0].isalnum():
            if boundaries and tok in ".,;:!?" and (not out or out[-1] != _BOUNDARY):
                out.append(_BOUNDARY)
            clause_start = clause_start or tok in ".,;:!?"
            continue
        if watch:
            opening, clause_start = clause_start, clause_start and tok in fillers
            if tok in at_start:
                # (a word alone, such as the safety rules' trigger "ill", is the English word)
                after = next((t for t in tokens[i + 1:i + 4] if t[0].isalnum()), "")
                if (after and after not in not_before and opening) or _before_a_verb(tokens, i, verbs_after, not_after):
                    out.extend(at_start[tok])
                    continue
        if tok in bare_contractions:
            out.extend(bare_contractions[tok])
            continue
        if "'" in tok:
            if tok in contractions:
                out.extend(contractions[tok])
                continue
            base, _, suffix = tok.partition("'")
            if tok.endswith("n't"):
                out.extend([tok[:-3], "not"])
                continue
            tok = base if suffix in {"s", "re", "ve", "ll", "d", "m", "t"} else base + suffix
        out.append(tok)
    return out


_ASKING_SUBJECTS = frozenset({"i", "you", "u", "we", "ya"})


def _before_a_verb(tokens: list[str], i: int, verbs: frozenset[str], not_after: frozenset[str]) -> bool:
    """Whether tokens[i] ("ill", "id") stands right before one of the verbs, after no word that makes
    it the English word (nor a noun with "'s": "the kid's ill"), and not opening a question ("ill
    do i..." is "ill. do i...")."""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if nxt not in verbs or (nxt == "do" and i + 2 < len(tokens) and tokens[i + 2] in _ASKING_SUBJECTS):
        return False
    before = tokens[i - 1] if i and tokens[i - 1][0].isalnum() else ""
    return before not in not_after and not before.endswith(("'s", "’s"))


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from a to b, no letter edited twice
    (optimal string alignment). Written out because importing nltk for it costs about a second."""
    prev2, prev = [], list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[len(b)]


_INFLECTIONS = ("ings", "ing", "edly", "ed", "es", "s", "ly", "er", "est")  # "er", "est": "gentler", "firmest"
CACHE_LIMIT = 4096  # words remembered per analyzer cache: a long batch of odd words never grows memory
# A typed word this long may hold two slips ("excema" for "eczema"), matched at a cutoff this much
# lower; a shorter word one slip ("bloke" stays itself rather than becoming "broke").
TWO_SLIPS_FROM_LENGTH = 6
TWO_SLIPS_CUTOFF_DROP = 0.05


def _remember(cache: dict[str, str], key: str, value: str) -> None:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value


@functools.cache
def everyday_words() -> frozenset[str]:
    """Everyday English words (data/english_words.txt, from SCOWL): never taken for a slip of a
    guide's word. Read on the first word the guides do not know."""
    text = (DATA_DIR / "english_words.txt").read_text("utf-8")
    # one word a line after the comment lines that open the file: split at once (4x faster than
    # line by line, and this is read in a cold start)
    body = 0
    while text.startswith("#", body):
        body = text.find("\n", body) + 1 or len(text)
    return frozenset(text[body:].split())


def _thesaurus_doc() -> dict:
    from assistant.datafiles import load

    return load("thesaurus.toml")


@functools.cache
def _load_thesaurus() -> tuple[dict[tuple[str, ...], tuple[str, ...]], dict[str, list[str]], frozenset[str]]:
    doc = _thesaurus_doc()
    shorthand = {short: words(full) for short, full in doc.get("shorthand", {}).items()}
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    for canonical, variants in doc.get("synonyms", {}).items():
        for v in variants:
            table[tuple(words(v))] = (canonical,)
    for tag, phrases in doc.get("concepts", {}).items():
        for p in phrases:
            key = tuple(words(p))
            table[key] = key + (tag,)
    return table, shorthand, frozenset(doc.get("ages", {}).get("units", ()))


@dataclass
class Analyzer:
    """The one analyzer: turns text into index terms (and stem sequences for the safety rules).

    stop_words, dictionary and stems come from the index (see index.py); an Analyzer built
    without stems computes them with nltk as it goes. One with a stem table never imports nltk
    (about a second): a word not in it is an inflection of a word that is ("massaged"), or a word
    no passage holds, whose exact stem does not matter.
    """

    stop_words: frozenset[str]
    dictionary: frozenset[str] = frozenset()
    stems: dict[str, str] = field(default_factory=dict)
    spell_min_length: int = 5
    spell_cutoff: float = 0.85

    def __post_init__(self) -> None:
        self._thesaurus, self._shorthand, self._age_units = _load_thesaurus()
        lengths: dict[str, set[int]] = {}
        for phrase in self._thesaurus:
            if len(phrase) > 1:
                lengths.setdefault(phrase[0], set()).add(len(phrase))
        # each word that starts a phrase of several words, with those phrases' lengths, longest first
        self._phrase_lengths = {w: tuple(sorted(ns, reverse=True)) for w, ns in lengths.items()}
        self._single_words = {k[0]: v for k, v in self._thesaurus.items() if len(k) == 1}
        self._entry_starts = frozenset(self._single_words) | frozenset(self._phrase_lengths)
        self._stemmer = None
        # what queries add: bounded, and never written into the index's own tables
        self._unknown_stems: dict[str, str] = {}
        self._corrections: dict[str, str] = {}
        self._sequences: dict[str, list[str]] = {}
        self._buckets: dict[tuple[int, str, int], tuple | None] = {}  # _letter_counts

    @functools.cached_property
    def _by_letter(self) -> dict[tuple[int, str, int], list[str]]:
        """The dictionary's words by their first and by their second letter (and length): a slip
        keeps one of them (a swap of the two is caught on its own), so a correction compares a word
        with those words only, not with the whole dictionary (which grows with the corpus). Made
        for the first word that needs correcting, not when an index is opened."""
        by_letter: dict[tuple[int, str, int], list[str]] = {}
        for w in sorted(self.dictionary):
            for at in (0, 1):
                if len(w) > at:
                    by_letter.setdefault((at, w[at], len(w)), []).append(w)
        return by_letter

    # -- the steps -------------------------------------------------------
    def stem(self, word: str) -> str:
        stem = self.stems.get(word)
        if stem is not None:
            return stem
        stem = self._unknown_stems.get(word)
        if stem is None:
            if self.dictionary:
                stem = self._stem_of_inflection(word)
            else:
                if self._stemmer is None:
                    from nltk.stem.snowball import SnowballStemmer  # a bare analyzer (index build)

                    self._stemmer = SnowballStemmer("english")
                stem = self._stemmer.stem(word)
            _remember(self._unknown_stems, word, stem)
        return stem

    def _stem_of_inflection(self, word: str) -> str:
        """The stem of the known word this one inflects ("kneadings" -> "knead"), else the word."""
        for suffix in _INFLECTIONS:
            base = word[: -len(suffix)]
            if word.endswith(suffix) and len(base) >= 3:
                for known in (base, base + "e", base[:-1] if base[-1] == base[-2] else ""):
                    if known in self.stems:
                        return self.stems[known]
        return word

    def correct(self, word: str) -> str:
        """The dictionary word a misspelt word most likely meant, or the word itself."""
        if (word in self.dictionary or len(word) < self.spell_min_length or not word.isalpha()
                or not self.dictionary or self._inflects_a_known_word(word)):
            return word
        if word in self._corrections:
            return self._corrections[word]
        if word in everyday_words():
            return word  # "boil" is a word of its own, not a slip for "oil"
        # two letters swapped ("stnad") is the commonest slip and difflib rates it low (0.8)
        swapped = [s for s in (word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1))
                   if s in self.dictionary]
        two_slips = len(word) >= TWO_SLIPS_FROM_LENGTH
        # a longer word may hold two slips ("excema"), which difflib rates below the cutoff a
        # one-slip short word needs
        cutoff = self.spell_cutoff - TWO_SLIPS_CUTOFF_DROP if two_slips else self.spell_cutoff
        close = swapped + difflib.get_close_matches(word, self._pool(word, cutoff), n=3, cutoff=cutoff)
        # a typo is one slip in a short word, two in a long one ("single" is not "shingles"); a
        # stop word is only made from a word of five letters or more, with one slip ("offen" ->
        # "often", but "town" is not "own" and "weather" is not "whether")
        close = [c for c in close
                 if (c not in self.stop_words or len(word) >= 5)
                 and edit_distance(word, c) <= (2 if two_slips and c not in self.stop_words else 1)]
        corrected = close[0] if close else word
        _remember(self._corrections, word, corrected)
        return corrected

    def _pool(self, word: str, cutoff: float) -> list[str]:
        """The dictionary words difflib may find close to a word: those sharing its first or second
        letter, at most two letters longer or shorter (a correction beyond that is beyond the
        edit-distance limit), and whose letters overlap the word's enough for difflib's own
        quick_ratio to reach the cutoff (the same sum, over letter counts kept as arrays: what
        get_close_matches finds is unchanged, at a fraction of the cost on a large dictionary)."""
        keys = [(at, word[at], n) for at in (0, 1) for n in range(len(word) - 2, len(word) + 3)]
        if not _PLAIN.fullmatch(word):
            return sorted({w for key in keys for w in self._by_letter.get(key, ())})
        import numpy as np

        mine = np.bincount(np.frombuffer(word.encode("ascii"), dtype=np.uint8) - 97, minlength=26).astype(np.int8)
        pool: set[str] = set()
        for key in keys:
            bucket = self._letter_counts(key)
            if bucket is None:
                continue
            words, counts, lengths, others = bucket
            matches = np.minimum(counts, mine).sum(axis=1)
            pool.update(words[i] for i in np.flatnonzero(2.0 * matches / (len(word) + lengths) >= cutoff))
            pool.update(others)
        return sorted(pool)

    def _letter_counts(self, key: tuple[int, str, int]):
        """A _by_letter bucket's plain words with their letter counts and lengths (made once, when a
        correction first needs it), and its other words (compared whatever their letters)."""
        if key not in self._buckets:
            words = self._by_letter.get(key)
            if not words:
                self._buckets[key] = None
            else:
                import numpy as np

                plain = [w for w in words if _PLAIN.fullmatch(w)]
                lengths = np.fromiter(map(len, plain), dtype=np.int64, count=len(plain))
                counts = np.zeros((len(plain), 26), dtype=np.int8)
                codes = np.frombuffer("".join(plain).encode("ascii"), dtype=np.uint8) - 97
                np.add.at(counts, (np.repeat(np.arange(len(plain)), lengths), codes), 1)
                self._buckets[key] = (plain, counts, lengths, [w for w in words if not _PLAIN.fullmatch(w)])
        return self._buckets[key]

    def _inflects_a_known_word(self, word: str) -> bool:
        """'pains' is 'pain' + s, not a slip for 'pins': the stemmer will meet it with 'pain'."""
        return any(word.endswith(suffix) and word[: -len(suffix)] in self.dictionary
                   for suffix in ("s", "es", "ed", "d", "ing", "ly"))

    def _apply_thesaurus(self, seq: list[str]) -> list[str]:
        """The words with the thesaurus's phrases replaced, the longest first, left to right. Only the
        words some entry starts are looked at; the runs between are copied as they are."""
        single, lengths, thesaurus = self._single_words, self._phrase_lengths, self._thesaurus
        out, i = [], 0
        for start in compress(count(), map(self._entry_starts.__contains__, seq)):  # where an entry may start
            if start < i:
                continue  # within a phrase already replaced
            out += seq[i:start]
            word = seq[start]
            for n in lengths.get(word, ()):  # only the lengths of the phrases this word starts, longest first
                replacement = thesaurus.get(tuple(seq[start:start + n])) if start + n <= len(seq) else None
                if replacement is not None:
                    out.extend(replacement)
                    i = start + n
                    break
            else:
                out.extend(single.get(word, (word,)))
                i = start + 1
        out += seq[i:]
        return out

    def corrected_words(self, text: str) -> list[str]:
        """Words after shorthand and spelling correction only ("mnoths" -> "months"): the words the
        patterns of the data files can read as typed (no thesaurus: "sore" stays "sore")."""
        shorthand, known = self._shorthand, self.dictionary
        said = [full for w in words(text) for full in shorthand.get(w, (w,))]
        return [w if w in known else self.correct(w) for w in said]

    def canonical_words(self, text: str, boundaries: bool = False) -> list[str]:
        """Words after shorthand ("hw", "shld"), spelling correction and the thesaurus (stop words kept)."""
        shorthand, known = self._shorthand, self.dictionary
        said = words(text, boundaries=boundaries)
        spelled = said if shorthand.keys().isdisjoint(said) else [full for w in said for full in shorthand.get(w, (w,))]
        # (an ASCII text with no digit has no number among its words; NFKC makes "²" a "2")
        if (not text.isascii() or _ASCII_DIGIT.search(text)) and any(w.isdigit() for w in spelled):
            # a person's age ("my 15 year old son") is no topic: "15" would meet "10 to 15 minutes"
            spelled = [w for w, after in zip(spelled, spelled[1:] + [""]) if not (w.isdigit() and after in self._age_units)]
        if not known.issuperset(spelled):  # a word to correct (never at build time: the passages made the dictionary)
            spelled = [w if w == _BOUNDARY or w in known else self.correct(w) for w in spelled]
        return self._apply_thesaurus(spelled)

    # -- what the rest of the package uses --------------------------------
    def terms(self, text: str) -> list[str]:
        """Index terms: canonical words minus stop words, stemmed."""
        return self.terms_of(self.canonical_words(text))

    def terms_of(self, canonical: list[str]) -> list[str]:
        """The index terms of a text's canonical words (for a caller that needs both)."""
        stems, stops = self.stems, self.stop_words
        return [stems.get(w) or self.stem(w) for w in canonical if w not in stops]

    def stem_sequence(self, text: str) -> list[str]:
        """Every word stemmed, stop words and clause boundaries ("|") kept: for phrase rules."""
        known = self._sequences.get(text)
        return list(known) if known is not None else self.stem_words(self.canonical_words(text, boundaries=True))

    def remember_sequences(self, sequences: dict[str, list[str]]) -> None:
        """stem_sequence's results for texts an index build analysed with this analyzer (the
        safety rules' thousands of phrases, a tenth of a cold start to analyse again)."""
        self._sequences.update(sequences)

    def stem_words(self, canonical: list[str]) -> list[str]:
        """`canonical_words(..., boundaries=True)` stemmed, position for position."""
        return [w if w == _BOUNDARY else self.stem(w) for w in canonical]

    def thesaurus_words(self) -> set[str]:
        found: set[str] = set()
        for key, value in self._thesaurus.items():
            found.update(key)
            found.update(value)
        return found


def sklearn_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words (imported at build time only: the import is slow)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def stop_words() -> frozenset[str]:
    """The analyzer's stop words: scikit-learn's, adjusted by [stop_words] in data/thesaurus.toml
    (filler words people type that the guides never answer, and words that matter here)."""
    adjust = _thesaurus_doc().get("stop_words", {})
    return (sklearn_stop_words() - frozenset(adjust.get("keep", ()))) | frozenset(adjust.get("add", ()))


def stem_table(vocabulary: Iterable[str]) -> dict[str, str]:
    from nltk.stem.snowball import SnowballStemmer

    stemmer = SnowballStemmer("english")
    return {w: stemmer.stem(w) for w in vocabulary}


_EVERYDAY_STEMS: dict[str, str] = {}


def everyday_stems(cache_dir: str | None = None) -> dict[str, str]:
    """The Snowball stem of every everyday word: the same for every build, so computed once per
    process and kept in `cache_dir` (a JSON file named by the word list and nltk's version;
    a file that does not read back whole is computed again)."""
    if not _EVERYDAY_STEMS:
        _EVERYDAY_STEMS.update(_everyday_stems(cache_dir))
    return _EVERYDAY_STEMS


def _everyday_stems(cache_dir: str | None) -> dict[str, str]:
    import hashlib
    import json

    import nltk

    words_ = everyday_words()
    key = hashlib.sha256(("\n".join(sorted(words_)) + nltk.__version__).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"everyday-stems-{key}.json" if cache_dir else None
    if path is not None:
        try:
            cached = json.loads(path.read_text("utf-8"))
            if isinstance(cached, dict) and len(cached) == len(words_):
                return cached
        except (OSError, ValueError):
            pass
    table = stem_table(words_)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(table), "utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs time
    return table


_PLAIN = re.compile(r"[a-z]+")  # a word whose letters spelling correction counts as arrays (Analyzer._pool)


# -- sentences --------------------------------------------------------------------
_LIST_MARK = re.compile(r"^\s*(?:[\u2022\u2023\u25aa\u25cf\u2013\u2014*\-]\s+|\d{1,2}[.)]\s+|(?:Ans|A)\s*[:;]\s*)")


_SENTENCE_ENDS = ".?!"  # Punkt's sentence-ending marks (nltk's PunktLanguageVars.sent_end_chars)


def punkt_tokenizer():
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    return PunktSentenceTokenizer()


# the marks that end a line's last sentence, with any closing quotes or brackets after them
_FINAL_MARKS = re.compile(r"(?:[.?!]|\.{2,})[\"'\u201d\u2019)\]]*\s*$")  # Punkt parts "Stop!!" and "x?!"


# A break untrained Punkt always makes: a word of two or more letters and one sentence-ending mark,
# white space, then a capitalised word (with no abbreviations learned, nothing else applies there).
_CERTAIN_BREAK = re.compile(r"(?<![^\s\"'(\u201c\u2018])[A-Za-z]{2,}[.?!](\s+)(?=[A-Z][a-z])")


def _line_sentences(line: str, tokenizer) -> list[tuple[int, int]]:
    """Punkt's sentence spans of a line. The line is first cut where Punkt always breaks; a piece
    with no sentence-ending mark but at its end is one sentence without its trailing white space,
    as Punkt finds it, found without asking Punkt (Punkt was most of the time a build spent
    splitting); Punkt reads the others."""
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in _CERTAIN_BREAK.finditer(line):
        spans += _piece_sentences(line, start, cut.start(1), tokenizer)
        start = cut.end(1)
    return spans + _piece_sentences(line, start, len(line), tokenizer)


def _piece_sentences(line: str, start: int, end: int, tokenizer) -> list[tuple[int, int]]:
    piece = line[start:end]
    final = _FINAL_MARKS.search(piece)
    head = piece[:final.start()] if final else piece
    if any(mark in head for mark in _SENTENCE_ENDS):
        return [(start + s, start + e) for s, e in tokenizer.span_tokenize(piece)]
    stop = len(piece.rstrip())
    return [(start, start + stop)] if stop else []


def sentence_spans(text: str, start: int, end: int, tokenizer=None) -> Iterator[tuple[int, int]]:
    """Sentence offsets in text[start:end], one line at a time: a bullet, a numbered step or an
    "Ans:" line is never joined to its neighbours, and its list mark is left out of the sentence."""
    tokenizer = tokenizer or punkt_tokenizer()
    for m in re.finditer(r"[^\n]+", text[start:end]):
        line_start = start + m.start()
        line = m.group()
        lead = _LIST_MARK.match(line)
        skip = lead.end() if lead else len(line) - len(line.lstrip())
        body = line[skip:]
        for s, e in _line_sentences(body, tokenizer):
            # emoji bullets and other symbols in front of a sentence are not part of it
            while s < e and not (body[s].isalnum() or body[s] in "\"'(\u201c\u2018"):
                s += 1
            s0 = line_start + skip + s
            e0 = line_start + skip + e
            if any(ch.isalnum() for ch in text[s0:e0]):
                yield s0, e0
