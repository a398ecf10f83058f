"""The built index: build it from a corpus folder, save it as numpy/JSON files, load it, and
notice when it is stale (corpus, data files, index settings or package version changed).

Files in the index folder (nothing here is pickled; nothing can run code when loaded), each named
by its build's generation (passages.<generation>.json), so a build that dies half-way leaves the
files the manifest names untouched:
  manifest.json   fingerprint, version, counts, and the file, size and sha256 of each part (written last)
  .lock           flock'd while the index is built (exclusive) or read (shared)
  passages.json   passages with offsets and sentence spans
  analysis.json   stop words, spelling dictionary, stem table, vocabulary
  bm25.npz, tfidf.npz, tfidf_idf.npy, bm25_idf.npy   the retrievers' weights
  lsa.npz                                            the latent space (TruncatedSVD of the TF-IDF matrix)
  router.json, router.npz                            the intent model
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import string
import threading
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no locking
    fcntl = None

from assistant import __version__
from assistant.config import APP_NAME, Config
from assistant.corpus import CorpusError, Guide, build_passages, is_faq_question, load_guides, shipped_corpus_dir
from assistant.parallel import Background, map_chunks
from assistant.retrieval import Bm25Retriever, Columns, LsaRetriever, TermCounts, TfidfRetriever, fuse, top_k
from assistant.router import INTENTS_FILE, IntentRouter, load_intents
from assistant.schema import Hit, Passage, Span
from assistant.text import Analyzer, everyday_stems, stem_table, stop_words, words

FORMAT = 3  # 2: manifest.json holds the size and sha256 of every file; 3: files named by generation
DATA_FILES = ("cleaning.toml", "thesaurus.toml", INTENTS_FILE, "safety.toml", "conditions.toml", "language.toml",
              "english_words.txt")
FILES = ("passages.json", "analysis.json", "bm25.npz", "bm25_idf.npy", "tfidf.npz", "tfidf_idf.npy", "lsa.npz", "faq.npz",
         "lifts.npz",
         "router.json", "router.npz")


class IndexError_(Exception):
    """An index folder that cannot be used (unreadable, from another version, half-written)."""


@dataclass
class Index:
    """Passages, the analyzer that made their terms, both retrievers and the intent model."""

    passages: list[Passage]
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
    faq: Columns | None = None
    lifts: dict[str, np.ndarray] = field(default_factory=dict)

    def query_ids(self, text: str) -> list[int]:
        return [i for i in (self.vocabulary.get(t) for t in self.analyzer.terms(text)) if i is not None]

    def score(self, text: str, mode: str = "hybrid", semantic: bool = True) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Every passage's score for a query under a mode, and each retriever's own scores.

        Hybrid: the lexical score (BM25 scaled by its best possible value, blended with the TF-IDF
        cosine; part "lexical") plus semantic_weight x its best value x the LSA cosine, so the
        latent space reorders passages the words already found and never outweighs them. It is
        scaled by the idf-weighted share of the query's terms the corpus knows at all (an unknown
        term weighs as much as the rarest known one), so "best sushi in town" does not look like
        a good match because one common word is known; that scale is the same for every passage:
        it changes the confidence (the best "lexical" score), never the ranking.
        """
        terms = self.analyzer.terms(text)
        ids = [i for i in (self.vocabulary.get(t) for t in terms) if i is not None]
        parts: dict[str, np.ndarray] = {}
        if mode in ("bm25", "hybrid"):
            parts["bm25"] = self.bm25.scores(ids)
        if mode in ("tfidf", "hybrid"):
            parts["tfidf"] = self.tfidf.scores(ids)
        if mode == "hybrid":
            known = float(np.sum(self.tfidf.idf_[ids])) if ids else 0.0
            unknown = (len(terms) - len(ids)) * float(self.tfidf.idf_.max())
            coverage = known / (known + unknown) if known + unknown > 0 else 0.0
            lexical = coverage * fuse(parts["bm25"], self.bm25.best_possible(ids), parts["tfidf"], self.bm25_weight)
            parts["lexical"] = lexical
            if semantic and self.semantic_weight > 0 and ids:
                parts["lsa"] = self.lsa.scores(*self.tfidf.query_weights(ids))
                return lexical + self.semantic_weight * float(lexical.max()) * parts["lsa"], parts
            return lexical, parts
        return parts[mode], parts

    def best_lexical(self, text: str) -> float:
        """The best lexical hybrid score of any passage for a query: how well the guides' words
        meet it (the scope decision's evidence), whatever the retrieval mode."""
        lexical = self.score(text, "hybrid", semantic=False)[1]["lexical"]
        return float(lexical.max()) if lexical.size else 0.0

    def search(self, text: str, mode: str = "hybrid", k: int = 10, boost: np.ndarray | None = None) -> list[Hit]:
        """The k best passages with a positive score (a zero-score passage is never returned)."""
        return self.rank(*self.score(text, mode), k, boost)

    def rank(self, scores: np.ndarray, parts: dict[str, np.ndarray], k: int = 10,
             boost: np.ndarray | None = None) -> list[Hit]:
        """Hits from scores already computed by `score`."""
        if boost is not None:
            scores = scores * boost
        return [Hit(self.passages[i], rank, float(scores[i]), {name: float(s[i]) for name, s in parts.items()})
                for rank, i in enumerate(top_k(scores, k), start=1)]


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
def fingerprint(guides: list[Guide], config: Config) -> str:
    h = hashlib.sha256()
    h.update(f"format={FORMAT} version={__version__}\n".encode())
    h.update(json.dumps(config.index_settings(), sort_keys=True).encode())
    data = resources.files("assistant.data")
    for name in DATA_FILES:
        h.update(name.encode() + b"\0" + data.joinpath(name).read_bytes())
    for g in guides:
        h.update(g.name.encode() + b"\0" + g.title.encode() + b"\0" + repr(g.outline).encode() + b"\0"
                 + repr((g.drop_lines, g.not_answers)).encode() + b"\0"
                 + g.text.encode("utf-8"))
    return h.hexdigest()


