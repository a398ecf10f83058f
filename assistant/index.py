"""The built index: build it from a corpus folder, save it as numpy/JSON files, load it, and
notice when it is stale (corpus, data files, index settings or package version changed).

Files in the index folder (nothing here is pickled; nothing can run code when loaded), each named
by its build's generation (passage_table.<generation>.npy), so a build that dies half-way leaves the
files the manifest names untouched:
  manifest.json   fingerprint, version, counts, the size and modification time of every corpus file
                  it was built from, and the file, size, modification time and sha256 of each part
                  (written last)
  .lock           flock'd while the index is built (exclusive) or read (shared)
  passage_texts.npy, passage_text_ends.npy       every passage's text, one UTF-8 byte array,
                  and where each text ends in it
  passage_strings.npy, passage_string_ends.npy   the same for every passage's id, guide, title,
                  section and group (and the text of a sentence its passage's text does not hold)
  passage_table.npy, sentence_spans.npy          each passage's offsets and first string and
                  sentence; each sentence's offsets in its guide and in its passage's text
  analysis.json   stop words, spelling dictionary, stem table, vocabulary, where each safety quote stands
  bm25_*.npy, tfidf_*.npy, faq_*.npy   the retrievers' weights and the distinct FAQ questions' vectors
                  (column matrices: data, indices, indptr), bm25_idf.npy, tfidf_idf.npy, faq_rows.npy
                  (each passage's FAQ question)
  lsa_components.npy, lsa_docs.npy     the latent space (TruncatedSVD of the TF-IDF matrix)
  router.json, router.npz, lifts.npz   the intent model; the passages each intent lifts
The .npy files are memory-mapped when loaded: opening an index reads (and checks) its files, but
builds nothing from them except the analysis tables; a passage is made when it is asked for.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import mmap
import os
import re
import threading
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no locking
    fcntl = None

from assistant import __version__
from assistant.config import APP_NAME, Config
from assistant.corpus import (CorpusError, Guide, build_passages, corpus_stamp, is_faq_question, load_guides,
                             shipped_corpus_dir)
from assistant.datafiles import DATA_DIR
from assistant.datafiles import load as load_data
from assistant.datafiles import snapshot as data_snapshot
from assistant.datafiles import trust as trust_data
from assistant.parallel import Background, map_chunks, release_free_memory, shared_array
from assistant.passages import (PASSAGE_STRINGS, StoredPassages, Strings, passage_field, passage_headings,
                                passage_texts)
from assistant.patterns import lowercase_is_faithful, required_strings
from assistant.retrieval import (Bm25Retriever, Columns, LsaRetriever, PostingScores, TermCounts, TfidfRetriever,
                                 lexical_scores, scores_at, term_counts, top_k)
from assistant.router import EXAMPLES_FILE, INTENTS_FILE, IntentRouter, labelled_examples, load_intents
from assistant.schema import Hit, Passage
from assistant.text import Analyzer, everyday_stems, stem_table, stop_words, words

FORMAT = 9  # 2: manifest.json holds the size and sha256 of every file; 3: files named by generation;
# 4: passages and matrices as memory-mappable .npy files; 5: the names of people and body areas are known words;
# 6: the safety quotes located at build (analysis.json quote_places); 7: FAQ vectors per distinct question (faq_rows.npy);
# 8: analysis.json keeps the data files as checked (data_files) and the safety phrases analysed (phrase_stems);
# 9: a sentence is kept as where it stands in its passage's text, not as its text again (sentence_spans.npy: 4 columns)
DATA_FILES = ("cleaning.toml", "thesaurus.toml", INTENTS_FILE, "safety.toml", "conditions.toml", "language.toml",
              "english_words.txt", EXAMPLES_FILE)
STRING_FILES = {"passage_texts.npy": "passage_text_ends.npy", "passage_strings.npy": "passage_string_ends.npy"}
MATRICES = ("bm25", "tfidf", "faq")  # each saved as <name>_data.npy, <name>_indices.npy, <name>_indptr.npy
MAPPED = ("passage_texts.npy", "passage_text_ends.npy", "passage_strings.npy", "passage_string_ends.npy",
          "passage_table.npy", "sentence_spans.npy",
          *(f"{m}_{part}.npy" for m in MATRICES for part in ("data", "indices", "indptr")),
          "bm25_idf.npy", "tfidf_idf.npy", "lsa_components.npy", "lsa_docs.npy", "faq_rows.npy")
FILES = ("analysis.json", "lifts.npz", "router.json", "router.npz", *MAPPED)
FORMER_FILES = ("passages.json", "bm25.npz", "tfidf.npz", "lsa.npz", "faq.npz")  # format 3's, removed by a new build


class IndexError_(Exception):
    """An index folder that cannot be used (unreadable, from another version, half-written)."""


@dataclass
class Index:
    """Passages, the analyzer that made their terms, both retrievers and the intent model."""

    passages: Sequence[Passage]  # a list when built in one process; StoredPassages when loaded or built in several
    analyzer: Analyzer
    vocabulary: dict[str, int]
    bm25: Bm25Retriever
    tfidf: TfidfRetriever
    lsa: LsaRetriever
    router: IntentRouter
    manifest: dict
    bm25_weight: float = 0.5
    semantic_weight: float = 0.0
    # precomputed at build: the guides' FAQ questions in the intent model's space (one row per
    # passage, empty unless it answers a FAQ question), and the passages each intent (and sense) lifts
    faq: Columns | None = None  # the distinct FAQ questions x the intent model's features
    lifts: dict[str, np.ndarray] = field(default_factory=dict)
    # where each safety rule's quote stands ([passage number, start, end]; None where the corpus lacks it)
    quote_places: dict[str, list[int] | None] | None = None
    faq_rows: np.ndarray | None = None  # each passage's row of `faq` (the FAQ question it answers; 0: none)
    _lexical_memo: dict = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property
    def passage_numbers(self) -> dict[str, int]:
        """Each passage's number (its row in the score arrays) by its id, made when first asked for."""
        return {pid: i for i, pid in enumerate(passage_field(self.passages, "id"))}

    def query_ids(self, text: str) -> list[int]:
        return [i for i in (self.vocabulary.get(t) for t in self.analyzer.terms(text)) if i is not None]

    def score(self, text: str, mode: str = "hybrid", semantic: bool = True, k: int | None = None,
              boost: np.ndarray | None = None, keep: Iterable[int] = ()
              ) -> tuple[np.ndarray, dict[str, np.ndarray | PostingScores]]:
        """Every passage's score for a query under a mode, and each retriever's own scores (in
        hybrid mode BM25's and TF-IDF's as the question's postings: see PostingScores).

        Hybrid: the lexical score (BM25 scaled by its best possible value, blended with the TF-IDF
        cosine; part "lexical") plus semantic_weight x its best value x the LSA cosine, so the
        latent space reorders passages the words already found and never outweighs them. It is
        scaled by the idf-weighted share of the query's terms the corpus knows at all (an unknown
        term weighs as much as the rarest known one), so "best sushi in town" does not look like
        a good match because one common word is known; that scale is the same for every passage:
        it changes the confidence (the best "lexical" score), never the ranking.

        With k, the latent space's cosine is computed only for the passages that can still be among
        the k best once scaled by `boost` (and for those numbered in `keep`): a passage whose
        lexical score plus the most the latent space can add stays below the k-th best lexical
        score cannot. The others keep their lexical score (and an "lsa" of 0): the k best are
        exactly those of the full scores, at a small share of the cost on a large corpus.
        """
        lexical, parts, most, within = self._parts(text, mode, semantic, k, boost, keep)
        return _combined(lexical, parts, most, within), parts

    def search_parts(self, text: str, mode: str = "hybrid", k: int = 10, boost: np.ndarray | None = None,
                     keep: Iterable[int] = ()) -> tuple[list[Hit], dict[str, np.ndarray | PostingScores]]:
        """The k best passages with a positive score (as `search`), and each retriever's own scores
        (as `score` gives them). In hybrid mode only the passages that can reach the top k are
        scored and ranked (see `score`): at a million passages, two passes over every passage fewer."""
        lexical, parts, most, within = self._parts(text, mode, True, k, boost, keep)
        if within is None:
            return self.rank(_combined(lexical, parts, most, within), parts, k, boost), parts
        final = lexical[within] + most * parts["lsa"][within]
        if boost is not None:
            final = final * boost[within]
        at = top_k(final, k)  # positions in `within`, which is in passage order: ties fall as over every passage
        return self._hits(within[at], final[at], parts), parts

    def _parts(self, text: str, mode: str, semantic: bool, k: int | None, boost: np.ndarray | None,
               keep: Iterable[int]) -> tuple[np.ndarray, dict[str, np.ndarray | PostingScores], float, np.ndarray | None]:
        """The lexical scores, each retriever's own, the most the latent space can add, and the
        passages it was read for (None: all of them, or it was not read)."""
        if mode != "hybrid":  # one retriever's own scores (KeyError for a mode there is none of)
            scores = {"bm25": self.bm25, "tfidf": self.tfidf}[mode].scores(self.query_ids(text))
            return scores, {mode: scores}, 0.0, None
        ids, lexical_parts = self._lexical(text)
        parts = dict(lexical_parts)  # bm25, tfidf, lexical (the remembered dict stays as it is)
        lexical = parts["lexical"]
        if semantic and self.semantic_weight > 0 and ids:
            most = self.semantic_weight * float(lexical.max())  # the latent space adds at most this
            within = None if k is None else _can_reach_top(lexical, most, k, boost, keep)
            parts["lsa"] = self.lsa.scores(*self.tfidf.query_weights(ids), within)
            return lexical, parts, most, within
        return lexical, parts, 0.0, None

    def _lexical(self, text: str) -> tuple[list[int], dict[str, np.ndarray | PostingScores]]:
        """A query's term ids and its BM25, TF-IDF and fused lexical scores (read-only):
        remembered for the last few queries, as a question is scored by the understanding stage
        and again by retrieval."""
        remembered = self._lexical_memo.get(text)
        if remembered is not None:
            return remembered
        terms = self.analyzer.terms(text)
        ids = [i for i in (self.vocabulary.get(t) for t in terms) if i is not None]
        known = float(np.sum(self.tfidf.idf_[ids])) if ids else 0.0
        unknown = (len(terms) - len(ids)) * float(self.tfidf.idf_.max())
        coverage = known / (known + unknown) if known + unknown > 0 else 0.0
        parts = lexical_scores(self.bm25, self.tfidf, ids, self.bm25_weight, coverage)
        for part in parts.values():
            for array in (part.rows, part.values, part.lengths) if isinstance(part, PostingScores) else (part,):
                array.flags.writeable = False
        if len(self._lexical_memo) >= 4:
            self._lexical_memo.pop(next(iter(self._lexical_memo)))
        self._lexical_memo[text] = ids, parts
        return ids, parts

    def best_lexical(self, text: str) -> float:
        """The best lexical hybrid score of any passage for a query: how well the guides' words
        meet it (the scope decision's evidence), whatever the retrieval mode."""
        lexical = self.score(text, "hybrid", semantic=False)[1]["lexical"]
        return float(lexical.max()) if lexical.size else 0.0

    def search(self, text: str, mode: str = "hybrid", k: int = 10, boost: np.ndarray | None = None) -> list[Hit]:
        """The k best passages with a positive score (a zero-score passage is never returned)."""
        return self.search_parts(text, mode, k, boost)[0]

    def rank(self, scores: np.ndarray, parts: dict[str, np.ndarray | PostingScores], k: int = 10,
             boost: np.ndarray | None = None) -> list[Hit]:
        """Hits from scores already computed by `score`."""
        if boost is not None:
            scores = scores * boost
        top = top_k(scores, k)
        return self._hits(top, scores[top], parts)

    def _hits(self, numbers: np.ndarray, scores: np.ndarray, parts: dict[str, np.ndarray | PostingScores]) -> list[Hit]:
        shown = {name: scores_at(s, numbers) for name, s in parts.items()}
        return [Hit(self.passages[int(i)], n + 1, float(scores[n]), {name: float(s[n]) for name, s in shown.items()})
                for n, i in enumerate(numbers)]


