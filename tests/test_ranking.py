"""The retrieval stage: the priors a route brings (intent lift, FAQ lift, warnings first) and what they change."""

from __future__ import annotations


def test_the_intent_boost_lifts_passages_stating_the_value_asked_for(assistant):
    # "Even 10–15 minutes can make a big difference." stands under "Benefits of a Back Massage"
    question = "how many minutes should a back massage be"
    boosted = [h.passage.id for h in assistant.route(question)[1][:5]]
    plain = [h.passage.id for h in assistant.route(question, intent_boost=False)[1][:5]]
    assert "relaxing-back-massage-002" in boosted and "relaxing-back-massage-002" not in plain


def test_a_question_worded_like_a_guide_faq_gets_that_faq_first(assistant):
    question = "are back rubs good for posture"
    first = assistant.route(question)[1][0].passage
    assert first.section.startswith("Q9: Are back massages good for posture?")
    plain = assistant.with_settings(retrieval_faq_boost=0.0).route(question)[1][0].passage
    assert plain.id != first.id  # the words alone rank another guide's "Can a back massage help improve posture?" first


def test_a_faq_asked_nearly_as_the_user_asks_it_outranks_the_intents_sections(assistant):
    # routed as technique, whose sections hold other back-pain passages, the guide's own FAQ
    # answers it all the same
    from dataclasses import replace

    question = "massage someone with back pain ok?"
    route, _ = assistant.route(question)
    as_technique = replace(route, intent="technique", lift_intent="technique")
    lifted = assistant.rank(as_technique)
    assert "intent lift: technique" in lifted.reasons
    assert lifted.hits[0].passage.section.startswith("Q5: Is it okay to massage someone with back pain?")
    answer = assistant.answer(as_technique, lifted)
    assert answer.sentences[0].text == "Yes, but it depends on the type of pain."
    unfavoured = assistant.with_settings(retrieval_faq_favoured=1.0).rank(as_technique).hits[0].passage
    assert unfavoured.id != lifted.hits[0].passage.id  # the technique sections win without the FAQ's favour


def test_a_safety_ranking_starts_with_the_passages_its_warnings_quote(assistant):
    # "the flu" shares no word with the fever passage: plain retrieval does not find it
    route, hits = assistant.route("my son has the flu, should i rub his back")
    warning_passages = [q.passage.id for r in route.rules for q in r.quotes]
    assert route.route == "safety" and warning_passages
    assert [h.passage.id for h in hits[:len(set(warning_passages))]] == list(dict.fromkeys(warning_passages))
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score > b.score for a, b in zip(hits, hits[1:])), "scores must sort as the ranks do (TREC runs)"


def test_a_safety_answer_is_written_from_what_retrieval_found_not_from_the_warnings_order(assistant):
    route, ranking = assistant.route("my wife is pregnant, which oil should i use")
    assert route.route == "safety" and "warnings first" in ranking.reasons
    warned = [h for h in ranking.hits if h.reason.startswith("warning")]
    assert warned and ranking.hits[: len(warned)] == tuple(warned)  # the warnings' passages open the ranking
    scores = [h.score for h in ranking.retrieved]
    assert scores == sorted(scores, reverse=True) and all(not h.reason for h in ranking.retrieved)
    assert "oil" in ranking.retrieved[0].passage.text.lower()  # the body answers the question asked


def test_the_priors_applied_are_named(assistant):
    _, ranking = assistant.route("how many minutes should a back massage be")
    assert "intent lift: duration" in ranking.reasons
    _, plain = assistant.route("how many minutes should a back massage be", intent_boost=False)
    assert plain.reasons == ()


def test_the_faq_lift_is_the_formula_whatever_the_settings(assistant):
    """faq_lift changes only the passages of a lifted FAQ question (fast at a million passages);
    the result is the whole formula's: 1 + faq_boost * (c - faq_threshold) on top of the intent's
    lift, raised to the intent boost where the FAQ is asked nearly as the user asks it."""
    import numpy as np

    for settings in ({}, {"retrieval_faq_favoured": 0.2}, {"retrieval_faq_threshold": 0.1, "retrieval_faq_boost": 2.0}):
        a = assistant.with_settings(**settings)
        cfg, retriever, index = a.config, a.retriever, a.index
        for question in ("how often should you give a back massage", "is it okay to massage someone with back pain",
                         "what oil should i use", "can i massage my pregnant wife"):
            for intent_lift in (None, retriever.intent_lift("duration")):
                q_ids, q_weights = index.router.vector(question)
                cos = index.faq.dot(q_ids, q_weights)[index.faq_rows]
                got = retriever.faq_lift(question, intent_lift)
                if not (cos > cfg.retrieval_faq_threshold).any():
                    assert got is intent_lift
                    continue
                base = np.ones(len(cos)) if intent_lift is None else intent_lift
                want = np.where(cos >= cfg.retrieval_faq_favoured, np.maximum(base, 1.0 + cfg.retrieval_intent_boost), base)
                want = want * (1.0 + cfg.retrieval_faq_boost * np.maximum(0.0, cos - cfg.retrieval_faq_threshold))
                assert np.array_equal(got, want), (settings, question)