# -- build ----------------------------------------------------------------------------
def _known_words(analyzer: Analyzer, passages: list[Passage], workers: int = 1) -> tuple[set[str], set[str]]:
    """(spelling dictionary, every word whose stem is precomputed)."""
    from assistant.safety import trigger_texts

    dictionary: set[str] = set(analyzer.stop_words)
    sections = {p.section for p in passages}
    dictionary.update(w for section in sections for w in words(section))
    for some in map_chunks(lambda chunk: {w for p in chunk for w in words(p.text)}, passages, workers):
        dictionary.update(some)
    dictionary.update(analyzer.thesaurus_words())
    for text in trigger_texts():
        dictionary.update(words(text))
    known = set(dictionary)
    for spec in load_intents().values():
        for example in spec.examples + spec.cues:
            known.update(words(example))
    return {w for w in dictionary if w.isalpha()}, known


def index_text(p: Passage) -> str:
    """What a passage is indexed by: its group and section headings (the section's unless it
    already opens the text) and its text."""
    heading = "" if p.text.startswith(p.section) else p.section
    return "\n".join(part for part in (p.group, heading, p.text) if part)


def build(corpus_dir: Path, config: Config, guides: list[Guide] | None = None) -> Index:
    from threadpoolctl import threadpool_limits

    # The fits are small; on a shared 2-core machine threaded BLAS spends longer waiting than working
    # (the intent model's L-BFGS took 8 s threaded, 0.3 s on one thread, to the same coefficients).
    with threadpool_limits(1):
        return _build(corpus_dir, config, guides if guides is not None else load_guides(corpus_dir))


def _build(corpus_dir: Path, config: Config, guides: list[Guide]) -> Index:
    workers = build_workers(guides, config)
    passages = build_passages(guides, config.passages_max_words, workers)
    analyzer, vocabulary, bm25, tfidf = _fit_lexical(passages, config, workers)
    lsa = LsaRetriever(config.lsa_components, config.lsa_exact_max_cells)
    # a large corpus's latent space (one core's work for a while) is fitted in a process of its own
    # while this one fits the intent model and searches the passages for the intents' patterns
    with Background(lambda: lsa.fit(tfidf).arrays(), fork=workers > 1) as fitting:
        intents = load_intents()
        texts = [e for spec in intents.values() for e in spec.examples]
        labels = [spec.name for spec in intents.values() for _ in spec.examples]
        router = IntentRouter(C=config.router_C).fit(analyzer, texts, labels)
        faq = faq_vectors(router, passages)
        lifts = intent_masks(intents, passages, workers)
        lsa.use_arrays(**fitting.result())
    manifest = {
        "format": FORMAT, "version": __version__, "fingerprint": fingerprint(guides, config),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "corpus": str(Path(corpus_dir).resolve()),
        "guides": [{"name": g.name, "title": g.title, "not_answers": list(g.not_answers)} for g in guides],
        "passages": len(passages), "vocabulary": len(vocabulary),
    }
    return Index(passages, analyzer, vocabulary, bm25, tfidf, lsa, router, manifest, config.retrieval_bm25_weight,
                 config.retrieval_semantic_weight, faq, lifts)


