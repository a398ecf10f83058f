"""Retrieval: BM25 identical to rank_bm25, TF-IDF identical to scikit-learn, fused rankings sane."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from assistant.index import index_text
from assistant.retrieval import top_k
from conftest import CORPUS

QUERIES = [
    "what oil should I use", "how often", "oil oil oil", "knots shoulders knots", "zzzunknownword",
    "", "the and of", "pregnant lower back abdomen", "how long should a back massage last 20 minutes",
    "massage massage back", "friction effleurage petrissage kneading", "drink water after",
]


@pytest.fixture(scope="module")
def docs(index):
    return [index.analyzer.terms(index_text(p)) for p in index.passages]


def test_bm25_scores_equal_rank_bm25_on_the_real_corpus(index, docs):
    reference = BM25Okapi(docs)
    extra = [" ".join(index.analyzer.terms(p.section)) for p in index.passages[::7]]
    for query in QUERIES + extra:
        terms = index.analyzer.terms(query)
        expected = reference.get_scores(terms)
        got = index.bm25.scores(index.query_ids(query))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9, err_msg=query)


def test_tfidf_scores_equal_scikit_learn_cosine(index, docs):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    vectorizer = TfidfVectorizer(analyzer=lambda t: t, sublinear_tf=True, vocabulary=index.vocabulary)
    matrix = vectorizer.fit_transform(docs)
    for query in QUERIES:
        terms = index.analyzer.terms(query)
        expected = cosine_similarity(vectorizer.transform([terms]), matrix)[0]
        np.testing.assert_allclose(index.tfidf.scores(index.query_ids(query)), expected, atol=1e-9, err_msg=query)


def test_lsa_scores_equal_scikit_learns_truncated_svd_cosine(index, docs):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    vectorizer = TfidfVectorizer(analyzer=lambda t: t, sublinear_tf=True, vocabulary=index.vocabulary)
    matrix = vectorizer.fit_transform(docs)
    svd = TruncatedSVD(n_components=index.lsa.components_.shape[0], algorithm="arpack", random_state=0).fit(matrix)
    latent = svd.transform(matrix)
    for query in QUERIES:
        ids = index.query_ids(query)
        got = index.lsa.scores(*index.tfidf.query_weights(ids)) if ids else index.lsa.scores(np.array([], int), np.array([]))
        terms = index.analyzer.terms(query)
        if not ids:
            assert not got.any()
            continue
        expected = np.clip(cosine_similarity(svd.transform(vectorizer.transform([terms])), latent)[0], 0, None)
        np.testing.assert_allclose(got, expected, atol=1e-9, err_msg=query)


def test_the_semantic_part_never_outweighs_the_words(index):
    # hybrid = lexical + w * best lexical * LSA cosine: a passage the words do not reach can come in,
    # but never above the best lexical match by more than that share
    for query in QUERIES[:5] + QUERIES[7:]:
        scores, parts = index.score(query, "hybrid")
        if "lsa" in parts:
            assert scores.max() <= parts["lexical"].max() * (1 + index.semantic_weight) + 1e-12
            assert int(np.argmax(parts["lexical"])) in top_k(scores, 3)


def test_the_best_k_are_found_with_the_latent_space_read_for_the_passages_that_can_reach_them(index):
    """Scoring with k reads the latent space only for the passages that can still be among the k
    best (after a boost); the k best, and their scores, are those of scoring every passage."""
    questions = [json.loads(line) for line in (CORPUS / "questions-lay.jsonl").open(encoding="utf-8")]
    boosts = [None, np.where(np.arange(len(index.passages)) % 7 == 0, 1.6, 1.0)]
    pruned = 0
    for question in [q["question"] for q in questions] + QUERIES:
        for boost in boosts:
            full = index.rank(*index.score(question, "hybrid"), 10, boost)
            scores, parts = index.score(question, "hybrid", k=10, boost=boost)
            fast = index.rank(scores, parts, 10, boost)
            assert [(h.passage.id, round(h.score, 12)) for h in fast] == \
                   [(h.passage.id, round(h.score, 12)) for h in full], question
            pruned += "lsa" in parts and np.count_nonzero(parts["lsa"]) < np.count_nonzero(index.score(question)[1]["lsa"])
    assert pruned >= len(questions) // 4  # on most questions only some passages are read


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "tfidf"])
def test_search_never_returns_zero_scores_and_ranks_best_first(index, mode):
    hits = index.search("oil for a relaxing massage", mode, k=50)
    assert hits and all(h.score > 0 for h in hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert index.search("zzzunknownword", mode) == []


def test_top_k_picks_the_best_positive_scores():
    scores = np.array([0.0, 0.5, 0.2, 0.0, 0.9, 0.2])
    assert top_k(scores, 3).tolist() == [4, 1, 2]
    assert top_k(scores, 10).tolist() == [4, 1, 2, 5]
    assert top_k(np.zeros(4), 3).tolist() == []


def test_top_k_breaks_a_tie_at_the_last_place_by_passage_order():
    scores = np.full(22, 0.4)
    scores[[0, 13]] = 0.0, 0.9
    assert top_k(scores, 3).tolist() == [13, 1, 2]  # a selection alone may keep any two of the twenty tied
    assert top_k(scores, 21).tolist() == [13] + [i for i in range(1, 22) if i != 13]


@pytest.mark.parametrize("query, must_mention", [
    ("what oil should I use", "oil"),
    ("how often should I give a back massage", "often"),
    ("how long should a back massage last", "minutes"),
    ("common mistakes to avoid", "mistake"),
    ("drink water after a massage", "water"),
])
def test_the_first_passage_answers_plain_questions(index, query, must_mention):
    first = index.search(query)[0].passage
    assert must_mention in (first.section + " " + first.text).lower()


@pytest.mark.parametrize("query, must_mention", [
    ("what should she wear", "clothing"),
    ("can i go for a run straight after", "strenuous"),
    ("do i need to take lessons first", "training"),
    ("which direction do my strokes go, up or down", "upward"),
])
def test_lay_words_reach_the_guides_words(index, query, must_mention):
    """The thesaurus carries people's words to the guides' ones (wear -> clothing, a run -> strenuous activity)."""
    top = " ".join(h.passage.text for h in index.search(query, k=3)).lower()
    assert must_mention in top


def test_position_myself_is_the_givers_posture_not_self_massage(assistant):
    route, hits = assistant.route("how should I position myself so I don't hurt my own back while massaging")
    top = " ".join(h.passage.text for h in hits[:3])
    assert "straining your back" in top
    assert not any("yourself" in h.passage.section.lower() or "myself" in h.passage.section.lower() for h in hits[:1])


@pytest.mark.parametrize("question", ["does my own posture matter while im giving the massage", "is posture important for the giver"])
def test_the_givers_posture_does_not_open_on_what_massage_does_for_posture(assistant, question):
    # "Can a back massage help improve posture?" is worded like these, but answers the other sense
    route, hits = assistant.route(question)
    assert route.sense == "giver"
    assert not any("improve posture" in h.passage.text or "alignment" in h.passage.text for h in hits[:2])


def test_a_large_corpus_gets_the_randomized_sparse_svd_with_the_same_leading_space(index):
    """Above lsa.exact_max_cells the matrix is never made dense; the randomized SVD finds the same
    leading directions as the exact one (compared by the cosine of each component, up to sign)."""
    from assistant.retrieval import LsaRetriever

    exact = LsaRetriever(10).fit(index.tfidf)
    randomized = LsaRetriever(10, exact_max_cells=0).fit(index.tfidf)
    agreement = np.abs(np.sum(exact.components_[:5] * randomized.components_[:5], axis=1))
    assert agreement.min() > 0.95
    scores = randomized.scores(*index.tfidf.query_weights(index.query_ids("what oil should i use")))
    assert scores.shape == (len(index.passages),) and 0 <= scores.min() and scores.max() <= 1 + 1e-9


def test_a_corpus_past_lsa_fit_max_passages_gets_a_space_found_from_a_sample_that_places_every_passage(index):
    """Up to lsa.fit_max_passages the space is found from every passage; past it, from a seeded sample,
    and the passages left out of the sample are still placed in it (a unit vector each, as the others)."""
    from assistant.retrieval import LsaRetriever

    n = len(index.passages)
    whole = LsaRetriever(10, exact_max_cells=0).fit(index.tfidf)
    at_limit = LsaRetriever(10, exact_max_cells=0, fit_max_passages=n).fit(index.tfidf)
    assert np.array_equal(whole.components_, at_limit.components_)
    sampled = LsaRetriever(10, exact_max_cells=0, fit_max_passages=n // 2).fit(index.tfidf)
    again = LsaRetriever(10, exact_max_cells=0, fit_max_passages=n // 2).fit(index.tfidf)
    assert np.array_equal(sampled.docs_, again.docs_)  # seeded: one corpus, one space
    assert not np.array_equal(sampled.components_, whole.components_)
    assert sampled.docs_.shape == whole.docs_.shape
    lengths = np.linalg.norm(sampled.docs_, axis=1)
    placed = lengths > 0
    assert placed.sum() > 0.95 * n and np.allclose(lengths[placed], 1.0)
    assert abs(float(np.sum(whole.components_[0] * sampled.components_[0]))) > 0.95  # the leading direction


def test_a_large_product_gives_the_same_scores_by_scipys_compiled_loop(index, monkeypatch):
    """Beyond LARGE_PRODUCT stored values a product is scipy's (a million-passage index); the scores
    are the same as numpy's own way, for every matrix the answer uses."""
    import assistant.retrieval as retrieval

    questions = ("what oil should i use", "how often can i massage my pregnant wife", "kneading the shoulders gently")
    queries = [(m, *m_query) for q in questions for m, m_query in (
        (index.bm25.weights_, (np.array(sorted(set(index.query_ids(q)))), np.ones(len(set(index.query_ids(q)))))),
        (index.tfidf.weights_, index.tfidf.query_weights(index.query_ids(q))),
        (index.faq, index.router.vector(q)))]
    small = [m.dot(ids, w) for m, ids, w in queries]
    monkeypatch.setattr(retrieval, "LARGE_PRODUCT", 0)
    large = [m.dot(ids, w) for m, ids, w in queries]
    for a, b in zip(small, large):
        assert a.shape == b.shape and np.allclose(a, b, rtol=1e-12, atol=1e-15)