def _combined(lexical: np.ndarray, parts: dict[str, np.ndarray | PostingScores], most: float,
              within: np.ndarray | None) -> np.ndarray:
    """Every passage's score: its lexical score plus up to `most` for its latent-space cosine, where
    that was read (`within`; None: everywhere it was, or nowhere when there is no "lsa" part)."""
    if "lsa" not in parts:
        return lexical
    if within is None:
        return lexical + most * parts["lsa"]
    scores = lexical.copy()  # the latent space adds only where it was read
    scores[within] += most * parts["lsa"][within]
    return scores


def _can_reach_top(lexical: np.ndarray, most: float, k: int, boost: np.ndarray | None,
                   keep: Iterable[int]) -> np.ndarray | None:
    """The numbers of the passages whose score (lexical + up to `most`, times the boost) can reach
    the k-th best lexical score (times the boost), and of `keep`; None when that is nearly all of them.
    (Each step is a pass over every passage: at a million, a millisecond or two each.)"""
    low = lexical if boost is None else lexical * boost
    scored = np.flatnonzero(low > 0)  # selecting among these only: a million zeros make np.partition slow (30 ms)
    if k <= 0 or scored.size < k:
        return None
    values = low[scored]
    kth = float(np.partition(values, values.size - k)[values.size - k])
    # the margin keeps a passage a rounding error would put a hair below the bound
    if boost is None:
        if kth - most - 1e-9 <= 0:
            return None  # a passage no word of the question meets could still reach the top: all of them
        within = scored[lexical[scored] >= kth - most - 1e-9]
    elif most * float(boost.max()) >= kth - 1e-9:
        within = np.flatnonzero((lexical + most) * boost >= kth - 1e-9)  # the same test over every passage
    else:  # no passage without a lexical score can reach: the test over the scored ones only
        within = scored[(lexical[scored] + most) * boost[scored] >= kth - 1e-9]
    extra = np.array(sorted(set(keep)), dtype=np.int64)
    if extra.size:  # added where missing (np.unique and np.union1d would import numpy.ma: 15 ms of a cold start)
        at = np.minimum(np.searchsorted(within, extra), max(0, within.size - 1))
        missing = extra if within.size == 0 else extra[within[at] != extra]
        within = np.sort(np.concatenate([within, missing]))
    return None if within.size > len(lexical) // 2 else within