def _fit_lexical(passages: list[Passage], config: Config, workers: int
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
    return analyzer, vocabulary, bm25, tfidf


def _stem_table(known: set[str], workers: int) -> dict[str, str]:
    """The Snowball stem of every known word (the words split over the workers)."""
    return {w: s for part in map_chunks(stem_table, sorted(known), workers) for w, s in part.items()}


def _analyse_passages(analyzer: Analyzer, passages: list[Passage], workers: int) -> tuple[dict[str, int], TermCounts]:
    """The vocabulary (every term of the passages, sorted) and how often each passage holds each.

    Each worker analyses its passages into an array of ids into its own sorted terms; only those
    come back (a few strings and arrays, not a string for every word of the corpus), and the
    parent maps them to the merged vocabulary with numpy."""
    def analyse(chunk: list[Passage]) -> tuple[list[str], np.ndarray, np.ndarray]:
        docs = [analyzer.terms(index_text(p)) for p in chunk]
        terms = sorted({t for d in docs for t in d})
        local = {t: i for i, t in enumerate(terms)}
        ids = np.fromiter((local[t] for d in docs for t in d), dtype=np.int32)
        return terms, ids, np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))

    parts = map_chunks(analyse, passages, workers)
    vocabulary = {t: i for i, t in enumerate(sorted({t for terms, _, _ in parts for t in terms}))}
    ids = [np.array([vocabulary[t] for t in terms], dtype=np.int64)[local] for terms, local, _ in parts]
    lengths = np.concatenate([n for _, _, n in parts])
    return vocabulary, TermCounts.of_ids(np.concatenate(ids), lengths, len(vocabulary))


def faq_vectors(router: IntentRouter, passages: list[Passage]) -> Columns:
    """Each passage's FAQ question in the intent model's space (an empty row for a passage that
    answers none); a question many passages share is analysed once."""
    questions = [p.section if is_faq_question(p.section) else "" for p in passages]
    distinct = sorted(set(questions))
    row = {q: i for i, q in enumerate(distinct)}
    vectors = router.vectors(distinct).to_scipy().tocsr()  # "" -> an empty row
    return Columns.of(vectors[[row[q] for q in questions]])


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


def lift_matches(intents, passages: list[Passage], workers: int = 1) -> np.ndarray:
    """Which passages' texts each of _text_patterns finds something in: a patterns x passages array
    (the passages split over the workers).

    A pattern set is searched for only in a text holding one of the strings any match of it holds
    (_required_strings): a substring test on the lowercased text passes over most passages for a
    fraction of the regular expression's cost, and never over one it would find something in."""
    searches = [(_alternation(patterns), _required_strings(patterns)) for patterns in _text_patterns(intents).values()]

    def search(chunk: list[Passage]) -> np.ndarray:
        found = np.zeros((len(searches), len(chunk)), dtype=bool)
        for j, passage in enumerate(chunk):
            lower = passage.text.lower() if _lowercase_is_faithful(passage.text) else None
            for i, (pattern, required) in enumerate(searches):
                if pattern is None or (lower is not None and required is not None and not any(r in lower for r in required)):
                    continue
                found[i, j] = pattern.search(passage.text) is not None
        return found

    return np.concatenate(map_chunks(search, passages, workers), axis=1)


