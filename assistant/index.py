"""The built index: build it from a corpus folder, save it as numpy/JSON files, load it, and
notice when it is stale (corpus, data files, index settings or package version changed).

Files in the index folder (nothing here is pickled; nothing can run code when loaded):
  manifest.json   fingerprint, version, counts, file sizes  (written last)
  passages.json   passages with offsets and sentence spans
  analysis.json   stop words, spelling dictionary, stem table, vocabulary
  bm25.npz, tfidf.npz, tfidf_idf.npy, bm25_idf.npy   the retrievers' weights
  lsa.npz                                            the latent space (TruncatedSVD of the TF-IDF matrix)
  router.json, router.npz                            the intent model
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import sparse

from assistant import __version__
from assistant.config import APP_NAME, Config
from assistant.corpus import Guide, build_passages, load_guides, shipped_corpus_dir
from assistant.retrieval import Bm25Retriever, LsaRetriever, TfidfRetriever, fuse, top_k
from assistant.router import INTENTS_FILE, IntentRouter, load_intents
from assistant.schema import Hit, Passage, Span
from assistant.text import Analyzer, everyday_words, stem_table, stop_words, words

FORMAT = 1
DATA_FILES = ("cleaning.toml", "thesaurus.toml", INTENTS_FILE, "safety.toml", "english_words.txt")
FILES = ("passages.json", "analysis.json", "bm25.npz", "bm25_idf.npy", "tfidf.npz", "tfidf_idf.npy", "lsa.npz",
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

    def query_ids(self, text: str) -> list[int]:
        return [i for i in (self.vocabulary.get(t) for t in self.analyzer.terms(text)) if i is not None]

    def score(self, text: str, mode: str = "hybrid") -> tuple[np.ndarray, dict[str, np.ndarray]]:
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
            if self.semantic_weight > 0 and ids:
                parts["lsa"] = self.lsa.scores(*self.tfidf.query_weights(ids))
                return lexical + self.semantic_weight * float(lexical.max()) * parts["lsa"], parts
            return lexical, parts
        return parts[mode], parts

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
                 + g.text.encode("utf-8"))
    return h.hexdigest()


# -- build ----------------------------------------------------------------------------
def _known_words(analyzer: Analyzer, passages: list[Passage]) -> tuple[set[str], set[str]]:
    """(spelling dictionary, every word whose stem is precomputed)."""
    from assistant.safety import trigger_texts

    dictionary: set[str] = set(analyzer.stop_words)
    for p in passages:
        dictionary.update(words(p.section + " " + p.text))
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
    guides = guides if guides is not None else load_guides(corpus_dir)
    passages = build_passages(guides, config.passages_max_words)
    stops = stop_words()
    plain = Analyzer(stops)
    dictionary, known = _known_words(plain, passages)
    stems = stem_table(known)
    # everyday words whose stem is one the project knows ("relaxes" -> "relax"): a question using
    # them then never needs nltk (see Analyzer.stem); the others cannot match a passage anyway
    domain = set(stems.values())
    stems.update((w, s) for w, s in stem_table(everyday_words() - known).items() if s in domain)
    analyzer = Analyzer(stops, frozenset(dictionary), stems, config.analysis_spell_min_length, config.analysis_spell_cutoff)
    docs = [analyzer.terms(index_text(p)) for p in passages]
    vocabulary = {t: i for i, t in enumerate(sorted({t for d in docs for t in d}))}
    bm25 = Bm25Retriever(config.bm25_k1, config.bm25_b, config.bm25_epsilon).fit(docs, vocabulary)
    tfidf = TfidfRetriever(config.tfidf_sublinear_tf).fit(docs, vocabulary)
    lsa = LsaRetriever(config.lsa_components).fit(tfidf)
    intents = load_intents()
    texts = [e for spec in intents.values() for e in spec.examples]
    labels = [spec.name for spec in intents.values() for _ in spec.examples]
    router = IntentRouter(C=config.router_C).fit(analyzer, texts, labels)
    manifest = {
        "format": FORMAT, "version": __version__, "fingerprint": fingerprint(guides, config),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "corpus": str(Path(corpus_dir).resolve()),
        "guides": [{"name": g.name, "title": g.title} for g in guides],
        "passages": len(passages), "vocabulary": len(vocabulary),
    }
    return Index(passages, analyzer, vocabulary, bm25, tfidf, lsa, router, manifest, config.retrieval_bm25_weight,
                 config.retrieval_semantic_weight)


# -- save / load ----------------------------------------------------------------------
def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _save_json(path: Path, obj) -> None:
    _atomic_write(path, lambda p: p.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8"))


def _save_npy(path: Path, array: np.ndarray) -> None:
    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
    _atomic_write(path, write)


def _save_npz_sparse(path: Path, matrix) -> None:
    def write(p: Path) -> None:
        with open(p, "wb") as fh:
            sparse.save_npz(fh, matrix)
    _atomic_write(path, write)


def save(index: Index, folder: Path) -> None:
    """Write every file atomically; manifest.json last, with the sizes a reader checks."""
    folder.mkdir(parents=True, exist_ok=True)
    passages = [dict(p.to_dict(), sentences=[[s.start, s.end, s.text] for s in p.sentences]) for p in index.passages]
    a = index.analyzer
    _save_json(folder / "passages.json", passages)
    _save_json(folder / "analysis.json", {"stop_words": sorted(a.stop_words), "dictionary": sorted(a.dictionary),
                                          "stems": a.stems, "vocabulary": sorted(index.vocabulary, key=index.vocabulary.get)})
    _save_npz_sparse(folder / "bm25.npz", index.bm25.weights_)
    _save_npy(folder / "bm25_idf.npy", index.bm25.idf_)
    _save_npz_sparse(folder / "tfidf.npz", index.tfidf.weights_)
    _save_npy(folder / "tfidf_idf.npy", index.tfidf.idf_)

    def write_lsa(p: Path) -> None:
        with open(p, "wb") as fh:
            np.savez(fh, components=index.lsa.components_, docs=index.lsa.docs_)
    _atomic_write(folder / "lsa.npz", write_lsa)
    r = index.router
    _save_json(folder / "router.json", {"classes": r.classes_, "C": r.C,
                                        "vocabulary": sorted(r.vocabulary_, key=r.vocabulary_.get)})

    def write_router(p: Path) -> None:
        with open(p, "wb") as fh:
            np.savez(fh, idf=r.idf_, coef=r.coef_, intercept=r.intercept_)
    _atomic_write(folder / "router.npz", write_router)
    manifest = dict(index.manifest, files={name: (folder / name).stat().st_size for name in FILES})
    _save_json(folder / "manifest.json", manifest)


def read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((Path(folder) / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def load(folder: Path, config: Config) -> Index:
    """Load a saved index; any missing, half-written or unreadable file raises IndexError_."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if not manifest or manifest.get("format") != FORMAT:
        raise IndexError_("no index, or one in another format")
    try:
        for name, size in manifest["files"].items():
            if (folder / name).stat().st_size != size:
                raise IndexError_(f"{name} does not match the manifest")
        raw = json.loads((folder / "passages.json").read_text("utf-8"))
        passages = [Passage(d["id"], d["guide"], d["title"], d["section"], d["text"], d["start"], d["end"],
                            tuple(Span(s, e, t) for s, e, t in d["sentences"]), d.get("group", "")) for d in raw]
        an = json.loads((folder / "analysis.json").read_text("utf-8"))
        analyzer = Analyzer(frozenset(an["stop_words"]), frozenset(an["dictionary"]), dict(an["stems"]),
                            config.analysis_spell_min_length, config.analysis_spell_cutoff)
        vocabulary = {t: i for i, t in enumerate(an["vocabulary"])}
        bm25 = Bm25Retriever(config.bm25_k1, config.bm25_b, config.bm25_epsilon)
        bm25.weights_ = sparse.load_npz(folder / "bm25.npz").tocsc()
        bm25.idf_ = np.load(folder / "bm25_idf.npy", allow_pickle=False)
        tfidf = TfidfRetriever(config.tfidf_sublinear_tf)
        tfidf.weights_ = sparse.load_npz(folder / "tfidf.npz").tocsc()
        tfidf.idf_ = np.load(folder / "tfidf_idf.npy", allow_pickle=False)
        lsa = LsaRetriever(config.lsa_components)
        with np.load(folder / "lsa.npz", allow_pickle=False) as lz:
            lsa.components_, lsa.docs_ = lz["components"], lz["docs"]
        rj = json.loads((folder / "router.json").read_text("utf-8"))
        with np.load(folder / "router.npz", allow_pickle=False) as rz:
            router = IntentRouter.from_arrays(analyzer, {f: i for i, f in enumerate(rj["vocabulary"])}, rj["classes"],
                                              rz["idf"], rz["coef"], rz["intercept"], rj["C"])
    except IndexError_:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexError_(f"unreadable index file ({exc})") from None
    if (bm25.weights_.shape != (len(passages), len(vocabulary)) or tfidf.weights_.shape != bm25.weights_.shape
            or lsa.docs_.shape[0] != len(passages) or lsa.components_.shape[1] != len(vocabulary)):
        raise IndexError_("index arrays do not match its passages")
    return Index(passages, analyzer, vocabulary, bm25, tfidf, lsa, router, manifest, config.retrieval_bm25_weight,
                 config.retrieval_semantic_weight)


def open_index(corpus_dir: Path, index_dir: Path | None, config: Config, rebuild: bool = False,
               notify: Callable[[str], None] = lambda message: None) -> tuple[Index, Path, bool]:
    """The index for a corpus, rebuilt first when missing, stale or corrupt.

    Returns (index, folder, rebuilt). `notify` gets one line when a rebuild happens.
    """
    corpus_dir = Path(corpus_dir)
    folder = Path(index_dir) if index_dir else default_index_dir(corpus_dir)
    guides = load_guides(corpus_dir)
    expected = fingerprint(guides, config)
    if not rebuild:
        manifest = read_manifest(folder)
        if manifest and manifest.get("fingerprint") == expected:
            try:
                return load(folder, config), folder, False
            except IndexError_ as exc:
                notify(f"index in {folder} is damaged ({exc}); rebuilding")
        elif manifest:
            notify(f"index in {folder} is out of date; rebuilding")
        else:
            notify(f"no index in {folder} yet; building it")
    index = build(corpus_dir, config, guides)
    if not _writable(folder) and index_dir is None:
        folder = _cache_index_dir(corpus_dir)
    save(index, folder)
    return index, folder, True