# -- where things are -----------------------------------------------------------------
def default_corpus_dir() -> Path:
    env = os.environ.get("MASSAGE_QA_CORPUS")
    return Path(env) if env else shipped_corpus_dir()


def _cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


def _writable(folder: Path) -> bool:
    probe = Path(folder).resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return os.access(probe, os.W_OK)


def _cache_index_dir(corpus_dir: Path) -> Path:
    corpus_dir = Path(corpus_dir).resolve()
    key = hashlib.sha256(str(corpus_dir).encode()).hexdigest()[:12]
    return _cache_dir() / f"index-{corpus_dir.name}-{key}"


def default_index_dir(corpus_dir: Path) -> Path:
    """index/ of the checkout for the shipped guides; otherwise a folder in the user's cache
    directory, one per corpus folder (also when index/ cannot be written)."""
    env = os.environ.get("MASSAGE_QA_INDEX")
    if env:
        return Path(env)
    corpus_dir = Path(corpus_dir).resolve()
    checkout_index = Path(__file__).resolve().parent.parent / "index"
    if corpus_dir == (checkout_index.parent / "corpus").resolve() and checkout_index.is_dir() and _writable(checkout_index):
        return checkout_index
    return _cache_index_dir(corpus_dir)


# -- fingerprint --------------------------------------------------------------------
def settings_fingerprint(config: Config) -> str:
    """What an index depends on besides the guides: its format, the package version, the index
    settings and the data files."""
    h = hashlib.sha256()
    h.update(f"format={FORMAT} version={__version__}\n".encode())
    h.update(json.dumps(config.index_settings(), sort_keys=True).encode())
    for name in DATA_FILES:
        h.update(name.encode() + b"\0" + (DATA_DIR / name).read_bytes())
    return h.hexdigest()


def fingerprint(guides: list[Guide], config: Config) -> str:
    h = hashlib.sha256()
    h.update(settings_fingerprint(config).encode())
    for g in guides:
        h.update(g.name.encode() + b"\0" + g.title.encode() + b"\0" + repr(g.outline).encode() + b"\0"
                 + repr((g.drop_lines, g.not_answers)).encode() + b"\0"
                 + g.text.encode("utf-8"))
    return h.hexdigest()


# -- build ----------------------------------------------------------------------------
def _known_words(analyzer: Analyzer, passages: Sequence[Passage], workers: int = 1) -> tuple[set[str], set[str]]:
    """(spelling dictionary, every word whose stem is precomputed)."""
    from assistant.safety import trigger_texts

    dictionary: set[str] = set(analyzer.stop_words)
    sections = set(passage_field(passages, "section"))
    dictionary.update(w for section in sections for w in words(section))

    def words_of(rows: range) -> set[str]:
        return {w for text in passage_field(passages, "text", rows.start, rows.stop) for w in words(text)}

    for some in map_chunks(words_of, range(len(passages)), workers):
        dictionary.update(some)
    dictionary.update(analyzer.thesaurus_words())
    for text in trigger_texts():
        dictionary.update(words(text))
    # the names the message stage knows people and body areas by ("missus", "hubby") are words, not slips
    language = load_data("language.toml")
    for table in ("people", "areas"):
        dictionary.update(w for phrases in language[table].values() for phrase in phrases for w in words(phrase))
    # so are the small-talk words the replies are chosen by ("grazie" is thanks, not a slip for "graze")
    intents = load_intents()
    dictionary.update(w for spec in intents.values() for _, phrases in spec.replies for phrase in phrases
                      for w in words(phrase))
    known = set(dictionary)
    for spec in intents.values():
        for example in spec.examples + spec.cues:
            known.update(words(example))
    return {w for w in dictionary if w.isalpha()}, known


def index_text(p: Passage) -> str:
    """What a passage is indexed by: its group and section headings (the section's unless it
    already opens the text) and its text."""
    return _index_text(p.group, p.section, p.text)


def _index_text(group: str, section: str, text: str) -> str:
    heading = "" if text.startswith(section) else section
    return "\n".join(part for part in (group, heading, text) if part)


def _index_texts(passages: Sequence[Passage], rows: range) -> list[str]:
    """index_text of the passages numbered in rows (stored passages' without making them)."""
    return list(map(_index_text, *(passage_field(passages, name, rows.start, rows.stop)
                                   for name in ("group", "section", "text"))))


def build(corpus_dir: Path, config: Config, guides: list[Guide] | None = None, known_fingerprint: str = "",
          notify: Callable[[str], None] = lambda message: None) -> Index:
    """The index of a corpus folder, from its guides (`guides`: loaded by the caller, or read here;
    `known_fingerprint`: their fingerprint, when the caller has it already: hashing a large corpus
    again is half a second at a million passages). The list is emptied once the guides are split: a large
    corpus's text (as large again as its passages) is not held through the rest of the build.
    A large corpus's build (one split over processes: minutes at a million passages) says each
    stage through `notify` as it starts, with the time so far."""
    import scipy.linalg  # noqa: F401  (scipy's own BLAS, loaded now: a limit set before it loads would miss it)
    from threadpoolctl import threadpool_limits

    # The fits are small; on a shared 2-core machine threaded BLAS spends longer waiting than working
    # (the intent model's L-BFGS took 8 s threaded, 0.3 s on one thread, to the same coefficients; the
    # latent space of 100k passages, fitted beside the rest of the build, 12.6 s of CPU, 10.2 s on one).
    with threadpool_limits(1):
        return _build(corpus_dir, config, guides if guides is not None else load_guides(corpus_dir), known_fingerprint,
                      notify)