def _required_strings(patterns) -> frozenset[str] | None:
    """Lowercase ASCII strings one of which every match of any of the patterns holds, read from
    their parse trees; None when one of them requires none (it is then searched for everywhere)."""
    try:
        from re import _parser  # CPython's parse trees (3.11 on): without them every text is searched
    except ImportError:
        return None
    required: set[str] = set()
    for pattern in patterns:
        strings = _required_in(_parser.parse(pattern.pattern, pattern.flags))
        if not strings or not all(s.isascii() for s in strings):
            return None
        required.update(s.lower() for s in strings)
    return frozenset(required)


def _required_in(parsed) -> set[str] | None:
    """Strings one of which any match of a parsed pattern (a sequence of re._parser items) holds:
    a run of literal characters, or what a group, each branch of an alternation or a repeat that
    occurs at least once requires; of those, the set whose shortest string is longest."""
    from re._constants import BRANCH, LITERAL, MAX_REPEAT, MIN_REPEAT, SUBPATTERN

    best: set[str] | None = None

    def keep(strings: set[str] | None) -> None:
        nonlocal best
        if strings and (best is None or min(map(len, strings)) > min(map(len, best))):
            best = strings

    run = ""
    for op, av in [*parsed, (None, None)]:
        if op is LITERAL:
            run += chr(av)
            continue
        keep({run} if run else None)
        run = ""
        if op is SUBPATTERN:
            keep(_required_in(av[-1]))
        elif op is BRANCH:
            branches = [_required_in(branch) for branch in av[1]]
            keep(None if None in branches else set().union(*branches))
        elif op in (MAX_REPEAT, MIN_REPEAT) and av[0] >= 1:
            keep(_required_in(av[2]))
    return best


def _lowercase_is_faithful(text: str) -> bool:
    """Whether what a case-blind pattern matches of an ASCII string in the text is in text.lower():
    so unless a character of the text matches an ASCII one only when case is ignored (the Kelvin
    sign "K" matches "k")."""
    return text.isascii() or not any(_ascii_lookalike(ch) for ch in set(text) if not ch.isascii())


@functools.cache
def _ascii_lookalike(ch: str) -> bool:
    """Whether a pattern ignoring case matches this (non-ASCII) character with an ASCII one."""
    return any(re.fullmatch(re.escape(c), ch, re.IGNORECASE) for c in string.printable)


def intent_masks(intents, passages: list[Passage], workers: int = 1) -> dict[str, np.ndarray]:
    """For each intent with sections or values, which passages it lifts ("intent/"); for each sense
    of an intent, which passages answer it ("intent/sense") and which another ("off:intent/sense").
    Texts are searched as lift_matches says; headings once per heading."""
    found = dict(zip(_text_patterns(intents), lift_matches(intents, passages, workers)))
    masks = {}
    for name, spec in intents.items():
        if spec.sections or spec.values:
            sections = _alternation(spec.sections)
            by_heading = {h: bool(sections and sections.search(h)) for h in {p.headings for p in passages}}
            masks[f"{name}/"] = np.array([by_heading[p.headings] for p in passages], dtype=bool) | found[f"{name}/"]
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
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        os.replace(tmp, path)
        return digest
    finally:
        if tmp.exists():
            tmp.unlink()


