"""The intent model: its stored arrays reproduce scikit-learn exactly; its training examples."""

from __future__ import annotations

import numpy as np

from assistant.router import features, load_intents


def test_router_arrays_give_scikit_learns_probabilities(index):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    intents = load_intents()
    texts = [e for s in intents.values() for e in s.examples]
    labels = [s.name for s in intents.values() for _ in s.examples]
    from threadpoolctl import threadpool_limits

    vectorizer = TfidfVectorizer(analyzer=lambda t: features(index.analyzer, t), sublinear_tf=True)
    with threadpool_limits(1):  # as the index build fits it (threaded BLAS is slower on a busy machine)
        model = LogisticRegression(C=index.router.C, solver="newton-cg", max_iter=5000).fit(vectorizer.fit_transform(texts), labels)
    for q in ["what oil?", "how offten", "my wife is expecting", "recipe for lasagne", "xyzzy"]:
        expected = model.predict_proba(vectorizer.transform([q]))[0]
        np.testing.assert_allclose(index.router.probabilities(q), expected, atol=1e-6)


def test_every_intent_has_enough_training_examples():
    intents = load_intents()
    for name in ("oil_choice", "frequency", "posture", "mistakes", "when_to_avoid", "duration", "technique",
                 "preparation", "aftercare", "benefits", "self_massage", "general", "out_of_scope", "smalltalk"):
        assert len(intents[name].examples) >= 25, name


def test_training_examples_are_not_evaluation_questions_or_paraphrases_of_them():
    """Otherwise the evaluation measures memory, not routing: "what is friction massage" taught
    the router the labelled "what is friction in massage" word for word."""
    import difflib
    import json

    from assistant.text import words
    from conftest import CORPUS

    questions = [" ".join(words(json.loads(l)["question"]))
                 for name in ("questions.jsonl", "questions-second.jsonl") for l in (CORPUS / name).open()]
    matchers = []
    for q in questions:
        matcher = difflib.SequenceMatcher(None, "", q)  # caches the question's side once
        matchers.append(matcher)
    for spec in load_intents().values():
        for example in spec.examples:
            text = " ".join(words(example))
            for matcher in matchers:
                matcher.set_seq1(text)
                # quick_ratio bounds ratio from above: most pairs are ruled out without the full match
                if matcher.quick_ratio() >= 0.82:
                    assert matcher.ratio() < 0.82, (spec.name, example, matcher.b)