def _build(corpus_dir: Path, config: Config, guides: list[Guide], known_fingerprint: str,
           notify: Callable[[str], None]) -> Index:
    workers = build_workers(guides, config)
    started = time.perf_counter()

    def stage(what: str) -> None:
        if workers > 1:
            notify(f"[{time.perf_counter() - started:4.0f} s] {what}")

    stage(f"splitting {len(guides):,} guides ({sum(len(g.text) for g in guides) / 1e6:,.0f} MB of text) into passages "
          f"on {workers} processes")
    manifest = {
        "format": FORMAT, "version": __version__, "fingerprint": known_fingerprint or fingerprint(guides, config),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "corpus": str(Path(corpus_dir).resolve()),
        "guides": [{"name": g.name, "title": g.title, "not_answers": list(g.not_answers)} for g in guides],
    }
    passages = build_passages(guides, config.passages_max_words, workers)
    guides.clear()
    release_free_memory()
    if not len(passages):
        raise CorpusError(f"no passages in {corpus_dir}: its guides have no text to answer from once headings "
                          f"and boilerplate are removed (add guides with paragraphs of text)")
    stage(f"analysing the words of {len(passages):,} passages")
    analyzer, vocabulary, bm25, tfidf = _fit_lexical(passages, config, workers)
    release_free_memory()
    stage(f"fitting the latent space, the intent model, the FAQ questions and the intents' lifts "
          f"({len(vocabulary):,} terms)")
    lsa = LsaRetriever(config.lsa_components, config.lsa_exact_max_cells, config.lsa_fit_max_passages)
    # a large corpus's latent space (one core's work for a while) is fitted in a process of its own
    # while this one fits the intent model and searches the passages for the intents' patterns
    rank, (rows, terms) = lsa.rank(tfidf), tfidf.weights_.shape
    space = (shared_array((rank, terms)), shared_array((rows, rank)))

    def fit_space() -> dict[str, np.ndarray]:
        lsa.fit(tfidf, into=space)
        return {}  # written where this process reads it: nothing to send

    with Background(fit_space, fork=workers > 1) as fitting:
        intents = load_intents()
        pairs = [(e, spec.name) for spec in intents.values() for e in spec.examples] + labelled_examples(intents)
        texts, labels = [t for t, _ in pairs], [label for _, label in pairs]
        router = IntentRouter(C=config.router_C).fit(analyzer, texts, labels)
        faq, faq_rows = faq_vectors(router, passages, workers)
        lifts = intent_masks(intents, passages, workers)
        # while the latent space is still being fitted: this process would otherwise only wait for it
        stage("placing the safety rules' quotes")
        places = _quote_places(passages, analyzer, vocabulary, bm25)
        fitting.result()
        lsa.use_arrays(*space)
    manifest.update(passages=len(passages), vocabulary=len(vocabulary))
    return Index(passages, analyzer, vocabulary, bm25, tfidf, lsa, router, manifest, config.retrieval_bm25_weight,
                 config.retrieval_semantic_weight, faq, lifts, places, faq_rows)


def _quote_places(passages: Sequence[Passage], analyzer: Analyzer, vocabulary: dict[str, int],
                  bm25: Bm25Retriever) -> dict[str, list[int] | None]:
    """Where each safety rule's quote is among the passages (safety.quote_places)."""
    from assistant.safety import quote_places

    texts: list[Strings] = []  # made only if a quote is not among the passages its terms name

    def holding(keys: list[str]) -> Iterator[int]:
        if not texts:
            texts.append(passage_texts(passages))
        return texts[0].holding(keys)

    return quote_places(passages, lambda quote: _holding_terms(bm25.weights_, vocabulary, analyzer.terms(quote)),
                        holding)


def _holding_terms(weights: Columns, vocabulary: dict[str, int], terms: list[str]) -> list[int]:
    """The passages holding every one of the terms, in order (their posting lists intersected)."""
    ids = [vocabulary.get(t) for t in dict.fromkeys(terms)]
    if not ids or None in ids:
        return []
    rows = None
    for i in sorted(ids, key=lambda i: weights.indptr[i + 1] - weights.indptr[i]):
        column = weights.indices[weights.indptr[i]:weights.indptr[i + 1]]
        rows = column if rows is None else np.intersect1d(rows, column, assume_unique=True)
    return rows.tolist()


def _fit_lexical(passages: Sequence[Passage], config: Config, workers: int
                 ) -> tuple[Analyzer, dict[str, int], Bm25Retriever, TfidfRetriever]:
    """The analyzer the passages' words make (spelling dictionary, stems), the vocabulary, and
    the BM25 and TF-IDF retrievers."""
    stops = stop_words()
    plain = Analyzer(stops)
    dictionary, known = _known_words(plain, passages, workers)
    stems = _stem_table(known, workers)
    # everyday words whose stem is one the project knows ("relaxes" -> "relax"): a question using
    # them then never needs nltk (see Analyzer.stem); the others cannot match a passage anyway
    domain = set(stems.values())
    stems.update((w, s) for w, s in everyday_stems(str(_cache_dir())).items() if s in domain and w not in known)
    analyzer = Analyzer(stops, frozenset(dictionary), stems, config.analysis_spell_min_length, config.analysis_spell_cutoff)
    vocabulary, counts = _analyse_passages(analyzer, passages, workers)
    bm25 = Bm25Retriever(config.bm25_k1, config.bm25_b, config.bm25_epsilon).fit_counts(counts)
    tfidf = TfidfRetriever(config.tfidf_sublinear_tf).fit_counts(counts)
    b, t = bm25.weights_, tfidf.weights_
    if np.array_equal(b.indptr, t.indptr) and np.array_equal(b.indices, t.indices):  # one layout, held once (as load does)
        tfidf.weights_ = Columns(t.data, b.indices, b.indptr, t.shape)
    return analyzer, vocabulary, bm25, tfidf


def _stem_table(known: set[str], workers: int) -> dict[str, str]:
    """The Snowball stem of every known word (the words split over the workers)."""
    return {w: s for part in map_chunks(stem_table, sorted(known), workers) for w, s in part.items()}


def _analyse_passages(analyzer: Analyzer, passages: Sequence[Passage], workers: int) -> tuple[dict[str, int], TermCounts]:
    """The vocabulary (every term of the passages, sorted) and how often each passage holds each.

    Each worker analyses its passages and counts their terms, numbered by its own sorted terms;
    only those counts come back (a few strings and arrays, not a string for every word of the
    corpus), and the parent renumbers them to the merged vocabulary with numpy."""
    def analyse(rows: range) -> tuple[list[str], TermCounts]:
        docs = [analyzer.terms(text) for text in _index_texts(passages, rows)]
        terms = sorted({t for d in docs for t in d})
        return terms, term_counts(docs, {t: i for i, t in enumerate(terms)})

    parts = map_chunks(analyse, range(len(passages)), workers)
    vocabulary = {t: i for i, t in enumerate(sorted({t for terms, _ in parts for t in terms}))}
    columns = [np.array([vocabulary[t] for t in terms], dtype=np.int64) for terms, _ in parts]
    return vocabulary, TermCounts.stacked([counts for _, counts in parts], columns, len(vocabulary))


