"""Retrievers over the passages: BM25 (scores identical to rank_bm25.BM25Okapi), TF-IDF cosine
(scikit-learn's TfidfVectorizer), latent semantic analysis (the TF-IDF matrix's truncated SVD, the
same space scikit-learn's TruncatedSVD finds), and their fusion into one ranking.

BM25 and TF-IDF keep a passages x terms scipy CSC matrix of precomputed weights, so a query costs
the postings of its own terms, not a pass over the corpus; LSA keeps two small dense arrays. Both
are fitted from one passages x terms count matrix, computed with numpy at once (no loop over the
passages). scikit-learn is used when fitting only; scoring is plain numpy/scipy.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

MODES = ("hybrid", "bm25", "tfidf")


@dataclass(frozen=True)
class Columns:
    """A sparse matrix in scipy's column layout (CSC: data, row indices, column pointers), read
    with numpy alone (scipy is a quarter of a cold start), but for a product reading more than
    LARGE_PRODUCT stored values, which only a large index makes: that one is scipy's."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def of(cls, matrix) -> "Columns":
        """From a scipy sparse matrix (at build time). Row numbers and pointers are 32-bit where they
        fit (half the memory and disk of a million passages' postings, and scipy takes them as they
        are: a product through it copies none)."""
        csc = matrix.tocsc()
        csc.sort_indices()
        index = np.int32 if max(csc.nnz, csc.shape[0]) < 2 ** 31 else np.int64
        return cls(csc.data.astype(np.float64), csc.indices.astype(index), csc.indptr.astype(index), tuple(csc.shape))

    def dot(self, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The matrix times a vector that is zero but for `weights` at columns `ids`."""
        ids = np.asarray(ids, dtype=np.int64)
        if self.is_large(ids):
            return self._scipy()[:, ids] @ np.asarray(weights, dtype=np.float64)
        rows, values, _ = self.column_values(ids, weights)
        if not len(rows):
            return np.zeros(self.shape[0])
        return np.bincount(rows, values, minlength=self.shape[0])

    def is_large(self, ids: np.ndarray) -> bool:
        """Whether a product with these columns reads more than LARGE_PRODUCT stored values."""
        return bool(len(ids)) and int((self.indptr[ids + 1] - self.indptr[ids]).sum()) > LARGE_PRODUCT

    def shares_layout(self, other: "Columns") -> bool:
        return self.indptr is other.indptr and self.indices is other.indices

    def column_values(self, ids: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The chosen columns' stored values times their column's weight, the rows they are in (in
        order within a column), and each column's count of them."""
        offsets, lengths, rows = self._positions(np.asarray(ids, dtype=np.int64))
        return rows, self.data[offsets] * np.repeat(weights, lengths), lengths

    def _scipy(self):
        """The matrix as scipy's, for products reading more than LARGE_PRODUCT stored values: its
        compiled loop makes no temporary arrays of that size (the FAQ questions' cosines at a million
        passages, 1.6M values: 14.7 -> 4.2 ms). Made on first such product; a small index never
        imports scipy (a quarter of a cold start)."""
        made = _SCIPY_FORMS.get(id(self.data))
        if made is None or made[0] is not self.data:
            made = (self.data, self.to_scipy())
            _SCIPY_FORMS[id(self.data)] = made
        return made[1]

    def _positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where the chosen columns' stored values are (offsets into data), each column's count,
        and their rows. Matrices sharing one layout (BM25 and TF-IDF are fitted from the same
        counts) share the last answer: a question's columns are found once for both."""
        global _LAST_POSITIONS
        key = ids.tobytes()
        last = _LAST_POSITIONS
        if last is not None and last[0] is self.indptr and last[1] is self.indices and last[2] == key:
            return last[3]
        starts = self.indptr[ids]
        lengths = self.indptr[ids + 1] - starts
        total = int(lengths.sum())
        # the positions of every stored value of the chosen columns, in one array
        offsets = np.arange(total) + np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        found = (offsets, lengths, self.indices[offsets])
        _LAST_POSITIONS = (self.indptr, self.indices, key, found)  # holds the arrays: their ids stay theirs
        return found

    def to_scipy(self):
        from scipy import sparse

        return sparse.csc_matrix((self.data, self.indices, self.indptr), shape=self.shape)


_LAST_POSITIONS: tuple | None = None  # Columns._positions' last answer, with the layout it was for
_SCIPY_FORMS: dict[int, tuple] = {}  # Columns._scipy's matrices, by their data array (held: its id stays its own)
# Stored values a product reads beyond which scipy's compiled loop is used (Columns._scipy): at 1M passages
# the FAQ cosines read ~1.6M, a BM25 or TF-IDF product ~250k (numpy's own way stays faster there).
LARGE_PRODUCT = 1_000_000


@dataclass(frozen=True)
class TermCounts:
    """How often each term occurs in each passage: what BM25 and TF-IDF are fitted from."""

    matrix: object  # passages x terms scipy CSR matrix of float64 counts, sorted columns (as CountVectorizer makes it)
    first_seen: np.ndarray  # the term ids in the order they first occur, passage after passage, word after word

    @classmethod
    def of_ids(cls, term_ids: np.ndarray, doc_lengths: np.ndarray, n_terms: int) -> "TermCounts":
        """From every passage's term ids in one array, passage after passage, and each passage's
        number of terms."""
        from scipy import sparse

        # the ids are grouped by passage already: the rows' layout is their lengths (no row index per
        # term and no conversion from coordinates, each the size of the corpus's words)
        indptr = np.concatenate([[0], np.cumsum(doc_lengths)])
        matrix = sparse.csr_matrix((np.ones(len(term_ids)), term_ids, indptr), shape=(len(doc_lengths), n_terms))
        matrix.sum_duplicates()
        terms, first = np.unique(term_ids, return_index=True)
        return cls(matrix, terms[np.argsort(first)])

    @classmethod
    def stacked(cls, parts: list["TermCounts"], columns: list[np.ndarray], n_terms: int) -> "TermCounts":
        """The counts of several runs of passages, one run after the other; each part's terms are
        numbered its own way, and columns[k] maps part k's term numbers to the shared ones (in the
        same order, so each row's columns stay sorted)."""
        from scipy import sparse

        lengths = np.concatenate([np.diff(part.matrix.indptr) for part in parts])
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate([column[part.matrix.indices] for part, column in zip(parts, columns)])
        data = np.concatenate([part.matrix.data for part in parts]).astype(np.float64, copy=False)
        matrix = sparse.csr_matrix((data, indices, indptr), shape=(len(lengths), n_terms))
        matrix.has_canonical_format = True  # each part's rows are summed and sorted already
        seen = np.concatenate([column[part.first_seen] for part, column in zip(parts, columns)])
        terms, first = np.unique(seen, return_index=True)
        return cls(matrix, terms[np.argsort(first)])


def term_counts(docs: list[list[str]], vocabulary: dict[str, int]) -> TermCounts:
    """The TermCounts of analysed passages (each a list of terms of the vocabulary)."""
    ids = np.fromiter((vocabulary[t] for doc in docs for t in doc), dtype=np.int64)
    return TermCounts.of_ids(ids, np.fromiter(map(len, docs), dtype=np.int64, count=len(docs)), len(vocabulary))


def _query_vector(query_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    counts = Counter(query_ids)
    ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    return ids, np.fromiter(counts.values(), dtype=np.float64, count=len(counts))


class Bm25Retriever:
    """Okapi BM25 exactly as rank_bm25.BM25Okapi computes it, from a sparse weight matrix."""

    def __init__(self, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25):
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon

    def fit(self, docs: list[list[str]], vocabulary: dict[str, int]) -> "Bm25Retriever":
        return self.fit_counts(term_counts(docs, vocabulary))

    def fit_counts(self, counts: TermCounts) -> "Bm25Retriever":
        """rank_bm25's idf, its floor for negative ones (epsilon x the mean idf) and its avgdl,
        operation for operation, so every weight is the same to the last bit."""
        matrix = counts.matrix
        n_docs = matrix.shape[0]
        doc_lengths = np.asarray(matrix.sum(axis=1)).ravel()
        avgdl = int(doc_lengths.sum()) / n_docs
        df = np.bincount(matrix.indices, minlength=matrix.shape[1])
        idf_of_df = {d: math.log(n_docs - d + 0.5) - math.log(d + 0.5) for d in np.unique(df).tolist()}
        idf = np.array([idf_of_df[d] for d in df.tolist()], dtype=np.float64)
        # rank_bm25 adds the idfs up one by one in the order the terms first occur (a float sum depends on it)
        mean_idf = float(np.cumsum(idf[counts.first_seen])[-1]) / len(idf)
        self.idf_ = np.where(idf < 0, self.epsilon * mean_idf, idf)
        rows = np.repeat(np.arange(n_docs), np.diff(matrix.indptr))
        norm = self.k1 * (1 - self.b + self.b * doc_lengths / avgdl)
        tf = matrix.data
        weights = matrix.copy()
        weights.data = self.idf_[matrix.indices] * tf * (self.k1 + 1) / (tf + norm[rows])
        self.weights_ = Columns.of(weights)
        return self

    def scores(self, query_ids: list[int]) -> np.ndarray:
        """Score of every passage; repeated query terms count again, as in rank_bm25."""
        if not query_ids:
            return np.zeros(self.weights_.shape[0])
        ids, counts = _query_vector(query_ids)
        return self.weights_.dot(ids, counts)

    def best_possible(self, query_ids: list[int]) -> float:
        """An upper bound of the score any passage can get (tf -> infinity): scales BM25 to [0, 1]."""
        return float(sum(max(self.idf_[t], 0.0) for t in query_ids) * (self.k1 + 1))


class TfidfRetriever:
    """Cosine similarity of scikit-learn TF-IDF vectors (l2-normalised, optional sublinear tf)."""

    def __init__(self, sublinear_tf: bool = True):
        self.sublinear_tf = sublinear_tf

    def fit(self, docs: list[list[str]], vocabulary: dict[str, int]) -> "TfidfRetriever":
        return self.fit_counts(term_counts(docs, vocabulary))

    def fit_counts(self, counts: TermCounts) -> "TfidfRetriever":
        """What TfidfVectorizer.fit_transform gives for the same passages and vocabulary."""
        from sklearn.feature_extraction.text import TfidfTransformer

        transformer = TfidfTransformer(sublinear_tf=self.sublinear_tf, norm="l2")
        self.weights_ = Columns.of(transformer.fit_transform(counts.matrix))
        self.idf_ = transformer.idf_
        return self

    def query_weights(self, query_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The query's TF-IDF vector as (term ids, weights): what TfidfVectorizer.transform gives."""
        ids, counts = _query_vector(query_ids)
        tf = 1.0 + np.log(counts) if self.sublinear_tf else counts
        weights = tf * self.idf_[ids]
        norm = np.sqrt(np.sum(weights ** 2))
        return ids, (weights / norm if norm > 0 else weights)

    def scores(self, query_ids: list[int]) -> np.ndarray:
        if not query_ids:
            return np.zeros(self.weights_.shape[0])
        ids, weights = self.query_weights(query_ids)
        return self.weights_.dot(ids, weights)


class LsaRetriever:
    """Cosine similarity in a latent space of the TF-IDF matrix (TruncatedSVD): passages that
    share no word with the question can still be near it ("stress" and "relax" keep company)."""

    def __init__(self, components: int = 50, exact_max_cells: int = 5_000_000, fit_max_passages: int = 100_000):
        self.components = components
        self.exact_max_cells = exact_max_cells
        self.fit_max_passages = fit_max_passages

    def rank(self, tfidf: "TfidfRetriever") -> int:
        """How many dimensions the space of this TF-IDF matrix has."""
        return max(1, min(self.components, min(tfidf.weights_.shape) - 1))

    def fit(self, tfidf: "TfidfRetriever", into: tuple[np.ndarray, np.ndarray] | None = None) -> "LsaRetriever":
        """Find the space and place every passage in it. `into`: the arrays to write it in (components,
        rank x terms; the passages' unit vectors, passages x rank), memory a build shares with the
        process fitting it, so nothing is sent back and no copy is held in two processes."""
        matrix = tfidf.weights_.to_scipy()
        n = self.rank(tfidf)
        if matrix.shape[0] * matrix.shape[1] <= self.exact_max_cells:
            # the exact SVD (LAPACK, via numpy) of a small passages x terms matrix: unlike a randomized
            # one it gives the same space on every machine, so rankings and the eval floors do too
            _, _, vt = np.linalg.svd(matrix.toarray(), full_matrices=False)
        else:
            # a large corpus: the randomized truncated SVD of the sparse matrix (scikit-learn's
            # TruncatedSVD algorithm), never made dense; seeded, so one machine builds the same space
            from sklearn.utils.extmath import randomized_svd

            # on the matrix as it is (by term): a by-passage copy gives the same products, bit for bit,
            # and would take as much memory again as the matrix (0.6 GB at a million passages)
            _, _, vt = randomized_svd(_sample_rows(matrix, self.fit_max_passages), n, n_iter=5, random_state=0)
        components, docs = into if into is not None else (np.empty((n, matrix.shape[1])), np.empty((matrix.shape[0], n)))
        components[:] = vt[:n]
        del vt
        _place_rows(matrix, components, docs)
        self.components_, self.docs_ = components, docs
        return self

    def use_arrays(self, components: np.ndarray, docs: np.ndarray) -> "LsaRetriever":
        """Take a space fitted elsewhere (saved, or fitted in another process)."""
        self.components_, self.docs_ = components, docs
        return self

    def scores(self, ids: np.ndarray, weights: np.ndarray, within: np.ndarray | None = None) -> np.ndarray:
        """Cosine (negative ones as 0) of each passage with a TF-IDF query vector given as (ids, weights);
        with `within` (passage numbers), of those passages only, the others 0."""
        out = np.zeros(self.docs_.shape[0])
        if ids.size == 0:
            return out
        z = self.components_[:, ids] @ weights
        norm = np.sqrt(np.sum(z ** 2))
        if norm > 0 and within is None:
            return np.clip(self.docs_ @ (z / norm), 0.0, None)
        if norm > 0:
            out[within] = np.clip(self.docs_[within] @ (z / norm), 0.0, None)
        return out


def _sample_rows(matrix, most: int):
    """The matrix, or a seeded sample of `most` of its rows (passages) in their order when it has
    more: the space of a million passages is found from a hundred thousand of them."""
    if matrix.shape[0] <= most:
        return matrix
    return matrix[np.sort(np.random.default_rng(0).choice(matrix.shape[0], most, replace=False))]


def _place_rows(matrix, components: np.ndarray, out: np.ndarray, block: int = 65536) -> None:
    """Each passage's unit vector in the space (its row of the matrix times the components, scaled to
    unit length), written into `out` a block of passages at a time: no temporary the size of a million
    passages' vectors. A row's sum runs in the same order as in one whole product, bit for bit."""
    for start in range(0, matrix.shape[0], block):
        part = np.asarray(matrix[start:start + block] @ components.T)
        norms = np.sqrt(np.sum(part ** 2, axis=1, keepdims=True))
        part /= np.where(norms > 0, norms, 1.0)
        out[start:start + len(part)] = part


class PostingScores:
    """One retriever's scores for a question kept as its postings (each of the question's columns'
    stored values times the column's weight, and the rows they are in), not as one score per passage:
    a hybrid search shows them only for the passages it returns. At a million passages the arrays it
    does not make were 3 of the hybrid search's passes over every passage."""

    __slots__ = ("rows", "values", "lengths")

    def __init__(self, rows: np.ndarray, values: np.ndarray, lengths: np.ndarray):
        self.rows, self.values, self.lengths = rows, values, lengths

    def at(self, numbers: np.ndarray) -> np.ndarray:
        """The scores of the passages numbered `numbers`: each column's rows are in order, so a
        binary search per column of the question finds them."""
        numbers = np.asarray(numbers, dtype=np.int64)
        out = np.zeros(numbers.size)
        start = 0
        for length in self.lengths.tolist():
            if length:
                column = self.rows[start:start + length]
                where = np.minimum(np.searchsorted(column, numbers), length - 1)
                found = column[where] == numbers
                out[found] += self.values[start + where[found]]
            start += length
        return out


def scores_at(scores: "np.ndarray | PostingScores", numbers: np.ndarray) -> np.ndarray:
    return scores.at(numbers) if isinstance(scores, PostingScores) else scores[numbers]


def lexical_scores(bm25: Bm25Retriever, tfidf: TfidfRetriever, query_ids: list[int], bm25_weight: float,
                   scale: float = 1.0) -> dict[str, "np.ndarray | PostingScores"]:
    """A question's BM25 and TF-IDF scores and their fusion ("lexical", see `fuse`). When the two
    matrices share one layout (fitted from the same counts), the fusion is made value by value over
    the question's postings and summed once: one pass over the passages instead of five."""
    n = bm25.weights_.shape[0]
    ids, counts = _query_vector(query_ids)
    if not query_ids or not bm25.weights_.shares_layout(tfidf.weights_) or bm25.weights_.is_large(ids):
        parts = {"bm25": bm25.scores(query_ids), "tfidf": tfidf.scores(query_ids)}
        parts["lexical"] = fuse(parts["bm25"], bm25.best_possible(query_ids), parts["tfidf"], bm25_weight, scale)
        return parts
    rows, bm25_values, lengths = bm25.weights_.column_values(ids, counts)
    _, tfidf_values, _ = tfidf.weights_.column_values(*tfidf.query_weights(query_ids))
    fused = fuse(bm25_values, bm25.best_possible(query_ids), tfidf_values, bm25_weight, scale)
    return {"bm25": PostingScores(rows, bm25_values, lengths), "tfidf": PostingScores(rows, tfidf_values, lengths),
            "lexical": np.bincount(rows, fused, minlength=n)}


def fuse(bm25: np.ndarray, bm25_best: float, tfidf: np.ndarray, bm25_weight: float, scale: float = 1.0) -> np.ndarray:
    """Hybrid score: BM25 scaled by its best possible value for the query, blended with the cosine,
    all times `scale`.

    Both parts lie in [0, 1], so the fused score is comparable across questions (the router's
    out-of-scope threshold is set on it). Two passes over the passages (at a million, each counts).
    """
    out = tfidf * (scale * (1.0 - bm25_weight))
    if bm25_best > 0:
        out += bm25 * (scale * bm25_weight / bm25_best)
    return out


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best positive scores, best first (ties broken by passage order)."""
    positive = np.flatnonzero(scores > 0)
    if positive.size == 0 or k <= 0:
        return positive[:0]
    if positive.size > k:
        values = scores[positive]
        kth = values[np.argpartition(values, values.size - k)[values.size - k]]
        positive = positive[values >= kth]  # with every one tied with the k-th: passage order decides among them
    order = np.lexsort((positive, -scores[positive]))
    return positive[order][:k]