def test_a_hybrid_hit_shows_each_retrievers_own_score_and_their_fusion(index, monkeypatch):
    """The hybrid search fuses BM25 and TF-IDF over the question's postings, never making either
    one's array of every passage; the scores it shows per hit (`/why`) are still each retriever's own,
    and the fused score is the same as fusing the two arrays (also the way a large index takes)."""
    import assistant.retrieval as retrieval

    for query in QUERIES + ["my wife is pregnant, can i massage her lower back with almond oil"]:
        ids = index.query_ids(query)
        bm25, tfidf = index.bm25.scores(ids), index.tfidf.scores(ids)
        hits = index.search(query, "hybrid", k=20)
        for h in hits:
            n = index.passage_numbers[h.passage.id]
            assert h.scores["bm25"] == pytest.approx(bm25[n], abs=1e-12), query
            assert h.scores["tfidf"] == pytest.approx(tfidf[n], abs=1e-12), query
        index._lexical_memo.clear()
        monkeypatch.setattr(retrieval, "LARGE_PRODUCT", 0)  # the two arrays, then fused
        dense = index.score(query, "hybrid")[1]["lexical"]
        monkeypatch.undo()
        index._lexical_memo.clear()
        np.testing.assert_allclose(index.score(query, "hybrid")[1]["lexical"], dense, rtol=0, atol=1e-12, err_msg=query)
        assert [h.passage.id for h in index.search(query, "hybrid", k=20)] == [h.passage.id for h in hits]