def faq_vectors(router: IntentRouter, passages: Sequence[Passage], workers: int = 1) -> tuple[Columns, np.ndarray]:
    """The guides' distinct FAQ questions in the intent model's space (the first row, of "", empty),
    and for each passage the row of the question it answers (0 for none). A question many passages
    share is one row: a question's cosines are computed per FAQ question, not per passage."""
    sections = passage_field(passages, "section")
    asked = {s: s if is_faq_question(s) else "" for s in set(sections)}  # a section is many passages' own
    questions = [asked[s] for s in sections]
    distinct = sorted(set(questions) | {""})
    row = {q: i for i, q in enumerate(distinct)}
    vectors = router.vectors(distinct, workers).to_scipy().tocsr()  # "" -> an empty row
    return Columns.of(vectors), np.fromiter((row[q] for q in questions), dtype=np.int64, count=len(questions))


def build_workers(guides: list[Guide], config: Config) -> int:
    """How many processes split and analyse the guides: all the cores for a large corpus; one for
    a small one, where starting processes costs more than it saves."""
    if sum(len(g.text) for g in guides) < config.passages_parallel_min_chars:
        return 1
    return os.cpu_count() or 1


def _alternation(patterns) -> re.Pattern | None:
    """One pattern finding what any of several finds (searched once per text, not once per pattern)."""
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE) if patterns else None


def _text_patterns(intents) -> dict[str, tuple[re.Pattern, ...]]:
    """What the lifts look for in a passage's text, by mask name: an intent's values ("intent/",
    for an intent with sections or values) and each sense's passages ("intent/sense")."""
    patterns = {f"{name}/": spec.values for name, spec in intents.items() if spec.sections or spec.values}
    patterns.update({f"{name}/{s.name}": s.passages for name, spec in intents.items() for s in spec.senses})
    return patterns


def lift_matches(intents, passages: Sequence[Passage], workers: int = 1) -> np.ndarray:
    """Which passages' texts each of _text_patterns finds something in: a patterns x passages array
    (the passages split over the workers).

    A pattern set is searched for only in a text holding one of the strings any match of it holds
    (_required_strings): a substring test on the lowercased text passes over most passages for a
    fraction of the regular expression's cost, and never over one it would find something in."""
    searches = [(_alternation(patterns), _required_strings(patterns)) for patterns in _text_patterns(intents).values()]

    def search(rows: range) -> np.ndarray:
        texts = passage_field(passages, "text", rows.start, rows.stop)
        holding = _Holding(texts)
        found = np.zeros((len(searches), len(rows)), dtype=bool)
        for i, (pattern, required) in enumerate(searches):
            if pattern is not None:
                for j in holding.any_of(required):
                    found[i, j] = pattern.search(texts[j]) is not None
        return found

    return np.concatenate(map_chunks(search, range(len(passages)), workers), axis=1)


class _Holding:
    """Which of some texts hold one of a few lowercase ASCII strings (the strings every match of a
    pattern set holds): the texts' lowercase forms are searched as one buffer, string by string
    (Strings.candidates), not text by text. At a million passages the test of each text for each
    pattern set was half of the lifts stage."""

    def __init__(self, texts: list[str]):
        lowered = [t.lower() if lowercase_is_faithful(t) else None for t in texts]
        self.count = len(texts)
        self.always = [j for j, lower in enumerate(lowered) if lower is None]  # no lowercase form to test
        self.lowered = Strings.of(lower or "" for lower in lowered)

    def any_of(self, required: frozenset[str] | None) -> list[int] | range:
        """The numbers of the texts holding one of the strings, in order (with the texts not tested,
        and perhaps one a match runs into from the text before: the patterns decide); all of them
        for None (a pattern set that needs no string)."""
        if required is None:
            return range(self.count)
        found = set(self.always)
        for r in required:
            found.update(self.lowered.candidates(r))
        return sorted(found)


def _required_strings(patterns) -> frozenset[str] | None:
    """Lowercase ASCII strings one of which every match of any of the patterns holds (patterns.
    required_strings); None when one of them requires none (it is then searched for everywhere)."""
    required: set[str] = set()
    for pattern in patterns:
        strings = required_strings(pattern.pattern)
        if strings is None:
            return None
        required.update(strings)
    return frozenset(required)


def intent_masks(intents, passages: Sequence[Passage], workers: int = 1) -> dict[str, np.ndarray]:
    """For each intent with sections or values, which passages it lifts ("intent/"); for each sense
    of an intent, which passages answer it ("intent/sense") and which another ("off:intent/sense").
    Texts are searched as lift_matches says; headings once per heading."""
    found = dict(zip(_text_patterns(intents), lift_matches(intents, passages, workers)))
    number: dict[str, int] = {}  # each distinct heading's number, and each passage's heading's
    heading_of = np.fromiter((number.setdefault(h, len(number)) for h in passage_headings(passages)), dtype=np.int64,
                             count=len(passages))
    headings = list(number)
    holding = _Holding(headings)
    masks = {}
    for name, spec in intents.items():
        if spec.sections or spec.values:
            lifted = np.zeros(len(headings), dtype=bool)
            sections = _alternation(spec.sections)
            if sections is not None:  # searched only where a string every match holds is (as the texts are)
                for i in holding.any_of(_required_strings(spec.sections)):
                    lifted[i] = sections.search(headings[i]) is not None
            masks[f"{name}/"] = lifted[heading_of] | found[f"{name}/"]
        answered = {s.name: found[f"{name}/{s.name}"] for s in spec.senses}
        for sense, mine in answered.items():
            masks[f"{name}/{sense}"] = mine
            others = np.zeros(len(passages), dtype=bool)
            for other, theirs in answered.items():
                if other != sense:
                    others |= theirs
            masks[f"off:{name}/{sense}"] = others & ~mine
    return masks


# -- save / load ----------------------------------------------------------------------
# Writers hold an exclusive flock on this file (readers a shared one), so two builds into one
# folder never mix their files, and a reader never sees a half-written index.
LOCK_FILE = ".lock"


def _atomic_write(path: Path, write: Callable[[Path], None]) -> str:
    """Write through a temporary file renamed into place; returns the sha256 of what was written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        digest = _sha256(tmp)
        os.replace(tmp, path)
        return digest
    finally:
        if tmp.exists():
            tmp.unlink()


def _sha256(path: Path) -> str:
    """The sha256 of a file, read a block at a time."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _save_json(path: Path, obj) -> str:
    return _atomic_write(path, lambda p: p.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8"))


def _save_npy(path: Path, array: np.ndarray) -> str:
    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
    return _atomic_write(path, write)


def _save_utf8(path: Path, strings: Strings) -> str:
    """Strings' UTF-8 bytes, one after the other, as a .npy byte array."""
    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            np.lib.format.write_array_header_1_0(fh, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)),
                                                      "fortran_order": False, "shape": (strings.size,)})
            fh.write(strings.bytes())
    return _atomic_write(path, write)


