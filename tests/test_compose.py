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



@pytest.mark.parametrize("question, sure", [("not sure if she is pregnant, can i massage her back", False),
                                            ("what if she were pregnant, is a back rub ok", False),
                                            ("she is pregnant, can i massage her back", True)])
def test_a_condition_said_as_a_maybe_is_warned_about_as_if_it_applies(assistant, question, sure):
    answer = assistant.ask(question)
    heading = next(line.text for line in answer.lines if line.kind == "warning")
    assert heading.endswith("pregnancy.") and heading.startswith("If this applies") != sure
    assert "Unless trained in prenatal massage" in answer.text  # the warning itself is never withheld


@pytest.mark.parametrize("question", ["my skin goes all blotchy with most creams, what oil can i use for a back rub",
                                      "he reacts to loads of creams, what can i use on his back"])
def test_a_warning_quote_is_not_shown_again_inside_a_body_sentence(assistant, question):
    """The allergy warning quotes "ensure to test on a small part of your skin..."; the body does not
    repeat it inside the longer sentence it comes from."""
    answer = assistant.ask(question)
    quoted = [line.text.split(" [")[0].strip() for line in answer.lines if line.kind == "warning"]
    body = [line.text.split(" [")[0].strip() for line in answer.lines if line.kind == "body"]
    repeated = [b for b in body for q in quoted if len(q) > 30 and (q in b or b in q)]
    assert answer.route.route == "safety" and repeated == []


def test_one_guide_saying_more_than_another_is_not_a_difference(assistant):
    """"10–15 minutes" beside "10 to 15 minutes, 20 to 30 minutes" is not another view; "jojoba,
    coconut" beside "coconut, almond" is."""
    durations = assistant.ask("roughly how long do i keep going for").text
    assert "What the guides say: 10 to 15 minutes" in durations and "10–15 minutes" in durations
    assert "Where the guides differ" not in durations
    assert "Where the guides differ" in assistant.ask("what oil should I use?").text
