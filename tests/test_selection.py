"""The sentence-selection stage: which guide sentences answer a question, and in what order."""

from __future__ import annotations

import json
import re

import pytest

from conftest import CORPUS, assert_refused_by_name

QUESTIONS = [json.loads(l)["question"] for l in (CORPUS / "questions.jsonl").open(encoding="utf-8")]

GIVER = ("how do i stand so my back doesnt hurt", "should i kneel on the bed or stand",
         "is my posture important when im the one giving the massage", "i keep hurting my wrists when i massage",
         "my hands get tired really fast")
RECEIVER = ("can a back rub fix my posture", "will massages straighten me out", "i slouch at my desk, will massage help")


def test_exact_repeats_across_passages_appear_once(assistant):
    for question in QUESTIONS[:40]:
        texts = [s.text for s in assistant.ask(question).sentences]
        assert len(texts) == len(set(texts)), question


def test_the_article_talking_about_itself_is_never_an_answer(assistant):
    questions = ["tips for a relaxing massage for my mom", "how do i give a back massage", "what is petrissage",
                 "how should i finish the massage", "what oil should i use", "can a professional help",
                 "what oil should a beginner use", "i have no experience, can i still do it", "how do i end it nicely"]
    cheering = ("let’s get started", "you might be thinking", "prepare to be amazed", "pat yourself", "pure bliss")
    for question in questions:
        for s in assistant.ask(question).sentences:
            lowered = s.text.lower()
            assert not any(x in lowered for x in ("in this post", "this guide", "in this article", "fem spa")), s.text
            assert not any(x in lowered for x in cheering), s.text
            assert not s.text.rstrip().endswith(":"), s.text  # a list opener ("Here are four key steps:")


def test_a_sentence_that_refers_back_comes_after_the_one_it_refers_to(assistant):
    # "This is an equally good technique..." alone tells the reader nothing
    for question in ("how do i give a good back massage", "what oil should i use", "how often", "how do i find knots",
                     "what are the benefits", "can i massage myself", "what should she do afterwards"):
        answer = assistant.ask(question)
        shown = [s.text for s in answer.sentences]
        for s in answer.sentences:
            if not re.match(r"(This|These|That|Those|It|They|Such|Then)\b", s.text):
                continue
            passage = next(c.passage for c in answer.citations if c.n == s.citations[0])
            texts = [span.text for span in passage.sentences]
            position = texts.index(s.text)
            assert position == 0 or texts[position - 1] in shown, (question, s.text)


def test_a_sentence_leaning_on_the_one_before_stands_right_after_it():
    """Ranked apart (its own likelihood between two other passages'), "This allows..." still follows
    the sentence it leans on when that one joins its passage's run later."""
    from assistant.schema import Passage
    from assistant.selection import Candidate, _reading_order

    rest = Passage("guide-030", "g.txt", "Guide", "Rest", "", 0, 1)
    water = Passage("guide-029", "g.txt", "Guide", "Water", "", 0, 1)
    ranked = [Candidate("Don't jump into strenuous activity right after a massage.", rest, 1, 0, 0.9),
              Candidate("A glass or two of water can support circulation.", water, 2, 2, 0.8),
              Candidate("This allows your nervous system to reset.", rest, 1, 2, 0.7),
              Candidate("Take at least ten minutes to sit or lie down quietly.", rest, 1, 1, 0.6)]
    assert [c.text[:10] for c in _reading_order(ranked)] == ["Don't jump", "Take at le", "This allow", "A glass or"]


@pytest.mark.parametrize("question", ["massage", "back massage"])
def test_a_vague_question_gets_the_guides_overview_not_the_wordiest_passage(assistant, question):
    # "massage" alone matched the passage saying "massage table" most often
    answer = assistant.ask(question)
    body = " ".join(s.text for s in answer.sentences).lower()
    assert answer.route.route == "retrieval" and "stroke" in body and "massage table" not in body


def test_how_long_is_about_duration_not_the_word_long(assistant):
    # "long" alone is the guides' "long hours" and "long strokes"
    answer = assistant.ask("how long")
    assert answer.sentences and all("long hours" not in s.text for s in answer.sentences)
    assert "minutes" in answer.sentences[0].text


