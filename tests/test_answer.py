"""Answers: verbatim cited sentences, valid citations on a whole question set, summaries, JSON shape."""

from __future__ import annotations

import json
import re

import pytest

from assistant.text import squash
from conftest import CORPUS

QUESTIONS = [json.loads(l)["question"] for l in (CORPUS / "questions.jsonl").open(encoding="utf-8")]


def test_every_answer_sentence_is_verbatim_and_cited_correctly(assistant, guides):
    for question in QUESTIONS:
        answer = assistant.ask(question)
        by_n = {c.n: c.passage for c in answer.citations}
        for sentence in answer.sentences:
            assert sentence.citations, question
            for n in sentence.citations:
                passage = by_n[n]
                assert sentence.text in passage.text, (question, sentence.text)
                original = squash(guides[passage.guide].text[passage.start:passage.end])
                assert sentence.text in original
        if answer.route.route in ("retrieval", "safety"):
            assert 1 <= len(answer.sentences) <= 12, question


def test_retrieval_answers_have_two_to_five_sentences_and_sources(assistant):
    answer = assistant.ask("what are some common mistakes when giving a back massage?")
    assert 2 <= len(answer.sentences) <= 5
    assert answer.citations and all(f"[{c.n}]" in answer.text for c in answer.citations)
    assert not any(s.text.endswith("?") for s in answer.sentences)  # FAQ questions are not answers


@pytest.mark.parametrize("question, values", [
    ("how often should I give a back massage?", ["once a week to once a month", "Once or twice a week", "2–3 times per week"]),
    ("what oil should I use?", ["coconut", "almond"]),
])
def test_where_guides_differ_the_answer_says_who_says_what(assistant, question, values):
    answer = assistant.ask(question)
    summary = next(line for line in answer.text.splitlines() if line.startswith("Where the guides differ"))
    for value in values:
        assert value in summary
    assert summary.count("[") >= 2


def test_exact_repeats_across_passages_appear_once(assistant):
    for question in QUESTIONS[:40]:
        texts = [s.text for s in assistant.ask(question).sentences]
        assert len(texts) == len(set(texts)), question


def test_ask_json_has_exactly_the_documented_fields(cli):
    out = cli("ask", "how long should a back massage last?", "--json", "--k", "4")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert list(data) == ["question", "intent", "intent_confidence", "route", "answer", "sentences", "citations",
                          "passages", "safety"]
    assert data["intent"] == "duration" and data["route"] == "retrieval" and data["safety"] is None
    assert len(data["passages"]) == 4 and list(data["passages"][0]) == ["rank", "id", "guide", "title", "section", "score", "text"]
    assert list(data["citations"][0]) == ["n", "passage_id", "guide", "title", "section", "start", "end"]
    assert "minutes" in data["answer"]


def test_route_json(cli):
    data = json.loads(cli("route", "my wife is expecting, what oil?", "--json").stdout)
    assert list(data) == ["question", "intent", "intent_confidence", "route", "safety"]
    assert data["route"] == "safety" and data["safety"]["rules"][0]["id"] == "pregnancy"
    assert list(data["safety"]["rules"][0]) == ["id", "verdict", "advice", "quotes"]



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


@pytest.mark.parametrize("question, words", [
    ("should i talk to her while i massage or stay quiet", ("communicat", "check")),
    ("should she get up straight away when its done", ("rest", "strenuous", "lie")),
    ("how many times should i repeat each stroke", ("repeat the process", "repeat this motion", "repeat 3")),
    # "how hard" / "the right amount of pressure" is the guides' "built gradually", "light to medium"
    ("what's the right amount of pressure", ("built gradually", "light to medium", "very light or just medium")),
    ("how do i know if im pressing too hard", ("built gradually", "pressure preferences", "how the pressure feels")),
    ("should massage hurt", ("should not cause pain", "without causing pain")),
    # pain partway through is the guides' "stop immediately", "should not cause pain"
    ("she says it hurts when i press, should i stop", ("stop immediately", "should not cause pain")),
    ("she winces when i press, should i keep going", ("stop immediately", "should not cause pain", "without causing pain")),
    # "what time of day" is the guides' "Best Time for a Back Massage"; sore the next day is aftercare
    ("what time of day is best for a back rub", ("before sleeping", "after workouts")),
    ("why does she feel sore the next day", ("lingering soreness", "after a massage")),
    ("i'm a guy and my hands are really strong, how do i not hurt her", ("built gradually", "light to medium")),
    ("how do i keep her warm during the massage", ("warm enough", "comfortable temperature")),
    # cold hands are the guides' "Warm your hands before starting"; speed is their pace and rush
    ("how do i stop my hands from being cold", ("warm your hands",)),
    ("what's the right speed for the strokes", ("steady pace", "never rush", "going too fast")),
    # "off" carries the question ("hands off"), though scikit-learn lists it as a stop word
    ("why is it bad to take both hands off during a massage", ("keeping one of your hands on",)),
])
def test_lay_wording_reaches_the_guides_wording(assistant, question, words):
    # "talk" is the guides' "communicate"; "get up straight away when its done" is their rest after
    body = " ".join(s.text for s in assistant.ask(question).sentences).lower()
    assert any(w in body for w in words)