def _save_npz(path: Path, **arrays: np.ndarray) -> str:
    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            np.savez(fh, **arrays)
    return _atomic_write(path, write)


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files a killed build left behind (call with the folder's lock held)."""
    for tmp in Path(folder).glob(".*.tmp"):
        try:
            tmp.unlink()
        except OSError:
            pass


def generation_name(name: str, generation: str) -> str:
    """passages.json of generation g is passages.g.json: a new build never overwrites the files
    the current manifest names, so a build killed half-way leaves the old index whole."""
    stem, dot, suffix = name.partition(".")
    return f"{stem}.{generation}.{suffix}"


def save(index: Index, folder: Path) -> None:
    """Write every file of a new generation atomically, then manifest.json (with the name, size
    and sha256 of every file), then remove the files of earlier generations."""
    from assistant.safety import trigger_texts

    folder.mkdir(parents=True, exist_ok=True)
    generation = f"{int(time.time() * 1000):x}{os.getpid():x}"
    path = {name: folder / generation_name(name, generation) for name in FILES}
    a = index.analyzer
    r = index.router
    stored = index.passages if isinstance(index.passages, StoredPassages) else StoredPassages.pack(index.passages)
    arrays = stored.arrays()
    arrays.update({"bm25_idf.npy": index.bm25.idf_, "tfidf_idf.npy": index.tfidf.idf_, "faq_rows.npy": index.faq_rows,
                   "lsa_components.npy": index.lsa.components_, "lsa_docs.npy": index.lsa.docs_})
    for name, matrix in (("bm25", index.bm25.weights_), ("tfidf", index.tfidf.weights_), ("faq", index.faq)):
        arrays.update({f"{name}_data.npy": matrix.data, f"{name}_indices.npy": matrix.indices,
                       f"{name}_indptr.npy": matrix.indptr})
    digests = {name: _save_npy(path[name], array) for name, array in arrays.items()}
    digests.update({
        "passage_texts.npy": _save_utf8(path["passage_texts.npy"], stored.texts),
        "passage_strings.npy": _save_utf8(path["passage_strings.npy"], stored.strings),
        "analysis.json": _save_json(path["analysis.json"], {
            "stop_words": sorted(a.stop_words), "dictionary": sorted(a.dictionary), "stems": a.stems,
            "vocabulary": sorted(index.vocabulary, key=index.vocabulary.get), "quote_places": index.quote_places,
            # what opening the assistant would otherwise redo each time (a third of a cold start): the
            # safety rules' phrases analysed, and the data files as checked (datafiles.trust)
            "phrase_stems": {t: a.stem_sequence(t) for t in trigger_texts()}, "data_files": data_snapshot()}),
        "router.json": _save_json(path["router.json"], {"classes": r.classes_, "C": r.C,
                                                        "vocabulary": sorted(r.vocabulary_, key=r.vocabulary_.get)}),
        "router.npz": _save_npz(path["router.npz"], idf=r.idf_, coef=r.coef_, intercept=r.intercept_),
        # keys like "oil_choice/" and "off:posture/giver" are not valid npz names: stored in order with the key list
        "lifts.npz": _save_npz(path["lifts.npz"], keys=np.array(sorted(index.lifts), dtype=str),
                               masks=np.array([index.lifts[k] for k in sorted(index.lifts)], dtype=bool).reshape(
                                   len(index.lifts), len(index.passages))),
    })
    files = {name: {"file": path[name].name, "size": (info := path[name].stat()).st_size, "mtime_ns": info.st_mtime_ns,
                    "sha256": digests[name]} for name in FILES}
    _save_json(folder / "manifest.json", dict(index.manifest, files=files))
    remove_other_generations(folder, {p.name for p in path.values()})


def remove_other_generations(folder: Path, keep: set[str]) -> None:
    """Index files of earlier generations (and of the formats before them)."""
    for name in FILES + FORMER_FILES:
        stem, _, suffix = name.partition(".")
        for old in list(folder.glob(f"{stem}.*{suffix}")) + [folder / name]:
            if old.name not in keep and old.is_file():
                try:
                    old.unlink()
                except OSError:
                    pass


def read_manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _verified_files(folder: Path, manifest: dict) -> dict[str, Path]:
    """Where every index file is, each checked against its size and sha256 in the manifest; one
    whose size and modification time are still those the build saw is not hashed again (the
    others are hashed two at a time: hashing lets go of the interpreter's lock)."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(files.get(name), dict) for name in FILES):
        raise IndexError_("manifest.json has no checksums")
    paths = {}
    for name in FILES:
        stored = files[name].get("file", name)
        if not isinstance(stored, str) or Path(stored).name != stored or stored.startswith("."):
            raise IndexError_(f"manifest.json names {name} oddly ({stored!r})")
        paths[name] = folder / stored

    to_hash = []
    for name in FILES:
        try:
            info = paths[name].stat()
        except OSError as exc:
            raise IndexError_(f"{name} cannot be read ({exc.strerror or type(exc).__name__})") from None
        if info.st_size != files[name].get("size"):
            raise IndexError_(f"{name} does not match its checksum")
        # a file as the build left it (same size and modification time) is not read again:
        # hashing a large index at every open costs seconds (2 s for 3 GB at 1M passages)
        if info.st_mtime_ns != files[name].get("mtime_ns"):
            to_hash.append(name)

    def check(name: str) -> str:
        try:
            return "" if _sha256(paths[name]) == files[name].get("sha256") else f"{name} does not match its checksum"
        except OSError as exc:
            return f"{name} cannot be read ({exc.strerror or type(exc).__name__})"

    if len(to_hash) > 1:
        from concurrent.futures import ThreadPoolExecutor  # 11 ms to import (logging): only when hashing

        with ThreadPoolExecutor(2) as pool:
            problem = next((p for p in pool.map(check, to_hash) if p), "")
    else:
        problem = next((p for p in map(check, to_hash) if p), "")
    if problem:
        raise IndexError_(problem)
    return paths


def _open_npy(path: Path) -> tuple[mmap.mmap, int, np.dtype, tuple[int, ...]]:
    """A .npy file memory-mapped read-only: (the map, where the array starts in it, its dtype and
    shape), read with numpy's own header functions (an array of objects is refused)."""
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(fh)
        if fortran_order or dtype.hasobject:
            raise ValueError("not an array the index saves")
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ), fh.tell(), dtype, shape


def _mapped(path: Path, dtype: type | tuple[type, ...], ndim: int) -> np.ndarray:
    """A .npy file's array, memory-mapped read-only: of the dtype (one of the dtypes) and number of
    dimensions the index saves, and whole (a short file raises ValueError)."""
    data, offset, stored, shape = _open_npy(path)
    if stored not in (dtype if isinstance(dtype, tuple) else (dtype,)) or len(shape) != ndim:
        raise ValueError("not the array the index saves")
    count = math.prod(shape)
    return np.frombuffer(data, dtype=stored, count=count, offset=offset).reshape(shape) if count else np.zeros(shape, stored)