def test_session_lengths_are_not_a_single_strokes_minutes(assistant):
    # "Move gently and slowly for 1–2 minutes" is the warm-up stroke, not how long a massage lasts
    answer = assistant.ask("how long should a back massage last")
    assert "minutes" in answer.text and "1–2 minutes" not in answer.text


def test_the_answer_opens_on_what_was_asked(assistant):
    # "press" met "Press hands down..." (a step) before the guides' advice on how hard; "warning"
    # was spelt into "wearing" and "stop" met "doesn't end when the hands stop moving"
    first = assistant.ask("how hard should i press").sentences[0].text.lower()
    assert "pressure" in first and "press hands down" not in first
    body = " ".join(s.text for s in assistant.ask("what are the warning signs I should stop massaging").sentences)
    assert "Stop immediately if there is sharp pain" in body and "clothing" not in body


@pytest.mark.parametrize("question", GIVER + RECEIVER)
def test_posture_questions_get_the_sense_they_ask(assistant, question):
    """'Posture' is two questions: how the giver stands, and whether massage fixes the receiver's."""
    answer = assistant.ask(question)
    body = " ".join(s.text for s in answer.sentences).lower()
    note = assistant.composer.replies["sense_notes"]["posture"]
    assert answer.sentences and note not in answer.text
    if question in GIVER:
        assert re.search(r"position|posture you were in|standing posture|strain", body)
        assert "improve posture" not in body and "alignment" not in body
    else:
        assert "improve posture" in body or "better posture" in body
        assert "stand" not in body.replace("improve how you sit or stand", "")


@pytest.mark.parametrize("question", ["whats the best position for her to lie in", "face down or face up for a back massage",
                                      "should he lie on his front or back"])
def test_how_the_receiver_lies_is_answered_from_the_guides_set_up_advice(assistant, question):
    answer = assistant.ask(question)
    body = " ".join(s.text for s in answer.sentences[:3]).lower()
    assert answer.route.route == "retrieval" and "lie face down" in body
    assert assistant.composer.replies["sense_notes"]["posture"] not in answer.text


def test_a_question_about_hours_of_massage_is_not_answered_with_hours_of_sitting(assistant):
    answer = assistant.ask("is 2 hours too long for a massage")
    assert "minutes" in answer.sentences[0].text
    assert not any("long hours" in s.text.lower() for s in answer.sentences)


def test_judgement_words_and_idioms_do_not_steer_the_answer(assistant):
    # "bad" met "free from any bad odor"; "for a second" met "press down for about two or three seconds"
    answer = assistant.ask("is it bad if i take my hands off her back for a second")
    assert "Both Hands Off" in answer.sentences[0].text


def test_the_answer_opens_on_the_sentence_the_learned_model_rates_likeliest(assistant):
    """The hand-weighted selector chooses; the learned model orders (config answer.learned_order):
    the likeliest sentence first, unless it reads as a unit after a neighbour of its own passage."""
    selector = assistant.composer.selector
    assert selector.order is not None
    checked = 0
    for question in QUESTIONS[:40]:
        route, ranking = assistant.route(question)
        if route.route != "retrieval":
            continue
        candidates = selector.candidates(question, route.intent, ranking.retrieved, route.rules, route.sense)
        chosen = selector.select(candidates, assistant.config.answer_max_sentences)
        if len(chosen) < 2:
            continue
        by_text = {c.text: c for c in candidates}
        shown = [by_text[c.text] for c in chosen]
        best = max(shown, key=lambda c: selector.order.probability(c.features))
        first = shown[0]
        assert first is best or (first.passage.id == best.passage.id and first.position < best.position), question
        checked += 1
    assert checked >= 20
    plain = assistant.with_settings(answer_learned_order=False)
    assert plain.composer.selector.order is None


@pytest.mark.parametrize("change", [{"order_coef": [1.0, 2.0]}, {"order_intercept": float("nan")}])
def test_a_broken_order_model_is_refused_by_name(tmp_path, monkeypatch, change):
    import assistant.datafiles as datafiles
    import assistant.selection as selection

    doc = json.loads((datafiles.DATA_DIR / "selector.json").read_text("utf-8"))
    doc.update(change)
    assert_refused_by_name(tmp_path, monkeypatch, "selector.json", doc, selection._selector_doc, selection.load_order_model)


