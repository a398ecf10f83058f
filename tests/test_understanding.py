"""The understanding stage: intent, scope, small talk and the route each kind of question takes."""

from __future__ import annotations

import pytest

from conftest import fixture_rows


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
                                      "what exercises to strengthen my back",
                                      # shopping: the guides name no brands and no shops
                                      "which foam roller brand is the best", "where can i get a wedge pillow"])
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


@pytest.mark.parametrize("question", ["hey! my roommate has been super stressed with finals, his shoulders are basically rocks. best way to loosen them up?",
                                      "my flatmate's got her finals next week and her shoulders are in bits, how should i rub them"])
def test_words_the_guides_lack_in_the_story_do_not_make_the_question_out_of_scope(assistant, question):
    # the story may be in any words ("finals", "babcia"); what is asked is in the guides' own
    answer = assistant.ask(question)
    assert answer.route.route == "retrieval" and answer.citations


@pytest.mark.parametrize("question", ["hi", "thanks!", "help"])
def test_smalltalk_gets_a_short_reply_without_sources(assistant, question):
    answer = assistant.ask(question)
    assert answer.route.route == "smalltalk" and not answer.citations and len(answer.text) < 400


@pytest.mark.parametrize("question", ["is baby oil ok to use", "we've been trying for a baby, is massage safe",
                                      "should she shower after a massage with oil", "can i use a yoga mat instead of a table",
                                      "can she go to the gym after a massage", "my back is sore from the gym, can you massage it",
                                      "should i buy a massage table or use the bed", "what oil should i buy",
                                      "got a brand new massage table, how high should it be"])
def test_words_of_an_out_of_scope_pattern_in_an_in_scope_question_are_answered(assistant, question):
    # baby oil is not baby massage; a shower after the massage is the guides' aftercare
    assert assistant.ask(question).route.route in ("retrieval", "safety")


@pytest.mark.parametrize("message, route", [
    ("she had a long soak in the bath earlier, her skin is still a bit pink from the heat. what strokes should i use "
     "on her shoulders?", "retrieval"),
    ("we went to a spa day for her birthday and she loved the hot tub there. anyway, how long should i spend on her "
     "lower back tonight?", "retrieval"),
    ("he's been doing pilates for like 6 months, what oil should i use on his back?", "retrieval"),
    ("i put a heat pack on her back first. is that ok?", "abstain"),  # what "that" asks about is the heat pack
    ("she's into yoga, is that better than a massage?", "abstain"),
    ("i've got a massage gun, can i use it on her back?", "abstain"),  # "it" is the gun
    ("we've got a hot tub, should she use it before the massage?", "abstain"),
    ("i bought one of those percussion massage guns off the internet last week because my back was sore. is it safe "
     "to use it on my wife's lower back?", "abstain"),
    ("which hot tub is best for sore backs?", "abstain"),
    # who is massaged is what the question is about, wherever it is said
    ("my son is 12 and has a sore back from football practice all week. can i give him a back massage tonight?",
     "abstain"),
    ("she's got really bad period cramps this month and is curled up on the sofa. would a back rub help her?",
     "abstain"),
])
def test_a_topic_the_guides_lack_refuses_only_when_it_is_what_is_asked(assistant, message, route):
    """The story around a question may name a topic the guides lack (a bath, a hot tub); it is the
    question asked that is answered or refused, unless the story says who is massaged (a child)."""
    assert assistant.route(message)[0].route == route


def test_conditions_in_the_story_still_count(assistant):
    story = ("My wife is six months pregnant and has been on her feet all day at work. She loves a back rub in "
             "the evening. Which oil would be best to use?")
    route, _ = assistant.route(story)
    assert route.route == "safety" and [r.id for r in route.rules] == ["pregnancy"]
    assert route.intent == "oil_choice"


def test_a_condition_still_gets_its_warning_when_the_question_is_about_price(assistant):
    route, _ = assistant.route("my wife is pregnant, what does a prenatal massage cost?")
    assert route.route == "safety" and [r.id for r in route.rules] == ["pregnancy"]


@pytest.mark.parametrize("question", ["my dad has a bad back", "my 15 year old son has a sore back",
                                      "my husband has lower back pain, can i massage him"])