def _save_json(path: Path, obj) -> str:
    return _atomic_write(path, lambda p: p.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8"))


def _save_json_list(path: Path, items: Iterable) -> str:
    """A JSON list written item by item, the same bytes _save_json writes: a large corpus's
    passages never sit in memory whole as one string (nor as one list of dicts)."""
    def write(p: Path) -> None:
        with open(p, "w", encoding="utf-8") as fh:
            fh.write("[")
            for i, item in enumerate(items):
                fh.write((", " if i else "") + json.dumps(item, ensure_ascii=False))
            fh.write("]")
    return _atomic_write(path, write)


def _save_npy(path: Path, array: np.ndarray) -> str:
    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
    return _atomic_write(path, write)


def _save_npz_sparse(path: Path, matrix: Columns) -> str:
    """A Columns matrix in scipy's save_npz layout (so either can read it)."""
    return _save_npz(path, data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
                     shape=np.array(matrix.shape), format=np.array(b"csc"))


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
    folder.mkdir(parents=True, exist_ok=True)
    generation = f"{int(time.time() * 1000):x}{os.getpid():x}"
    path = {name: folder / generation_name(name, generation) for name in FILES}
    passages = (dict(p.to_dict(), sentences=[[s.start, s.end, s.text] for s in p.sentences]) for p in index.passages)
    a = index.analyzer
    r = index.router
    digests = {
        "passages.json": _save_json_list(path["passages.json"], passages),
        "analysis.json": _save_json(path["analysis.json"], {
            "stop_words": sorted(a.stop_words), "dictionary": sorted(a.dictionary), "stems": a.stems,
            "vocabulary": sorted(index.vocabulary, key=index.vocabulary.get)}),
        "bm25.npz": _save_npz_sparse(path["bm25.npz"], index.bm25.weights_),
        "bm25_idf.npy": _save_npy(path["bm25_idf.npy"], index.bm25.idf_),
        "tfidf.npz": _save_npz_sparse(path["tfidf.npz"], index.tfidf.weights_),
        "tfidf_idf.npy": _save_npy(path["tfidf_idf.npy"], index.tfidf.idf_),
        "lsa.npz": _save_npz(path["lsa.npz"], **index.lsa.arrays()),
        "router.json": _save_json(path["router.json"], {"classes": r.classes_, "C": r.C,
                                                        "vocabulary": sorted(r.vocabulary_, key=r.vocabulary_.get)}),
        "router.npz": _save_npz(path["router.npz"], idf=r.idf_, coef=r.coef_, intercept=r.intercept_),
        "faq.npz": _save_npz_sparse(path["faq.npz"], index.faq),
        # keys like "oil_choice/" and "off:posture/giver" are not valid npz names: stored in order with the key list
        "lifts.npz": _save_npz(path["lifts.npz"], keys=np.array(sorted(index.lifts), dtype=str),
                               masks=np.array([index.lifts[k] for k in sorted(index.lifts)], dtype=bool).reshape(
                                   len(index.lifts), len(index.passages))),
    }
    files = {name: {"file": path[name].name, "size": path[name].stat().st_size, "sha256": digests[name]} for name in FILES}
    _save_json(folder / "manifest.json", dict(index.manifest, files=files))
    remove_other_generations(folder, {p.name for p in path.values()})


def remove_other_generations(folder: Path, keep: set[str]) -> None:
    """Index files of earlier generations (and of the unversioned format before them)."""
    for name in FILES:
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


def _read_verified(folder: Path, manifest: dict) -> dict[str, bytes]:
    """The bytes of every index file, each checked against its size and sha256 in the manifest."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(files.get(name), dict) for name in FILES):
        raise IndexError_("manifest.json has no checksums")
    data = {}
    for name in FILES:
        stored = files[name].get("file", name)
        if not isinstance(stored, str) or Path(stored).name != stored or stored.startswith("."):
            raise IndexError_(f"manifest.json names {name} oddly ({stored!r})")
        try:
            data[name] = (folder / stored).read_bytes()
        except OSError as exc:
            raise IndexError_(f"{name} cannot be read ({exc.strerror or type(exc).__name__})") from None
        if len(data[name]) != files[name].get("size") or hashlib.sha256(data[name]).hexdigest() != files[name].get("sha256"):
            raise IndexError_(f"{name} does not match its checksum")
    return data


def load(folder: Path, config: Config) -> Index:
    """Load a saved index; a missing, changed, half-written or unreadable file raises IndexError_
    naming it (and never repeats a library's advice, such as numpy's to load pickles)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if not manifest or manifest.get("format") != FORMAT:
        raise IndexError_("no index, or one in another format")
    data = _read_verified(folder, manifest)
    # reading the files: what a damaged file makes a parser raise is IndexError_ naming the file
    # (building the objects from what was read comes after, so a bug there is not taken for damage)
    name = "passages.json"
    try:
        raw = json.loads(data[name])
        passages = [Passage(d["id"], d["guide"], d["title"], d["section"], d["text"], d["start"], d["end"],
                            tuple(Span(s, e, t) for s, e, t in d["sentences"]), d.get("group", "")) for d in raw]
        name = "analysis.json"
        an = json.loads(data[name])
        stops, dictionary, stems = frozenset(an["stop_words"]), frozenset(an["dictionary"]), dict(an["stems"])
        vocabulary = {t: i for i, t in enumerate(an["vocabulary"])}
        arrays = {}
        for name in ("bm25.npz", "tfidf.npz", "faq.npz"):
            with np.load(io.BytesIO(data[name]), allow_pickle=False) as z:
                if bytes(z["format"]) != b"csc":
                    raise ValueError("not a column matrix")
                arrays[name] = Columns(z["data"], z["indices"].astype(np.int64), z["indptr"].astype(np.int64),
                                       tuple(int(n) for n in z["shape"]))
        for name in ("bm25_idf.npy", "tfidf_idf.npy"):
            arrays[name] = np.load(io.BytesIO(data[name]), allow_pickle=False)
        for name, keys in (("lsa.npz", ("components", "docs")), ("router.npz", ("idf", "coef", "intercept")),
                           ("lifts.npz", ("keys", "masks"))):
            with np.load(io.BytesIO(data[name]), allow_pickle=False) as z:
                arrays.update({f"{name}:{k}": z[k] for k in keys})
        name = "router.json"
        rj = json.loads(data[name])
        router_vocabulary, classes, C = {f: i for i, f in enumerate(rj["vocabulary"])}, rj["classes"], rj["C"]
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError, AttributeError, zipfile.BadZipFile) as exc:
        raise IndexError_(f"{name} cannot be read ({type(exc).__name__})") from None
    bm25, tfidf = arrays["bm25.npz"], arrays["tfidf.npz"]
    lsa_components, lsa_docs = arrays["lsa.npz:components"], arrays["lsa.npz:docs"]
    faq, lift_keys, lift_masks = arrays["faq.npz"], arrays["lifts.npz:keys"], arrays["lifts.npz:masks"]
    if (bm25.shape != (len(passages), len(vocabulary)) or tfidf.shape != bm25.shape
            or faq.shape[0] != len(passages) or lift_masks.shape != (len(lift_keys), len(passages))
            or lsa_docs.shape[:1] != (len(passages),) or lsa_components.shape[1:2] != (len(vocabulary),)):
        raise IndexError_("index arrays do not match its passages")
    analyzer = Analyzer(stops, dictionary, stems, config.analysis_spell_min_length, config.analysis_spell_cutoff)
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
    return Index(passages, analyzer, vocabulary, bm25_retriever, tfidf_retriever, lsa, router, manifest,
                 config.retrieval_bm25_weight, config.retrieval_semantic_weight, faq,
                 {str(k): m for k, m in zip(lift_keys, lift_masks)})


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
        return load(folder, config), ""
    except IndexError_ as exc:
        return None, f"index in {folder} is damaged ({exc}); rebuilding"