def _mapped_bytes(path: Path) -> tuple[mmap.mmap, int, int]:
    """A .npy byte array memory-mapped read-only: (the map, where the bytes start, how many)."""
    data, offset, dtype, shape = _open_npy(path)
    if dtype != np.uint8 or len(shape) != 1 or offset + shape[0] > len(data):
        raise ValueError("not the array the index saves")
    return data, offset, shape[0]


def _read_parts(paths: dict[str, Path]) -> tuple[dict, dict[str, np.ndarray], dict[str, tuple[mmap.mmap, int, int]]]:
    """(the JSON files' contents by name, every array by file name, or file:key in an .npz, the
    byte arrays of the passages' strings); a file a parser cannot read raises IndexError_ naming it."""
    kinds = {"passage_table.npy": (np.int64, 2), "sentence_spans.npy": (np.int64, 2),
             "lsa_components.npy": (np.float64, 2), "lsa_docs.npy": (np.float64, 2)}
    documents, arrays, blobs = {}, {}, {}
    name = ""
    try:
        for name in ("analysis.json", "router.json"):
            documents[name] = json.loads(paths[name].read_bytes())
        for name in STRING_FILES:
            blobs[name] = _mapped_bytes(paths[name])
        for name in (n for n in MAPPED if n not in blobs):
            # a matrix's row numbers and pointers are 32-bit where they fit (Columns.of)
            default = (np.float64 if name.endswith(("_data.npy", "_idf.npy"))
                       else (np.int32, np.int64) if name.endswith(("_indices.npy", "_indptr.npy")) else np.int64)
            dtype, ndim = kinds.get(name, (default, 1))
            arrays[name] = _mapped(paths[name], dtype, ndim)
        for name, keys in (("router.npz", ("idf", "coef", "intercept")), ("lifts.npz", ("keys", "masks"))):
            with np.load(paths[name], allow_pickle=False) as z:
                arrays.update({f"{name}:{k}": z[k] for k in keys})
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError, AttributeError, zipfile.BadZipFile) as exc:
        raise IndexError_(f"{name} cannot be read ({type(exc).__name__})") from None
    return documents, arrays, blobs


def _columns(arrays: dict[str, np.ndarray], name: str, rows: int) -> Columns:
    """A saved column matrix of `rows` rows, checked to be one (its pointers and row numbers in range)."""
    data, indices, indptr = (arrays[f"{name}_{part}.npy"] for part in ("data", "indices", "indptr"))
    if (indices.dtype != indptr.dtype or len(indptr) == 0 or indptr[0] != 0 or indptr[-1] != len(data)
            or len(indices) != len(data)
            or np.any(np.diff(indptr) < 0) or (len(indices) and (indices.min() < 0 or indices.max() >= rows))):
        raise IndexError_(f"{name}_indptr.npy does not fit {name}_indices.npy")
    return Columns(data, indices, indptr, (rows, len(indptr) - 1))


def _stored_passages(arrays: dict[str, np.ndarray], blobs: dict[str, tuple[mmap.mmap, int, int]],
                     count: int) -> StoredPassages:
    """The passages' arrays, checked to hold `count` passages and all their strings."""
    table, spans = arrays["passage_table.npy"], arrays["sentence_spans.npy"]
    strings = {}
    for name, ends_name in STRING_FILES.items():
        (data, offset, size), ends = blobs[name], arrays[ends_name]
        if len(ends) and int(ends[-1]) != size:
            raise IndexError_(f"{ends_name} does not fit {name}")
        strings[name] = Strings(data, ends, offset)
    texts, others = strings["passage_texts.npy"], strings["passage_strings.npy"]
    fits = table.shape == (count, 4) and spans.shape[1:] == (4,) and len(texts) == count
    if fits:
        # the strings end with the last passage's: its fields and the texts of its sentences its text
        # lacks (read from its rows alone: opening a million passages' index passes over none of them)
        last = spans[int(table[-1, 3]):] if count else spans[:0]
        fits = len(others) == (int(table[-1, 2]) + PASSAGE_STRINGS + int(np.count_nonzero(last[:, 2] < 0)) if count else 0)
    if not fits:
        raise IndexError_("passage_table.npy does not fit the passages' strings")
    return StoredPassages(texts, others, table, spans)


def load(folder: Path, config: Config, manifest: dict | None = None) -> Index:
    """Load a saved index; a missing, changed, half-written or unreadable file raises IndexError_
    naming it (and never repeats a library's advice, such as numpy's to load pickles). `manifest`:
    the folder's manifest.json when the caller has just read it (under the same lock)."""
    folder = Path(folder)
    manifest = manifest if manifest is not None else read_manifest(folder)
    if not manifest or manifest.get("format") != FORMAT:
        raise IndexError_("no index, or one in another format")
    documents, arrays, blobs = _read_parts(_verified_files(folder, manifest))
    # building the objects from what was read: a file a parser read but whose contents are not
    # what the index saves is IndexError_ too
    try:
        an, rj = documents["analysis.json"], documents["router.json"]
        trust_data(an.get("data_files"))  # before anything below loads a data file
        phrase_stems = an.get("phrase_stems", {})
        if not isinstance(phrase_stems, dict) or not all(
                isinstance(v, list) and all(isinstance(w, str) for w in v) for v in phrase_stems.values()):
            raise TypeError("phrase_stems")
        stops, dictionary, stems = frozenset(an["stop_words"]), frozenset(an["dictionary"]), dict(an["stems"])
        vocabulary = {t: i for i, t in enumerate(an["vocabulary"])}
        places = an["quote_places"]
        if not isinstance(places, dict) or not all(
                v is None or (isinstance(v, list) and len(v) == 3 and all(isinstance(n, int) for n in v)) for v in places.values()):
            raise TypeError("quote_places")
        router_vocabulary, classes, C = {f: i for i, f in enumerate(rj["vocabulary"])}, rj["classes"], rj["C"]
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexError_(f"analysis.json or router.json holds something else ({type(exc).__name__})") from None
    count = manifest.get("passages")
    passages = _stored_passages(arrays, blobs, count if isinstance(count, int) else -1)
    bm25 = _columns(arrays, "bm25", len(passages))
    files = manifest["files"]
    if (all(files[f"bm25_{p}.npy"].get("sha256") == files[f"tfidf_{p}.npy"].get("sha256") for p in ("indices", "indptr"))
            and arrays["tfidf_data.npy"].shape == bm25.data.shape):
        # one layout (both fitted from the same counts): checked once, and a question's columns found once
        tfidf = Columns(arrays["tfidf_data.npy"], bm25.indices, bm25.indptr, bm25.shape)
    else:
        tfidf = _columns(arrays, "tfidf", len(passages))
    faq_rows = arrays["faq_rows.npy"]
    if faq_rows.shape != (len(passages),) or (len(faq_rows) and faq_rows.min() < 0):
        raise IndexError_("faq_rows.npy does not match the passages")
    faq = _columns(arrays, "faq", int(faq_rows.max()) + 1 if len(faq_rows) else 1)
    lsa_components, lsa_docs = arrays["lsa_components.npy"], arrays["lsa_docs.npy"]
    lift_keys, lift_masks = arrays["lifts.npz:keys"], arrays["lifts.npz:masks"]
    if (bm25.shape != (len(passages), len(vocabulary)) or tfidf.shape != bm25.shape
            or lift_masks.shape != (len(lift_keys), len(passages)) or lsa_docs.shape[:1] != (len(passages),)
            or lsa_components.shape[1:2] != (len(vocabulary),) or lsa_docs.shape[1] != lsa_components.shape[0]
            or arrays["bm25_idf.npy"].shape != (len(vocabulary),) or arrays["tfidf_idf.npy"].shape != (len(vocabulary),)):
        raise IndexError_("index arrays do not match its passages")
    analyzer = Analyzer(stops, dictionary, stems, config.analysis_spell_min_length, config.analysis_spell_cutoff)
    analyzer.remember_sequences(phrase_stems)
    bm25_retriever = Bm25Retriever(config.bm25_k1, config.bm25_b, config.bm25_epsilon)
    bm25_retriever.weights_, bm25_retriever.idf_ = bm25, arrays["bm25_idf.npy"]
    tfidf_retriever = TfidfRetriever(config.tfidf_sublinear_tf)
    tfidf_retriever.weights_, tfidf_retriever.idf_ = tfidf, arrays["tfidf_idf.npy"]
    lsa = LsaRetriever(config.lsa_components)
    lsa.use_arrays(lsa_components, lsa_docs)
    router = IntentRouter.from_arrays(analyzer, router_vocabulary, classes, arrays["router.npz:idf"],
                                      arrays["router.npz:coef"], arrays["router.npz:intercept"], C)
    if faq.shape[1] != len(router_vocabulary):
        raise IndexError_("index arrays do not match its intent model")
    if any(v is not None and not (0 <= v[0] < len(passages) and 0 <= v[1] <= v[2]) for v in places.values()):
        raise IndexError_("analysis.json places a safety quote outside the passages")
    return Index(passages, analyzer, vocabulary, bm25_retriever, tfidf_retriever, lsa, router, manifest,
                 config.retrieval_bm25_weight, config.retrieval_semantic_weight, faq,
                 {str(k): m for k, m in zip(lift_keys, lift_masks)}, places, faq_rows)


