"""BM25 peers on the same tokens and queries as ours: rank_bm25, bm25s (numpy, numba), tantivy.

Each peer is an adapter with `fit(docs)` and `top10(query_terms) -> passage ids`. The tokens are
the index analyzer's terms of each passage (what our BM25 was fitted on) and of each question,
so only the scoring engines differ. A peer whose package is missing is reported as such.
"""

from __future__ import annotations

import numpy as np


class Ours:
    name = "massage-qa BM25 (scores + top_k)"

    def __init__(self, index):
        from assistant.retrieval import top_k

        self.index, self._top_k = index, top_k

    def fit(self, docs):  # already fitted by the index build; refit only to time it
        from assistant.retrieval import Bm25Retriever

        Bm25Retriever(self.index.bm25.k1, self.index.bm25.b, self.index.bm25.epsilon).fit(docs, self.index.vocabulary)

    def top10(self, terms):
        vocabulary = self.index.vocabulary
        ids = [vocabulary[t] for t in terms if t in vocabulary]
        return self._top_k(self.index.bm25.scores(ids), 10)


class RankBm25:
    name = "rank_bm25 BM25Okapi (get_scores + top-10)"

    def fit(self, docs):
        from rank_bm25 import BM25Okapi

        self.model = BM25Okapi(docs)

    def scores(self, terms):
        return self.model.get_scores(terms)

    def top10(self, terms):
        scores = self.model.get_scores(terms)
        best = np.argpartition(-scores, 10)[:10] if scores.size > 10 else np.arange(scores.size)
        return best[np.argsort(-scores[best], kind="stable")]


class Bm25s:
    def __init__(self, backend: str):
        self.backend = backend
        self.name = f"bm25s {backend} backend"

    def fit(self, docs):
        import bm25s

        self.model = bm25s.BM25(backend=self.backend)
        self.model.index(docs, show_progress=False)
        self.vocab = self.model.vocab_dict
        if self.backend == "numba":  # compile outside the timed queries
            self.top10([next(iter(self.vocab))])

    def top10(self, terms):
        known = [t for t in terms if t in self.vocab]
        if not known:
            return np.array([], dtype=int)
        docs, _ = self.model.retrieve([known], k=10, show_progress=False, n_threads=1,
                                      backend_selection=self.backend)
        return docs[0]


class Tantivy:
    name = "tantivy (Rust, whitespace tokens)"

    def fit(self, docs):
        import tantivy

        self.tantivy = tantivy
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)
        writer = self.index.writer(heap_size=512_000_000)
        for doc in docs:
            writer.add_document(tantivy.Document(body=" ".join(doc)))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def top10(self, terms):
        if not terms:
            return []
        q = self.tantivy.Query
        query = q.boolean_query([(self.tantivy.Occur.Should, q.term_query(self.schema, "body", t)) for t in terms])
        return [address for _, address in self.searcher.search(query, 10).hits]


def available(index, skip: tuple[str, ...] = ()) -> list:
    """Ours first, then every peer whose package imports here (less those named in skip)."""
    peers = [Ours(index), RankBm25()]
    for module, make in (("bm25s", lambda: Bm25s("numpy")), ("numba", lambda: Bm25s("numba")),
                         ("tantivy", Tantivy)):
        if module in skip:
            continue
        try:
            __import__(module)
            if module == "numba":
                __import__("bm25s")
            peers.append(make())
        except ImportError:
            peers.append(Missing(module))
    return peers


class Missing:
    def __init__(self, module: str):
        self.name = f"{module} (not installed)"
        self.module = module