def test_someone_with_back_pain_gets_the_guides_yes_but_it_depends(assistant, question):
    answer = assistant.ask(question)
    assert answer.route.route == "retrieval"
    assert "Yes, but it depends on the type of pain." in [s.text for s in answer.sentences[:3]]
    assert not any("odor" in s.text or "minutes" in s.text for s in answer.sentences)


@pytest.mark.parametrize("message, reply", [("thanks a million", "thanks"), ("good morning!", "greeting"),
                                            ("goodbye then", "goodbye"), ("who are you?", "help"),
                                            # thanks and sign-offs as people type them (reply_variants)
                                            ("nice one, ta", "thanks"), ("ok ill let u know how it goes", "thanks"),
                                            ("hiya", "greeting")])
def test_small_talk_gets_the_reply_of_the_examples_it_is_worded_like(assistant, message, reply):
    route, _ = assistant.route(message)
    assert route.route == "smalltalk" and route.reply == reply
    assert assistant.ask(message).text.startswith(assistant.composer.replies[reply])


def test_a_multi_part_question_has_its_parts_understood_once(assistant):
    route, _ = assistant.route("what oil should i use and how long should it last")
    assert [p.intent for p in route.parts] == ["oil_choice", "duration"]
    assert all(not p.parts for p in route.parts)


def test_the_learned_scope_decision_refuses_what_the_guides_do_not_cover(assistant):
    learned = assistant.with_settings(router_learned_scope=True)
    assert learned.understander.scope is not None
    for question in ("how much does a massage cost in london", "best pizza recipe", "can you recommend a spa near me"):
        assert learned.route(question)[0].route == "abstain", question
    for question in ("what oil should i use", "how long should a back rub last", "any tips for a first timer"):
        assert learned.route(question)[0].route == "retrieval", question


@pytest.mark.parametrize("message", ["thanks, that's him done", "cheers mate that was great"])
def test_small_talk_that_asks_nothing_is_small_talk_even_when_the_model_is_unsure(assistant, message):
    assert assistant.route(message)[0].route == "smalltalk"


def test_a_question_about_a_part_of_the_body_is_never_small_talk(assistant):
    """"how do i help" reads like small talk to the intent model; asked of a stiff neck and upper
    back it is a question the guides answer."""
    route = assistant.route("my roommate slept on the couch wrong and her neck and upper back are super stiff. how do i help")[0]
    assert route.route == "retrieval"
    assert assistant.route("how are you doing today?")[0].route == "smalltalk"


@pytest.mark.parametrize("message", ["evening all, quick one", "ah that's helpful, ta", "lovely, that's useful to know"])
def test_small_talk_the_model_also_reads_as_a_topic_is_small_talk_and_no_warning(assistant, message):
    """A message asking nothing that the intent model finds likely small talk, though it scores a
    topic higher ("helpful" reads like the benefits of massage), gets a fixed reply, not the
    warnings of what was said before; the condition stays held for the next question."""
    from assistant.conversation import Conversation

    c = Conversation()
    assistant.ask("my wife is pregnant, how often can i massage her", c)
    answer = assistant.ask(message, c)
    assert answer.route.route == "smalltalk" and not answer.route.rules and not answer.citations
    assert c.in_force() == {"pregnancy"}
    assert assistant.ask("and how long for", c).route.held == ("pregnancy",)


def test_an_aside_in_a_conversation_is_acknowledged_and_a_question_off_topic_refused(assistant):
    """Mid-chat, a message asking nothing the guides cover is an aside, not a refusal; one asking
    something they do not cover is still refused, however it opens."""
    from assistant.conversation import Conversation

    c = Conversation()
    assistant.ask("how long should i massage my wife's shoulders", c)
    aside = assistant.ask("brb shes making tea", c)
    assert aside.route.route == "smalltalk" and aside.route.reply == "aside"
    for question in ("btw whats the weather tomorrow", "write me a python script to sort a list"):
        assert assistant.ask(question, c).route.route == "abstain", question
    # a topic the guides lack, named in passing, is an aside; asked about, even inside a sentence, refused
    passing = assistant.ask("sorry my dog just jumped on the sofa", c)
    assert passing.route.route == "smalltalk" and passing.route.reply == "aside"
    for question in ("she also wants to know how to massage her dog", "can i do the same on my dog"):
        assert assistant.ask(question, c).route.route == "abstain", question