@contextmanager
def _locked(folder: Path, exclusive: bool, notify: Callable[[str], None]) -> Iterator[bool]:
    """Hold the index folder's lock: exclusive to build and save, shared to load. Yields False
    when an exclusive lock cannot be had because the folder cannot be written (or created);
    a shared lock is skipped where there is no lock file (an index nobody builds into)."""
    fd = None
    try:
        if exclusive:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".probe.{os.getpid()}.{threading.get_ident()}.tmp"  # can files be made here?
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT, 0o644))
            try:
                os.unlink(probe)
            except FileNotFoundError:  # removed as a stale temporary by a build holding the lock
                pass
            fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        else:
            fd = os.open(folder / LOCK_FILE, os.O_RDONLY)
    except OSError:
        if exclusive:
            yield False
            return
    try:
        if fd is not None and fcntl is not None:
            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                notify(f"waiting for another massage-qa to finish building the index in {folder}")
                fcntl.flock(fd, mode)
        yield True
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _try_load(folder: Path, expected: str, config: Config) -> tuple[Index | None, str]:
    """The index of a folder if it is up to date and sound, else None and why not."""
    manifest = read_manifest(folder)
    if not manifest:
        return None, f"no index in {folder} yet; building it"
    if manifest.get("fingerprint") != expected:
        return None, f"index in {folder} is out of date; rebuilding"
    try:
        return load(folder, config, manifest), ""
    except IndexError_ as exc:
        return None, f"index in {folder} is damaged ({exc}); rebuilding"


def _load_unchanged(folder: Path, stamp: dict[str, list[int]], settings: str, config: Config,
                    notify: Callable[[str], None]) -> Index | None:
    """The saved index when it was built from corpus files of the same size and modification time
    and the same settings (no guide read again: at 1M passages reading and hashing them took 5 s),
    else None."""
    manifest = read_manifest(folder)
    if not manifest or manifest.get("sources") != stamp or manifest.get("settings") != settings:
        return None
    with _locked(folder, False, notify):
        index, _ = _try_load(folder, manifest.get("fingerprint"), config)
    return index


def open_index(corpus_dir: Path, index_dir: Path | None, config: Config, rebuild: bool = False,
               notify: Callable[[str], None] = lambda message: None) -> tuple[Index, Path, bool]:
    """The index for a corpus, rebuilt first when missing, stale or damaged.

    Returns (index, folder, rebuilt). `notify` gets one line when a rebuild happens (and one per
    guide file that was skipped). A folder that cannot be written gets an index built in memory
    for this run, with one notice; the build holds the folder's lock, so concurrent builds queue.
    """
    corpus_dir = Path(corpus_dir)
    # taken before the guides are read (a guide changed while they are is seen next time); a bad
    # corpus folder fails here, before any index folder is touched
    stamp = corpus_stamp(corpus_dir)
    folder = Path(index_dir) if index_dir else default_index_dir(corpus_dir)
    settings = settings_fingerprint(config)
    if not rebuild:
        index = _load_unchanged(folder, stamp, settings, config, notify)
        if index is not None:
            for note in index.manifest.get("notes", []):
                notify(note)
            return index, folder, False
    notes: list[str] = []
    guides = load_guides(corpus_dir, notify=notes.append)  # a bad corpus fails before any index folder is touched
    for note in notes:
        notify(note)
    expected = fingerprint(guides, config)
    reason = f"rebuilding the index in {folder}"
    if not rebuild:
        with _locked(folder, False, notify):
            index, reason = _try_load(folder, expected, config)
        if index is not None:
            return index, folder, False
    with _locked(folder, True, notify) as writable:
        if not writable:
            notify(f"{reason.split(';')[0]}, and {folder} cannot be written: using an index built in memory for this "
                   f"run (make the folder writable, or choose another with --index-dir)")
            return build(corpus_dir, config, guides, expected, notify), folder, True
        if not rebuild:  # another process may have built it while this one waited for the lock
            index, reason = _try_load(folder, expected, config)
            if index is not None:
                return index, folder, False
        notify(reason)
        remove_stale_temporaries(folder)
        large = build_workers(guides, config) > 1
        index = build(corpus_dir, config, guides, expected, notify)
        index.manifest.update(sources=stamp, settings=settings, notes=notes)
        try:
            if large:
                notify(f"saving the index in {folder}")
            save(index, folder)
        except OSError as exc:
            remove_stale_temporaries(folder)
            notify(f"could not save the index in {folder} ({exc.strerror or exc}); using it from memory for this run")
    return index, folder, True

