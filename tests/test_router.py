"""The intent model: its stored arrays reproduce scikit-learn exactly; its training examples."""

from __future__ import annotations

import numpy as np

from assistant.router import features, labelled_examples, load_intents


def test_router_arrays_give_scikit_learns_probabilities(index):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from threadpoolctl import threadpool_limits

    intents = load_intents()  # its examples and the labelled sets' tune halves, as the index build fits it
    pairs = [(e, s.name) for s in intents.values() for e in s.examples] + labelled_examples(intents)
    texts, labels = [t for t, _ in pairs], [label for _, label in pairs]

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


def test_examples_from_the_labelled_sets_are_tune_questions_never_held_ones_or_their_paraphrases():
    """The intent model learns people's wording from the tune halves; a held question (or one
    worded like it) among its examples would make the held figures measure memory."""
    from assistant.config import load_config
    from assistant.fit_router import labelled_rows, matchers_of, worded_like
    from conftest import CORPUS

    examples = labelled_examples(load_intents())
    assert len(examples) >= 300
    tune, held = labelled_rows(CORPUS, load_config().conversation_follow_up_max_words)
    assert set(examples) <= set(tune)
    # every tune example not worded like a held one, and no other: what `python -m assistant.fit_router`
    # writes (rerun it after editing a labelled set)
    matchers = matchers_of(held)
    assert examples == [p for p in dict.fromkeys(tune) if not worded_like(p[0], matchers)]


def test_training_examples_are_not_evaluation_questions_or_paraphrases_of_them():
    """Otherwise the evaluation measures memory, not routing: "what is friction massage" taught
    the router the labelled "what is friction in massage" word for word."""
    import json

    from assistant.fit_router import matchers_of, worded_like
    from conftest import CORPUS

    questions = [json.loads(line)["question"] for name in ("questions.jsonl", "questions-second.jsonl")
                 for line in (CORPUS / name).open()]
    matchers = matchers_of(questions)
    for spec in load_intents().values():
        for example in spec.examples:
            assert not worded_like(example, matchers), (spec.name, example)


def test_a_learned_example_with_an_unknown_intent_is_a_clear_data_error(tmp_path, monkeypatch):
    import json

    import pytest

    import assistant.datafiles as datafiles
    from assistant.datafiles import DataFileError

    (tmp_path / "router-examples.json").write_text(json.dumps({"examples": [["what oil", "oil_choice"], ["hi", "chitchat"]]}))
    monkeypatch.setattr(datafiles, "DATA_DIR", tmp_path)
    with pytest.raises(DataFileError, match="example 2: unknown intent 'chitchat'"):
        labelled_examples(load_intents())
    (tmp_path / "router-examples.json").write_text(json.dumps({"examples": [["what oil"]]}))
    with pytest.raises(DataFileError, match=r"example 1 should be \[text, intent\]"):
        labelled_examples(load_intents())


def test_texts_vectorised_together_are_each_the_vector_of_the_text_alone(index):
    """The build vectorises every FAQ question in one call, looking each word's character n-grams up
    once for them all; each row is still, bit for bit, what the text alone gives."""
    texts = list(dict.fromkeys(p.section for p in index.passages)) + ["how offten", "", "oil oil oil?", "lasagne lasagne"]
    together = index.router.vectors(texts).to_scipy().toarray()
    assert together.shape == (len(texts), len(index.router.vocabulary_))
    for row, text in zip(together, texts):
        alone = np.zeros(len(index.router.vocabulary_))
        if text:
            ids, weights = index.router.vector(text)
            alone[ids] = weights
        assert np.array_equal(row, alone), text


def test_the_story_told_before_a_question_does_not_take_its_topic_away(assistant):
    # the words of the story ("the gym", "the hospital") pulled the intent model to another topic; the
    # clause that asks now counts as much as the whole message
    for question, intent in [("my brother lifts weights every day at the gym, what oil is best", "oil_choice"),
                             ("hes been working nights at the hospital all month, what should i have ready before i start",
                              "preparation")]:
        assert assistant.route(question)[0].intent == intent, question


def test_whether_a_question_is_about_the_guides_at_all_is_read_from_the_whole_message(index):
    # the part that asks changes which topic, never how likely the message is out of scope or small talk
    router = index.router
    text, asked = "gday, the missus has been on her feet all day at work, reckon a back rub would help?", "reckon a back rub would help?"
    _, _, whole = router.predict_with(text, "out_of_scope", "smalltalk")
    _, _, mixed = router.predict_with(text, "out_of_scope", "smalltalk", also=asked)
    assert np.allclose(whole, mixed)


def test_reply_variants_of_a_reply_the_intent_lacks_are_a_clear_data_error(monkeypatch):
    import copy

    import pytest

    import assistant.datafiles as datafiles
    from assistant.datafiles import DataFileError

    real = datafiles.load("intents.toml")
    changed = copy.deepcopy(real)
    changed["smalltalk"]["reply_variants"] = {"thanks": ["ta"], "farewell": ["laters"]}
    monkeypatch.setattr(datafiles, "load", lambda name: changed if name == "intents.toml" else real)
    with pytest.raises(DataFileError, match=r"smalltalk.reply_variants: \['farewell'\]"):
        load_intents()