PADDING = ("How the body is treated afterward can affect how long the benefits last.",
           "Many people use oil during a massage for relaxation, making the entire back massage more pleasant and fluid.")


@pytest.mark.parametrize("question, padding, answer", [
    ("what should i do after the massage", PADDING[0], "Don’t jump into strenuous activity right after a massage."),
    ("what oil should I use?", PADDING[1], "For beginners, natural oils like coconut or almond work well."),
])
def test_a_sentence_labelled_answers_found_true_of_any_question_is_never_offered(assistant, question, padding, answer):
    """data/sentence-priors.json: a sentence the labelled tune answers showed often and rarely found
    acceptable is padding; the answer keeps what answers the question."""
    shown = [s.text for s in assistant.ask(question).sentences]
    assert padding not in shown and answer in shown
    assert assistant.composer.selector.is_padding(padding, assistant.route(question)[0].intent)
    unfiltered = assistant.with_settings(answer_padding_below=0.0)  # the labels' say switched off
    assert padding in [s.text for s in unfiltered.ask(question).sentences]


@pytest.mark.parametrize("doc", [{"sentences": {"A sentence.": [3, 2]}}, {"sentences": {"A sentence.": [1]}},
                                 {"sentences": {"A sentence.": ["1", "2"]}}, {"sentences": []},
                                 {"sentences": {}, "by_intent": {"oil_choice": {"A sentence.": [-1, 2]}}}])
def test_malformed_sentence_priors_are_refused_by_name(tmp_path, monkeypatch, doc):
    import assistant.selection as selection

    assert selection.PRIORS_FILE == "sentence-priors.json"
    assert_refused_by_name(tmp_path, monkeypatch, selection.PRIORS_FILE, doc, selection.load_sentence_priors,
                           selection.load_sentence_priors)


def test_a_sentence_rarely_acceptable_for_one_kind_of_question_is_left_out_of_that_kind_only(assistant):
    # a list of benefits answers "what are the benefits", not "how often" (the labelled answers to
    # frequency questions never found it acceptable; to others they often did)
    benefits = ("Regular back massages can improve blood circulation, relieve muscle tension, reduce stress, "
                "and contribute to better posture.")
    unfiltered = assistant.with_settings(answer_padding_below=0.0)
    question = "how often should i massage my wife"
    assert benefits in [s.text for s in unfiltered.ask(question).sentences]
    assert benefits not in [s.text for s in assistant.ask(question).sentences]
    assert benefits in [s.text for s in assistant.ask("what are the benefits of a back massage").sentences]


def test_a_sentence_often_key_for_a_kind_of_question_is_favoured_for_it(assistant):
    # labelled oil questions most often needed "Choose almond, coconut, argan, or lavender oil for best results."
    priors = assistant.composer.selector.priors
    key = "Choose almond, coconut, argan, or lavender oil for best results."
    assert priors.key_share("oil_choice", key) > 0 and priors.key_share("frequency", key) == 0
    question = "how much oil should i put on his back"
    assert assistant.route(question)[0].intent == "oil_choice"
    assert key in [s.text for s in assistant.ask(question).sentences]
    plain = assistant.with_settings(answer_key_prior_weight=0.0)
    assert key not in [s.text for s in plain.ask(question).sentences]


def test_the_order_model_reads_how_often_the_tune_answers_found_a_sentence_acceptable():
    import assistant.selection as selection

    # a sentence shown in many tune answers to oil questions and acceptable in most rates higher than
    # one never shown, other things equal; both the priors and the shipped order model say so
    priors = selection.SentencePriors({"a": (9, 10)}, {"oil_choice": {"a": (9, 10), "b": (0, 6)}})
    assert priors.acceptable_share("oil_choice", "a") > 0.5 > priors.acceptable_share("oil_choice", "b")
    assert priors.acceptable_share("oil_choice", "never shown") == 0.5
    assert priors.acceptable_share("", "a") == 10 / 12
    order = selection.load_order_model()
    at = {name: i for i, name in enumerate(selection.FEATURES)}
    plain = [0.5] * len(selection.FEATURES)
    liked = list(plain)
    liked[at["acceptable_for_intent"]] = priors.acceptable_share("oil_choice", "a")
    assert order.probability(tuple(liked)) > order.probability(tuple(plain))
