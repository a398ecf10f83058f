"""Intent router: stored arrays reproduce scikit-learn exactly; routes for each kind of question."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.pipeline import question_focus
from assistant.router import features, load_intents


def test_router_arrays_give_scikit_learns_probabilities(index):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    intents = load_intents()
    texts = [e for s in intents.values() for e in s.examples]
    labels = [s.name for s in intents.values() for _ in s.examples]
    vectorizer = TfidfVectorizer(analyzer=lambda t: features(index.analyzer, t), sublinear_tf=True)
    model = LogisticRegression(C=index.router.C, max_iter=5000).fit(vectorizer.fit_transform(texts), labels)
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
    for spec in load_intents().values():
        for example in spec.examples:
            text = " ".join(words(example))
            closest = max(questions, key=lambda q: difflib.SequenceMatcher(None, text, q).ratio())
            assert difflib.SequenceMatcher(None, text, closest).ratio() < 0.82, (spec.name, example, closest)


@pytest.mark.parametrize("question, intent", [
    ("which oil is good for a back rub", "oil_choice"), ("how often can i do this", "frequency"),
    ("how long shud it last", "duration"), ("does it help my posture", "posture"),
    ("what do beginners get wrong", "mistakes"), ("can i massage myself", "self_massage"),
    ("what to do afterwards", "aftercare"), ("hw lng shuld a bak rub b", "duration"),
    ("can you massage someone too much", "frequency"), ("biggest no nos when giving a massage", "mistakes"),
    ("what should he do after", "aftercare"), ("every other day ok?", "frequency"),
])
def test_plain_questions_get_their_intent(assistant, question, intent):
    route, hits = assistant.route(question)
    assert (route.route, route.intent) == ("retrieval", intent) and hits


@pytest.mark.parametrize("question", ["how do i change a car tyre", "best pizza recipe", "how to learn rust programming",
                                      "best sushi in town", "what does a good back massage cost",
                                      "any massage places near me", "is a $200 massage cushion worth it",
                                      "can i give my dog a back massage", "how to do a thai massage",
                                      "what vitamins help sore muscles", "can i massage a baby",
                                      "my son is 12, can i give him a back massage",
                                      "can i massage someone who's been drinking",
                                      "what's the best foot massage technique", "is a massage gun worth it",
                                      "can massage help me lose weight", "should i use heat or ice on my back",
                                      "how do i do yoga for back pain", "she's got really bad period cramps, would a back rub help",
                                      "what exercises to strengthen my back"])
def test_out_of_scope_abstains_with_suggestions(assistant, question):
    answer = assistant.ask(question)
    assert answer.route.route == "abstain" and not answer.citations and not answer.hits
    assert "don't cover" in answer.text and answer.text.count("  - ") == 3


@pytest.mark.parametrize("question", ["is it ok if it hurts a little", "should she take her bra off",
                                      "can we chat while i massage her",
                                      # an age or a count is not a topic the guides lack
                                      "my girlfriend is 24 and has knots, how do i get them out",
                                      # a phone or a laptop is the guides' "work at a computer"
                                      "my neck is stiff from looking at my phone all day"])
def test_a_question_in_the_guides_own_words_is_not_refused_on_a_guess(assistant, question):
    # no word of these is foreign to the guides; in this chat they can only be about massage
    answer = assistant.ask(question)
    assert answer.route.route == "retrieval" and answer.citations


@pytest.mark.parametrize("question", ["hi", "thanks!", "help"])
def test_smalltalk_gets_a_short_reply_without_sources(assistant, question):
    answer = assistant.ask(question)
    assert answer.route.route == "smalltalk" and not answer.citations and len(answer.text) < 400


def test_the_intent_boost_lifts_passages_stating_the_value_asked_for(assistant):
    # "Even 10–15 minutes can make a big difference." stands under "Benefits of a Back Massage"
    question = "how many minutes should a back massage be"
    boosted = [h.passage.id for h in assistant.route(question)[1][:5]]
    plain = [h.passage.id for h in assistant.route(question, intent_boost=False)[1][:5]]
    assert "relaxing-back-massage-002" in boosted and "relaxing-back-massage-002" not in plain


def test_a_long_message_is_routed_by_what_it_asks(assistant):
    story = ("My boyfriend works construction and comes home with a sore lower back every night. I want to learn "
             "to give him a proper massage but I've never done it. How long should I go for?")
    route, _ = assistant.route(story)
    assert route.intent == "duration" and route.focus == "How long should I go for?"
    assert "minutes" in assistant.answer(*assistant.route(story)).sentences[0].text


def test_a_last_question_typed_without_a_question_mark_still_counts(assistant):
    story = ("ok so im 19 and my gf asked me to give her a back massage tonight and i have literally no idea "
             "what im doing. any tips?? also do i need oil")
    assert question_focus(story).endswith("also do i need oil")
    assert assistant.route(story)[0].intent == "oil_choice"


def test_a_question_pointing_at_the_story_keeps_the_sentence_it_points_to(assistant):
    story = ("I bought some coconut oil from the supermarket, the cooking kind. Is it ok to use that for massage "
             "or do I need special stuff?")
    assert question_focus(story) == story  # "that" is the coconut oil
    assert assistant.route(story)[0].intent == "oil_choice"


@pytest.mark.parametrize("question", ["is baby oil ok to use", "we've been trying for a baby, is massage safe",
                                      "should she shower after a massage with oil", "can i use a yoga mat instead of a table",
                                      "can she go to the gym after a massage", "my back is sore from the gym, can you massage it"])
def test_words_of_an_out_of_scope_pattern_in_an_in_scope_question_are_answered(assistant, question):
    # baby oil is not baby massage; a shower after the massage is the guides' aftercare
    assert assistant.ask(question).route.route in ("retrieval", "safety")


def test_a_short_question_about_the_story_keeps_the_sentence_it_points_to(assistant):
    story = ("After the massage my girlfriend always wants to jump straight into the shower and then go for a "
             "jog. Is that a bad idea?")
    assert question_focus(story) == story  # "Is that a bad idea?" alone says nothing about jogging
    assert "strenuous activity" in assistant.answer(*assistant.route(story)).sentences[0].text


def test_conditions_in_the_story_still_count(assistant):
    story = ("My wife is six months pregnant and has been on her feet all day at work. She loves a back rub in "
             "the evening. Which oil would be best to use?")
    route, _ = assistant.route(story)
    assert route.route == "safety" and [r.id for r in route.rules] == ["pregnancy"]
    assert route.intent == "oil_choice"


def test_a_condition_still_gets_its_warning_when_the_question_is_about_price(assistant):
    route, _ = assistant.route("my wife is pregnant, what does a prenatal massage cost?")
    assert route.route == "safety" and [r.id for r in route.rules] == ["pregnancy"]


def test_a_question_worded_like_a_guide_faq_gets_that_faq_first(assistant):
    question = "are back rubs good for posture"
    first = assistant.route(question)[1][0].passage
    assert first.section.startswith("Q9: Are back massages good for posture?")
    plain = assistant.with_settings(retrieval_faq_boost=0.0).route(question)[1][0].passage
    assert plain.id != first.id  # the words alone rank another guide's "Can a back massage help improve posture?" first


def test_a_faq_asked_nearly_as_the_user_asks_it_outranks_the_intents_sections(assistant):
    # the router calls this technique, whose sections hold other back-pain passages; the guide's
    # own FAQ answers it all the same
    question = "massage someone with back pain ok?"
    route, hits = assistant.route(question)
    assert route.intent == "technique"
    first = hits[0].passage
    assert first.section.startswith("Q5: Is it okay to massage someone with back pain?")
    assert assistant.ask(question).sentences[0].text == "Yes, but it depends on the type of pain."
    unfavoured = assistant.with_settings(retrieval_faq_favoured=1.0).route(question)[1][0].passage
    assert unfavoured.id != first.id


@pytest.mark.parametrize("question", ["my dad has a bad back", "my 15 year old son has a sore back",
                                      "my husband has lower back pain, can i massage him"])
def test_someone_with_back_pain_gets_the_guides_yes_but_it_depends(assistant, question):
    answer = assistant.ask(question)
    assert answer.route.route == "retrieval"
    assert "Yes, but it depends on the type of pain." in [s.text for s in answer.sentences[:3]]
    assert not any("odor" in s.text or "minutes" in s.text for s in answer.sentences)
