"""The message stage: what a long message asks, its parts, the cues of a follow-up."""

from __future__ import annotations

import pytest

from assistant.config import load_config
from assistant.message import QuestionError, question_focus, question_parts, read_message

CONFIG = load_config()


def test_an_empty_or_overlong_message_is_refused_with_a_reason():
    with pytest.raises(QuestionError, match="empty"):
        read_message("   \n ", CONFIG)
    with pytest.raises(QuestionError, match="longer than"):
        read_message("oil " * 1000, CONFIG)


def test_a_follow_up_is_noticed_by_how_it_opens():
    assert read_message("and for how long?", CONFIG).opens_like_follow_up
    assert read_message("what about her neck?", CONFIG).opens_like_follow_up
    assert not read_message("how long should a back massage last?", CONFIG).opens_like_follow_up


@pytest.mark.parametrize("question, parts", [
    ("what oil should i use and how long should it last", ["what oil should i use", "how long should it last"]),
    ("how often? and for how long?", ["how often", "and for how long?"]),
    ("she is pregnant and has a fever", ["she is pregnant and has a fever"]),
    ("is coconut or almond oil better", ["is coconut or almond oil better"]),
    ("I'm a total beginner. How long should it be, and what should I avoid?",
     ["How long should it be", "what should I avoid?"]),
])
def test_question_parts(question, parts):
    assert question_parts(question, CONFIG) == parts


def test_a_last_question_typed_without_a_question_mark_still_counts(assistant):
    story = ("ok so im 19 and my gf asked me to give her a back massage tonight and i have literally no idea "
             "what im doing. any tips?? also do i need oil")
    assert question_focus(story, CONFIG).endswith("also do i need oil")
    assert assistant.route(story)[0].intent == "oil_choice"


def test_a_question_pointing_at_the_story_keeps_the_sentence_it_points_to(assistant):
    story = ("I bought some coconut oil from the supermarket, the cooking kind. Is it ok to use that for massage "
             "or do I need special stuff?")
    assert question_focus(story, CONFIG) == story  # "that" is the coconut oil
    assert assistant.route(story)[0].intent == "oil_choice"


def test_a_short_question_about_the_story_keeps_the_sentence_it_points_to(assistant):
    story = ("After the massage my girlfriend always wants to jump straight into the shower and then go for a "
             "jog. Is that a bad idea?")
    assert question_focus(story, CONFIG) == story  # "Is that a bad idea?" alone says nothing about jogging
    assert "strenuous activity" in assistant.answer(*assistant.route(story)).sentences[0].text


def test_a_long_message_is_routed_by_what_it_asks(assistant):
    story = ("My boyfriend works construction and comes home with a sore lower back every night. I want to learn "
             "to give him a proper massage but I've never done it. How long should I go for?")
    route, _ = assistant.route(story)
    assert route.intent == "duration" and route.focus == "How long should I go for?"
    assert "minutes" in assistant.answer(*assistant.route(story)).sentences[0].text


@pytest.mark.parametrize("text, asks", [
    ("he wants to know how to do the shoulders", True), ("wondering if coconut oil is ok", True),
    ("not sure whether to use oil", True), ("can you tell me what to do first", True),
    ("brb shes making tea", False), ("he knows what he likes", False), ("i know her back is sore", False),
    # a question after a leading clause ("and my dad, ...") asks; a clause that asks nothing does not
    ("ok and my grandad, can i do his neck too", True), ("right, how long for", True),
    ("ok, she's lying down now", False), ("thanks, that's him sorted", False),
])
def test_a_question_asked_inside_a_sentence_asks(text, asks):
    from assistant.message import asks_anything

    assert asks_anything(text) is asks


@pytest.mark.parametrize("text, people", [
    ("brill thanks mate", []), ("cheers pal, that helped", []), ("hey bro how often should i do it", []),
    ("my mate has a sore back", ["friend"]), ("me mate wants one too", ["friend"]), ("my sis is pregnant", ["sister"]),
    ("my bloke wants me to walk on his back", ["partner"]), ("her grandpop is 90", ["grandad"]),
])
def test_a_form_of_address_is_no_person_but_a_determined_one_is(text, people):
    from assistant.message import people_in

    assert people_in(text) == people


@pytest.mark.parametrize("text, people", [
    ("my old man's back is sore", ["dad"]), ("the old lady wants one too", ["mum"]), ("our kid hurt his back", ["brother"]),
    ("mi abuela is staying with us", ["nan"]), ("my cuz plays rugby", ["cousin"]),
])
def test_family_named_by_slang_or_another_language_is_that_person(text, people):
    from assistant.message import people_in

    assert people_in(text) == people


@pytest.mark.parametrize("text, third, first_is_self", [
    ("she's got a rash so can i use oil", True, []),
    ("they'd rather sit up, how do i do it", True, []),
    ("i've got a rash, what oil should i use", False, ["self"]),
    ("i'd like to do my own back", False, ["self"]),
])
def test_a_contracted_person_word_is_that_person_word(text, third, first_is_self):
    from assistant.message import people_in, speaks_in_third_person

    assert speaks_in_third_person(text) == third
    assert people_in(text, first_person_is_self=True) == first_is_self


def test_a_word_typed_with_its_final_g_dropped_is_read_with_it():
    from assistant.message import restore_dropped_g

    assert restore_dropped_g("her back's been achin for months, should i keep rubbin it?") == \
        "her back's been aching for months, should i keep rubbing it?"
    assert restore_dropped_g("how's it goin' then") == "how's it going then"
    # a word of its own stays as typed, with or without a g after it
    assert restore_dropped_g("her skin is dry, can i begin on the main muscles") == \
        "her skin is dry, can i begin on the main muscles"


def test_a_condition_typed_with_dropped_gs_gets_its_warning(assistant):
    # the long-standing-pain patterns read the message as typed: "achin" met none of them
    route, _ = assistant.route("her back's been achin for about 6 months now, how often should i rub it")
    assert "persistent_pain" in {r.id for r in route.rules}


def test_4_typed_for_for_is_read_as_for_where_a_number_cannot_stand():
    from assistant.message import restore_texted_for

    assert restore_texted_for("its hurt 4 like 5 months, will rubs fix it 4 good") == \
        "its hurt for like 5 months, will rubs fix it for good"
    for number in ("she is 4 months pregnant", "i do it 4 times a week", "my 4 year old"):
        assert restore_texted_for(number) == number


def test_a_long_standing_pain_texted_with_4_for_for_gets_its_warning(assistant):
    route, _ = assistant.route("my back has been killing me 4 the past 5 months, can my gf massage it")
    assert "persistent_pain" in {r.id for r in route.rules}