def open_index(corpus_dir: Path, index_dir: Path | None, config: Config, rebuild: bool = False,
               notify: Callable[[str], None] = lambda message: None) -> tuple[Index, Path, bool]:
    """The index for a corpus, rebuilt first when missing, stale or damaged.

    Returns (index, folder, rebuilt). `notify` gets one line when a rebuild happens (and one per
    guide file that was skipped). A folder that cannot be written gets an index built in memory
    for this run, with one notice; the build holds the folder's lock, so concurrent builds queue.
    """
    corpus_dir = Path(corpus_dir)
    guides = load_guides(corpus_dir, notify=notify)  # a bad corpus fails before any index folder is touched
    folder = Path(index_dir) if index_dir else default_index_dir(corpus_dir)
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
            return _build_checked(corpus_dir, config, guides), folder, True
        if not rebuild:  # another process may have built it while this one waited for the lock
            index, reason = _try_load(folder, expected, config)
            if index is not None:
                return index, folder, False
        notify(reason)
        remove_stale_temporaries(folder)
        index = _build_checked(corpus_dir, config, guides)
        try:
            save(index, folder)
        except OSError as exc:
            remove_stale_temporaries(folder)
            notify(f"could not save the index in {folder} ({exc.strerror or exc}); using it from memory for this run")
    return index, folder, True


def _build_checked(corpus_dir: Path, config: Config, guides: list[Guide]) -> Index:
    """build(), with a corpus that yields no passage reported as such."""
    try:
        return build(corpus_dir, config, guides)
    except (ZeroDivisionError, ValueError, IndexError):
        if not build_passages(guides, config.passages_max_words):
            raise CorpusError(f"no passages in {corpus_dir}: its guides have no text to answer from once headings "
                              f"and boilerplate are removed (add guides with paragraphs of text)") from None
        raise