def test_the_answer_opens_on_what_was_asked(assistant):
    # "press" met "Press hands down..." (a step) before the guides' advice on how hard; "warning"
    # was spelt into "wearing" and "stop" met "doesn't end when the hands stop moving"
    first = assistant.ask("how hard should i press").sentences[0].text.lower()
    assert "pressure" in first and "press hands down" not in first
    body = " ".join(s.text for s in assistant.ask("what are the warning signs I should stop massaging").sentences)
    assert "Stop immediately if there is sharp pain" in body and "clothing" not in body


GIVER = ("how do i stand so my back doesnt hurt", "should i kneel on the bed or stand",
         "is my posture important when im the one giving the massage", "i keep hurting my wrists when i massage",
         "my hands get tired really fast")
RECEIVER = ("can a back rub fix my posture", "will massages straighten me out", "i slouch at my desk, will massage help")


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


@pytest.mark.parametrize("question", ["wife is 7 months along, what position should she lie in",
                                      "she's 6 months pregnant, face down ok?"])
def test_a_pregnant_receiver_is_not_told_to_lie_face_down(assistant, question):
    answer = assistant.ask(question)
    assert [r.id for r in answer.route.rules] == ["pregnancy"]
    assert not any("face down" in s.text or "lie down flat" in s.text for s in answer.sentences)
    # "6 months pregnant" is how far along she is, not "once a week to once a month"
    assert not any("month" in s.text for s in answer.sentences)


def test_a_bare_posture_question_says_the_guides_speak_of_both(assistant):
    answer = assistant.ask("posture?")
    assert answer.text.startswith(assistant.composer.replies["sense_notes"]["posture"])


def test_a_question_asking_two_things_gets_both_answered(assistant):
    answer = assistant.ask("what oil should i use and how long should it last")
    body = " ".join(s.text for s in answer.sentences).lower()
    assert "coconut" in body and "minutes" in body
    assert len(answer.sentences) <= assistant.config.answer_max_sentences + 1


def test_a_vague_part_is_answered_beside_a_topical_one(assistant):
    story = ("ok so im 19 and my gf asked me to give her a back massage tonight and i have literally no idea "
             "what im doing. any tips?? also do i need oil")
    answer = assistant.ask(story)
    sections = {c.passage.section for c in answer.citations}
    assert any("oil" in s.lower() for s in sections)  # the oil part
    assert any("tips" in s.lower() for s in sections)  # and the tips


def test_a_part_asking_what_to_avoid_is_answered_too(assistant):
    answer = assistant.ask("I'm a total beginner. How long should a first massage be, and what's the one thing I should avoid?")
    body = " ".join(s.text for s in answer.sentences).lower()
    assert re.search(r"\d+\s*(to|–|-)\s*\d+ minutes", body) and "avoid" in body  # how long, and what to avoid


@pytest.mark.parametrize("question, parts", [
    ("what oil should i use and how long should it last", ["what oil should i use", "how long should it last"]),
    ("how often? and for how long?", ["how often", "and for how long?"]),
    ("she is pregnant and has a fever", ["she is pregnant and has a fever"]),
    ("is coconut or almond oil better", ["is coconut or almond oil better"]),
    ("I'm a total beginner. How long should it be, and what should I avoid?",
     ["How long should it be", "what should I avoid?"]),
])
def test_question_parts(question, parts):
    from assistant.pipeline import question_parts

    assert question_parts(question) == parts


def test_a_question_about_hours_of_massage_is_not_answered_with_hours_of_sitting(assistant):
    answer = assistant.ask("is 2 hours too long for a massage")
    assert "minutes" in answer.sentences[0].text
    assert not any("long hours" in s.text.lower() for s in answer.sentences)


def test_judgement_words_and_idioms_do_not_steer_the_answer(assistant):
    # "bad" met "free from any bad odor"; "for a second" met "press down for about two or three seconds"
    answer = assistant.ask("is it bad if i take my hands off her back for a second")
    assert "Both Hands Off" in answer.sentences[0].text