def test_an_aside_about_the_person_with_a_condition_does_not_repeat_the_warning(assistant):
    """'she' in a message asking nothing is no follow-up: the aside is acknowledged, the condition
    stays held for the next question."""
    from assistant.conversation import Conversation

    c = Conversation()
    assistant.ask("my wife has a blood clot in her leg, can i do her back", c)
    aside = assistant.ask("brb she's making tea", c)
    assert aside.route.route == "smalltalk" and aside.route.reply == "aside" and not aside.route.rules
    assert assistant.ask("is it ok for her?", c).route.held == ("blood_clots",)


def test_mid_conversation_a_question_in_no_words_of_the_guides_is_read_with_the_topic(assistant):
    from assistant.conversation import Conversation

    assert assistant.ask("ok cool so what should i actually do first?").route.route == "abstain"
    c = Conversation()
    assistant.ask("how do i massage my wife's lower back", c)
    answer = assistant.ask("ok cool so what should i actually do first?", c)
    assert answer.route.route == "retrieval" and "lower back" in answer.route.carried


def test_a_question_after_a_thank_you_is_still_answered(assistant):
    assert assistant.route("thanks! and how long should it last?")[0].route == "retrieval"


def test_a_question_on_a_topic_in_few_of_the_guides_words_is_answered_saying_how_it_was_read(assistant):
    """Refusal is for questions recognisably about something else: one the intent model places on a
    topic of the guides is answered from the best match, saying what it was taken to ask."""
    answer = assistant.ask("how often shud i sort my sisters back, she does night shifts at the depot")
    assert answer.route.route == "retrieval" and answer.route.intent == "frequency" and answer.route.read_as
    topic = assistant.composer.replies["topics"]["frequency"]
    assert answer.text.startswith(assistant.composer.replies["read_as"].format(topic=topic)) and answer.sentences
    other = assistant.ask("hw do i fix the gearbox on my van, its making a racket")
    assert other.route.route == "abstain" and not other.route.read_as


def test_every_topic_the_model_can_place_a_question_on_has_words_for_it(assistant):
    intents = assistant.intents
    topical = [name for name in intents if not intents.has_role(name, "vague", "not_covered", "small_talk")]
    assert topical and set(topical) <= set(assistant.composer.replies["topics"])


@pytest.mark.parametrize("question, refused", [
    ("the baby's finally asleep, can i give my wife a back rub", False),
    ("got a toddler climbing on me constantly so my back's always tense, any self massage tricks", False),
    ("whats the right pressure for massaging a 6 month old babys back", True),
    ("my son is 12 and plays football all week. can i give him a back massage?", True),
])
def test_a_child_in_the_story_is_not_the_one_massaged_when_an_adult_is(assistant, question, refused):
    assert (assistant.ask(question).route.route == "abstain") == refused


def test_children_and_adults_on_a_set_written_blind(assistant):
    """tests/fixtures/children-blind.jsonl: 40 questions, 24 about massaging an adult with a baby or a child
    mentioned in passing, 16 about massaging a baby or a child under 13, written by someone who never saw the
    code. Right 22/40 when it was added; 36/40 once a child in the story counts only when no adult is named
    (its odd ids were read for that change; even ids 11/20 -> 17/20)."""
    rows = fixture_rows("children-blind.jsonl")
    right = sum((assistant.ask(r["text"]).route.route == "abstain") == (r["label"] == "out_of_scope") for r in rows)
    assert right >= 34, f"{right}/{len(rows)}"


def test_asides_in_a_conversation_holding_a_condition_on_a_set_written_blind(assistant):
    """tests/fixtures/asides-blind.jsonl: 40 second turns after a question about someone with a condition:
    20 asides the guides do not cover (the weather, a cream to buy, a chiropractor's price), 20 massage
    follow-ups, written by someone who never saw the code. Refused exactly when an aside: 34/40 when it was
    added."""
    from assistant.conversation import Conversation

    rows = fixture_rows("asides-blind.jsonl")
    right = 0
    for row in rows:
        c = Conversation()
        assistant.ask(row["first"], c)
        right += (assistant.ask(row["text"], c).route.route == "abstain") == (row["route"] == "abstain")
    assert right >= 32, f"{right}/{len(rows)}"
