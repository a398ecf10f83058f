"""The conversation's slots: who is spoken of, the topic a follow-up leans on, and each person's
conditions with how they were meant."""

from __future__ import annotations

import json

import pytest

from assistant.conversation import Conversation
from conftest import assert_refused_by_name, fixture_rows


def talk(assistant, *turns: str) -> Conversation:
    conversation = Conversation()
    for turn in turns:
        assistant.ask(turn, conversation)
    return conversation


def statuses(conversation: Conversation) -> dict[str, dict[str, str]]:
    return {who: {c.rule.id: c.status for c in conds} for who, conds in conversation.state.conditions}


@pytest.mark.parametrize("turns, person, rule", [
    (("my wife is pregnant and her lower back aches, how can i help", "my aunt swears by cupping, is that any good?",
      "ok, how long should i rub her back for?"), "wife", "pregnancy"),
    (("my dad's got a fever and a stiff back, can i rub it", "mum reckons a hot water bottle would help, what do you think",
      "and what oil should i use on him later"), "dad", "fever_infection"),
])
def test_someone_named_as_the_source_of_advice_is_not_whom_the_talk_is_about(assistant, turns, person, rule):
    c = talk(assistant, *turns)
    assert c.state.person == person and c.in_force() == {rule}


def test_a_first_message_naming_a_source_beside_the_person_is_about_the_person(assistant):
    c = talk(assistant, "my girlfriend is 20 weeks pregnant. my sister reckons lavender oil is nice, is that ok for her back?")
    assert c.state.person == "girlfriend" and c.in_force() == {"pregnancy"}
    assert talk(assistant, "my wife says her back hurts, what can i do").state.person == "wife"


def test_someone_named_who_becomes_the_topic_is(assistant):
    c = talk(assistant, "my wife is pregnant and her lower back aches, how can i help", "my mum wants one too, how do i do hers")
    assert c.state.person == "mum" and c.in_force() == set()


def test_signing_off_with_ill_for_i_will_states_no_illness(assistant):
    c = talk(assistant, "my husband's lower back is tight after work, how do i help him", "cheers, ill give it a go after tea")
    assert c.in_force() == set() and statuses(c) in ({}, {"husband": {}})


def test_a_body_area_or_a_pressure_question_alone_creates_no_condition(assistant):
    c = talk(assistant, "can i press hard on her lower back")
    assert c.in_force() == set()
    c = talk(assistant, "can i rub right on the spine", "how do i do effleurage")
    assert c.in_force() == set()


@pytest.mark.parametrize("stated, withdrawal, rule", [
    ("my wife has a fever, can i massage her", "actually she's fine now", "fever_infection"),
    ("my wife has a fever, can i massage her", "no fever, i checked again", "fever_infection"),
    ("my wife is pregnant, can i massage her", "she's not pregnant after all, the test was negative", "pregnancy"),
])
def test_a_condition_said_to_be_over_or_not_so_is_withdrawn(assistant, stated, withdrawal, rule):
    c = talk(assistant, stated)
    assert c.in_force() == {rule}
    assistant.ask(withdrawal, c)
    assert c.in_force() == set() and statuses(c)["wife"][rule] in ("withdrawn", "past")


@pytest.mark.parametrize("recheck", ["ok i took her temperature again and it's normal now. how long should i massage her back?",
                                     "took her temp again and it was normal, what oil should i use"])
def test_a_condition_taken_back_after_a_recheck_is_withdrawn(assistant, recheck):
    # no negation of the condition's words and no "fine now": the learned withdrawal (data/withdrawal.json) reads it
    c = talk(assistant, "my wife has a fever, can i massage her", recheck)
    assert c.in_force() == set() and statuses(c)["wife"]["fever_infection"] == "withdrawn"


def test_a_recheck_takes_back_only_what_was_said_last_of_the_person(assistant):
    c = talk(assistant, "my nan is 85, can i massage her back", "she's also got a temperature and feels shivery",
             "took her temperature again and it's normal now. how long should i go for?")
    assert c.in_force() == {"older_adults"} and statuses(c)["nan"]["fever_infection"] == "withdrawn"


@pytest.mark.parametrize("stated, said, rule", [
    ("my wife has a fever, can i massage her", "she says the pressure is fine, how long should i go for?", "fever_infection"),
    ("my wife is pregnant, can i massage her", "she's fine lying on her side, what oil is best?", "pregnancy"),
])
def test_being_fine_with_something_takes_nothing_back(assistant, stated, said, rule):
    assert talk(assistant, stated, said).in_force() == {rule}


def test_the_withdrawal_model_is_fitted_on_todays_labelled_conversations(assistant):
    """Editing a dialogue file without `python -m assistant.fit_withdrawal` leaves the model behind."""
    from assistant.corpus import shipped_corpus_dir
    from assistant.datafiles import DATA_DIR
    from assistant.fit_withdrawal import examples

    doc = json.loads((DATA_DIR / "withdrawal.json").read_text("utf-8"))
    rows = examples(shipped_corpus_dir(), frozenset(r.id for r in assistant.safety.rules if r.scope == "request"))
    assert (len(rows), sum(w for _, w, _ in rows)) == (doc["fitted_on"]["turns"], doc["fitted_on"]["withdrawing"])


@pytest.mark.parametrize("change", [{"threshold": 1.5}, {"intercept": float("nan")}, {"weights": ["w:fine"]}])
def test_a_broken_withdrawal_model_is_refused_by_name(tmp_path, monkeypatch, change):
    import assistant.withdrawal as withdrawal
    from assistant.datafiles import DATA_DIR

    doc = json.loads((DATA_DIR / "withdrawal.json").read_text("utf-8"))
    doc.update(change)
    assert_refused_by_name(tmp_path, monkeypatch, "withdrawal.json", doc, withdrawal.load_withdrawal_model,
                           withdrawal.load_withdrawal_model)


def test_past_and_recovered_is_not_in_force_but_still_recovering_is(assistant):
    assert talk(assistant, "my husband had a cold a fortnight ago, all better now. how long should i massage him").in_force() == set()
    assert talk(assistant, "my husband is still recovering from the flu, how long should i massage him").in_force() == {"fever_infection"}


def test_all_better_ends_an_operation_but_not_a_long_term_condition(assistant):
    """A later 'she's all better now' makes what can be over past, and leaves the rest in force."""
    c = Conversation()
    assistant.ask("my mum had a hip op in may and also has diabetes, can i do her back", c)
    assert c.in_force() == {"medical_condition"}
    op = Conversation()
    assistant.ask("my mum had an op on her hip in may, can i do her back", op)
    assert op.in_force() == {"medical_condition"}
    assistant.ask("she's all better now", op)
    assert op.in_force() == set()
    chronic = Conversation()
    assistant.ask("my mum has diabetes, can i do her back", chronic)
    assistant.ask("she's all better now", chronic)
    assert chronic.in_force() == {"medical_condition"}


def test_a_hypothetical_condition_is_warned_about_once_and_not_held(assistant):
    c = Conversation()
    first = assistant.ask("what if she were pregnant, could i still massage her back", c)
    assert [r.id for r in first.route.rules] == ["pregnancy"]
    assert c.in_force() == set() and [r.id for r in c.state.asked_now] == ["pregnancy"]  # this question only
    assistant.ask("how long should i go for", c)
    assert c.in_force() == set() and c.state.asked_now == ()


@pytest.mark.parametrize("turns, rule", [
    (("my wife's shoulders are tight, what can i do", "what if she was pregnant, would i need to change anything?",
      "funny you ask, the test came back positive this morning, she's pregnant! what should i change?"), "pregnancy"),
    (("my dad might have a clot in his leg, he's waiting on a scan. can i massage his back?",
      "results came back, it's definitely a clot. what now"), "blood_clots"),
    (("my flatmate has a temperature of 38.5 and feels rough, he's doing a covid test now. can i rub his back?",
      "test came back positive lol. so thats a no?"), "fever_infection"),
    (("my mum might have a blood clot in her calf, the gp is sending her for a scan. can i massage her back?",
      "the scan came back this afternoon and they confirmed it. so when can i do her back?"), "blood_clots"),
])
def test_a_result_confirming_a_condition_holds_it(assistant, turns, rule):
    """"came back" is how people say a test cleared someone, but "came back positive" and "it's
    definitely a clot" confirm it: the warning holds."""
    assert rule in talk(assistant, *turns).in_force()


@pytest.mark.parametrize("asked", ["would it matter if he had a blood clot?", "and if he ever got a blood clot, then what?"])
def test_a_counterfactual_if_is_a_hypothetical(assistant, asked):
    """"would it matter if he had..." asks about a condition: warned about then, not held after."""
    c = talk(assistant, "my dad's back is stiff, how do i loosen it", asked)
    assert [r.id for r in c.state.asked_now] == ["blood_clots"] and c.in_force() == set()
    assistant.ask("ok, how long should i go for?", c)
    assert c.in_force() == set()


def test_a_denial_answering_a_hypothetical_takes_back_nothing_held(assistant):
    """"he's not" after "what if he was diabetic" answers the question asked, not what was said before."""
    c = talk(assistant, "my husband's lower back has ached every day for two years, will rubbing it every night sort it out?",
             "what if he was diabetic as well, would that change things?",
             "he's not, i was just wondering. how long should each rub be?")
    assert c.in_force() == {"persistent_pain"} and c.state.asked_now == ()


@pytest.mark.parametrize("said", ["she's also got a peanut allergy so can i use almond oil",
                                  "she\u2019s also got a peanut allergy so can i use almond oil"])
def test_a_condition_said_with_a_contracted_she_is_hers_not_the_typists(assistant, said):
    c = talk(assistant, "my partner's carrying twins, what can i safely do", said)
    assert c.state.person == "partner" and c.in_force() == {"pregnancy", "allergies"}
    assert "self" not in statuses(c)


def test_a_new_person_starts_without_the_first_persons_conditions(assistant):
    c = talk(assistant, "my wife is pregnant, what oil should i use", "my brother wants a back rub too, how long for him")
    assert c.state.person == "brother" and c.in_force() == set()
    assistant.ask("back to my wife, how often can i do it", c)
    assert c.state.person == "wife" and c.in_force() == {"pregnancy"}


def test_a_person_typed_without_the_apostrophe_is_still_that_person(assistant):
    c = talk(assistant, "my wife is pregnant, what oil should i use", "and my sisters neck, how long for that")
    assert c.state.person == "sister" and c.in_force() == set()


def test_the_one_receiving_the_massage_is_the_one_spoken_of(assistant):
    """'can my husband give me a back rub': the husband gives it, the condition is the typist's."""
    c = talk(assistant, "im 6 months pregnant, can my husband give me a back rub")
    assert c.state.person == "self" and c.in_force() == {"pregnancy"}
    c = talk(assistant, "my husband gives me massages but he has a fever now, can i massage him instead")
    assert statuses(c)["husband"]["fever_infection"] == "active"


def test_a_correction_moves_a_condition_to_the_person_it_belongs_to(assistant):
    c = talk(assistant, "my husband has a fever, can he have a massage",
             "wait no sorry, it's my son who has the fever, not my husband. what oil should i use on him")
    assert statuses(c)["husband"]["fever_infection"] == "withdrawn"
    assert statuses(c)["son"]["fever_infection"] == "active"


@pytest.mark.parametrize("correction", ["my girlfriend's fine, it's my housemate who's burnt. how long should i massage her",
                                        "oops, my housemate has the sunburn, my girlfriend's fine. how long should i massage her"])
def test_a_correction_said_as_people_say_it_moves_the_condition(assistant, correction):
    c = talk(assistant, "my gf has really bad sunburn on her back, can i give her a massage", correction)
    assert statuses(c)["girlfriend"]["skin_problems"] == "withdrawn"
    assert statuses(c)["flatmate"]["skin_problems"] == "active"


def test_a_correction_takes_away_everything_the_corrected_words_said_of_that_person(assistant):
    # "bright red and peeling" holds sunburn and swelling for the cousin; the correction names only the sunburn
    c = talk(assistant, "my cousin got fried at the beach, his back is bright red and peeling, can i massage him",
             "oh wait i got that wrong, it's my brother who's sunburnt. what should i do for my cousin")
    assert c.state.person == "cousin" and c.in_force() == set()
    assert statuses(c)["brother"]["skin_problems"] == "active"


def test_a_sentence_naming_two_people_gives_each_their_own_conditions(assistant):
    c = talk(assistant, "my wife's back is fine but my son has a fever, can i massage him")
    assert statuses(c) == {"son": {"fever_infection": "active"}}


@pytest.mark.parametrize("relative, person", [("stepdad", "dad"), ("mother-in-law", "mum"), ("half sister", "sister")])
def test_step_and_in_law_relatives_are_people_of_their_own(assistant, relative, person):
    c = talk(assistant, "my husband wants a back rub, how long for",
             f"my {relative}'s round and wants one too but has a nasty chest infection at the mo")
    assert c.state.person == person and c.in_force() == {"fever_infection"}
    assert statuses(c).get("husband", {}) == {}


def test_a_condition_of_the_one_typing_stays_in_force_when_no_one_was_named(assistant):
    c = talk(assistant, "how do you massage your own shoulders",
             "i'd like to use some oil but i react to loads of creams, what should i do", "ok and how often")
    assert c.state.person == "self" and c.in_force() == {"allergies"}


def test_a_reaction_during_the_massage_is_a_condition_stated_now(assistant):
    c = talk(assistant, "im massaging my girlfriends back now", "she says it hurts with a sharp pain when i press there")
    assert "severe_pain" in c.in_force()


def test_the_story_teller_is_not_the_one_with_the_condition(assistant):
    c = talk(assistant, "my dad's had a bad back for ten years. i read that massage cures chronic back pain, will it fix him")
    assert c.state.person == "dad" and "persistent_pain" in c.in_force()


def test_batch_rows_sharing_a_conversation_are_answered_as_one(cli, tmp_path):
    rows = tmp_path / "turns.jsonl"
    rows.write_text("\n".join(json.dumps(r) for r in [
        {"question": "my wife is pregnant, what oil should i use", "conversation": "a"},
        {"question": "what oil should i use", "conversation": "b"},
        {"question": "and how long?", "conversation": "a"},
        {"question": "and how long?"}]) + "\n", "utf-8")
    out = cli("batch", str(rows))
    assert out.returncode == 0, out.stderr
    records = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{") and '"line"' in l]
    assert [r["conversation"] for r in records] == ["a", "b", "a", None]
    assert [r["held_conditions"] for r in records] == [["pregnancy"], [], ["pregnancy"], []]
    assert records[2]["route"] == "safety" and records[3]["route"] == "retrieval"


def test_someone_spoken_of_only_as_she_after_a_he_is_someone_else(assistant):
    c = talk(assistant, "my boyfriend pulled his back at the gym yesterday, can i rub it")
    assert c.in_force() == {"inflammation_injury"}
    answer = assistant.ask("she might be pregnant, can i still do her shoulders", c)
    assert [r.id for r in answer.route.rules] == ["pregnancy"]  # not the boyfriend's injury
    assert statuses(c)["boyfriend"] == {"inflammation_injury": "active"}


def test_a_source_named_in_the_question_does_not_take_the_conversation_from_the_one_the_story_is_about(assistant):
    # the question names only the source of the advice ("his mum says..."); the one it is about is named before
    conversation = Conversation()
    answer = assistant.ask("my husband pulled his back lifting boxes and he's in agony. his mum says i should give him a rub",
                           conversation)
    assert conversation.state.person == "husband"
    assert "severe_pain" in {r.id for r in answer.route.rules}


def test_a_sign_off_naming_a_held_condition_is_thanked_for_and_a_new_condition_is_not(assistant):
    """A message asking nothing that only names what is already held ("we'll wait for the fracture
    clinic. cheers") tells nothing new: it gets the thanks reply and the conditions stay in force.
    One that tells a new condition still gets its warning, thanks or not."""
    c = Conversation()
    assistant.ask("my grandad broke his wrist last week, can i massage his back", c)
    held = c.in_force()
    answer = assistant.ask("no worries, we'll wait til the fracture clinic. cheers", c)
    assert answer.route.route == "smalltalk" and answer.route.reply == "thanks" and c.in_force() == held
    answer = assistant.ask("thanks, he has a fever as well btw", c)
    assert answer.route.route == "safety" and "fever_infection" in [r.id for r in answer.route.rules]


@pytest.mark.parametrize("story, taking_back, taken", [
    ("my girlfriend might be allergic to nuts, which oil should i use",
     "update she went to the clinic and the allergy test was clear, turns out it was her washing powder. so coconut's fine?",
     "allergies"),
    ("my mum has a cough and a temperature, can i massage her back",
     "ah wait she just rang the doc and he says its not an infection at all, just a dry cough. so how's best to ease her back",
     "fever_infection"),
])
def test_a_sentence_taking_back_a_condition_it_names_withdraws_it(assistant, story, taking_back, taken):
    c = talk(assistant, story)
    assert taken in c.in_force()
    assistant.ask(taking_back, c)
    assert taken not in c.in_force() and statuses(c)[c.state.person][taken] == "withdrawn"


def test_a_result_confirming_a_condition_or_a_condition_said_still_to_hold_keeps_it(assistant):
    c = talk(assistant, "my dad might have a blood clot in his leg, they're doing a scan. can i do his back",
             "update, they did the ultrasound and it IS a clot. he's on blood thinners now. can i still do his back")
    assert "blood_clots" in c.in_force()
    c = talk(assistant, "my wife is pregnant and has a temperature, can i massage her",
             "false alarm, she'd had a hot water bottle on her all evening, temp's normal now. still pregnant obvs lol. upper back ok?")
    assert "pregnancy" in c.in_force()


def test_who_a_message_is_about_on_a_set_written_blind(assistant):
    """tests/fixtures/people-blind.jsonl: 60 messages naming several people, written by someone who
    never saw the code, labelled with whom each is about (a pronoun picking one of two people, a
    source of advice, someone asking for another; and controls). Measured 58/60 when it was added."""
    from assistant.dialogues import _person

    rows = fixture_rows("people-blind.jsonl")
    right = 0
    for row in rows:
        c = talk(assistant, row["text"])
        right += c.state.person == _person(row["person"])
    assert right >= 56, f"{right}/{len(rows)}"


def test_who_a_second_turn_quoting_someone_is_about_on_a_set_written_blind(assistant):
    """tests/fixtures/sources-blind.jsonl: 40 second turns quoting someone's advice ("my mum also reckons
    ..."), 12 of them about the newly named person, written by someone who never saw the code.
    Measured 33/40 when it was added (21/40 before sources with a word before their verb)."""
    from assistant.dialogues import _person

    rows = fixture_rows("sources-blind.jsonl")
    right = sum(talk(assistant, row["first"], row["text"]).state.person == _person(row["person"]) for row in rows)
    assert right >= 31, f"{right}/{len(rows)}"


def test_the_pronoun_of_the_question_picks_whom_it_is_about(assistant):
    c = talk(assistant, "me grandad's 90 next month and his back's always stiff. me mam wants us to give him a rub, "
                        "is that safe at his age?")
    assert c.state.person == "grandad" and "older_adults" in c.in_force()
    c = talk(assistant, "my husband says my mum's back is sore, how do i massage her")
    assert c.state.person == "mum"


@pytest.mark.parametrize("story, later, in_force", [
    ("my husband's shoulders are sunburnt, can i massage him", "can i do his lower back where it's not burnt", {"skin_problems"}),
    ("my wife has eczema on her arms", "what about just her lower back where theres no eczema", {"skin_problems"}),
    # the area asked about in the same message is not where the rash is
    ("my sister has a nasty rash on her shoulders, itchy red bumps. can i massage her lower back?",
     "can i do her lower back where there's no rash", {"skin_problems"}),
    # said of the same area, it is taken back; a condition of the whole person is taken back wherever it is said
    ("my son has a bruise on his shoulder from rugby", "actually his shoulder isn't bruised, it was just mud", set()),
    ("my wife has a fever", "she has no fever, her neck is just stiff", set()),
])
def test_a_condition_on_one_part_of_the_body_is_not_taken_back_by_another_part_being_clear(assistant, story, later, in_force):
    assert talk(assistant, story, later).in_force() == in_force


def test_news_taking_back_one_condition_keeps_what_it_says_and_what_it_does_not_touch(assistant):
    """A message taking something back while naming another condition ("no break! doc says its just
    bruising") takes back the other condition said with it, not the one it names; one whose own words
    take a condition back ("nah no fever") takes back that one only."""
    c = talk(assistant, "my son fell off his skateboard onto his back, they think he might've cracked a vertebra, "
                        "waiting on x-ray results",
             "xray's back, no break! doc says its just bruising. can i massage it now?")
    assert c.in_force() == {"inflammation_injury"}
    c = talk(assistant, "my wife is allergic to nuts and might have a fever, can i give her a back rub",
             "nah no fever, she's grand, was just wondering. how long should the whole thing take")
    assert c.in_force() == {"allergies"}


def test_a_correction_moves_the_condition_but_the_question_stays_with_the_one_spoken_of(assistant):
    c = talk(assistant, "my bestie is coming over for a pamper night, what oil should i use for her back",
             "ngl shes allergic to nuts, does that rule out almond oil",
             "oh wait no its her sister whos allergic not her lol. so almond is fine then, how much do i use")
    assert c.state.person == "friend" and c.in_force() == set()
    assert statuses(c)["sister"]["allergies"] == "active"
    # ...unless its pronoun cannot be the one spoken of before ("i'm the husband... can i massage her")
    c = talk(assistant, "im 6 months pregnant, can i get a back massage",
             "sorry typed that wrong, my WIFE is the one who's 6 months pregnant, i'm the husband lol. can i massage her")
    assert c.state.person == "wife" and c.in_force() == {"pregnancy"}


@pytest.mark.parametrize("source", ["me mam also reckons he should lie on the floor, what else could he do",
                                    "my grandma always says you gotta use baby oil, is that a thing for him",
                                    "his physio just told him to stretch more, should i do that before the massage"])
def test_a_source_with_a_word_before_its_verb_is_still_only_the_source(assistant, source):
    c = talk(assistant, "my grandad's 80 and his back's always stiff, can i give him a rub", source)
    assert c.state.person == "grandad" and "older_adults" in c.in_force()


def test_a_source_speaking_of_herself_is_whom_the_pronoun_points_to(assistant):
    c = talk(assistant, "giving my grandad a back rub later, he's 79",
             "my nan also says her shoulders ache now, she's 77 and a bit frail, how gentle should i be with her")
    assert c.state.person == "nan"


def test_the_typists_own_back_with_someone_else_to_massage_it_is_the_typists(assistant):
    c = talk(assistant, "woke up with a sudden sharp pain in my lower back, no idea what i did. can my boyfriend massage it out")
    assert c.state.person == "self" and c.in_force() == {"severe_pain"}
    # ...while the same words of someone else's back are theirs
    c = talk(assistant, "my boyfriend woke up with a sharp pain in his lower back, can i massage it out")
    assert c.state.person == "boyfriend" and c.in_force() == {"severe_pain"}


def test_the_typists_own_condition_stays_the_typists_when_the_one_giving_is_named(assistant):
    """"he" in "what should he avoid" is the partner giving the massage, not a third person the
    pregnancy could belong to: the warning is the typist's, for every later turn."""
    c = talk(assistant, "hey im 20 weeks pregnant and my partner wants to give me a back massage, what should he avoid",
             "what oils r ok")
    assert c.state.person == "self" and c.in_force() == {"pregnancy"}
    # ...while someone else named beside the one giving is spoken of
    c = talk(assistant, "my husband wants to give me a back rub but my sister is pregnant, can he do hers as well")
    assert statuses(c).get("sister", {}).get("pregnancy") == "active" and "pregnancy" not in statuses(c).get("self", {})


def test_what_a_follow_up_asks_on_a_set_written_blind(assistant):
    """tests/fixtures/follow-ups-blind.jsonl: 60 first questions with a short follow-up each, labelled with the
    topic and the body area the follow-up asks (read with the first), written by someone who never saw the
    code. Topic and area both right 31/60 when it was added, 41/60 once a follow-up naming only another area
    asks what was asked of it, 49/60 once a question too short to name its area keeps it (its odd ids were
    read for those changes; even ids 19/30 -> 21/30 -> 24/30)."""
    right = 0
    for row in fixture_rows("follow-ups-blind.jsonl"):
        c = Conversation()
        assistant.ask(row["first"], c)
        answer = assistant.ask(row["text"], c)
        right += answer.route.intent == row["topic"] and c.state.topic.area == row["area"]
    assert right >= 46, f"{right}/60"


def test_the_one_giving_the_massage_is_not_whom_it_is_about(assistant):
    c = talk(assistant, "my mum's 80 and has osteoporosis, her back's been killing her",
             "my husband wants to give her a back rub tonight, what should he watch out for")
    assert c.state.person == "mum" and "fracture_bone" in c.in_force()
    # ...and "did her back in" is an injury, not a massage given
    c = talk(assistant, "the missus did her back in at the gym this morning, can i rub it")
    assert c.state.person == "wife"


def test_givers_and_receivers_on_a_set_written_blind(assistant):
    """tests/fixtures/givers-blind.jsonl and givers2-blind.jsonl: 40 second turns each, 28 naming who will give
    the massage to the person spoken of before, 12 naming a new receiver, written by someone who never saw the
    code. The first: 17/40 when it was added, 25/40 once the one giving it is not the one spoken of, 32/40
    after all of it was read. The second, written after that and read only as a figure: 26/40 -> 27/40, then
    26/40 once "granddaughter" is a people word ("my granddaughter has offered to walk on my back" reads as
    about her)."""
    from assistant.dialogues import _person

    for name, floor in (("givers-blind.jsonl", 30), ("givers2-blind.jsonl", 25)):
        rows = fixture_rows(name)
        right = sum(talk(assistant, row["first"], row["text"]).state.person == _person(row["person"]) for row in rows)
        assert right >= floor, f"{name}: {right}/{len(rows)}"


def test_a_sign_is_evidence_later_news_explains_or_dismisses(assistant):
    """Redness alone is held as a sign of something: a later turn naming what it was ("it's sunburn")
    leaves that condition only; one explaining it away ("it was red paint") leaves nothing, though it
    says "red" again."""
    c = talk(assistant, "my brother's back looked a bit red after the beach, can i massage it",
             "nah it's real sunburn, peeling and all")
    assert c.in_force() == {"skin_problems"}
    c = talk(assistant, "my fiance has a red patch on his upper back, can i still massage him",
             "lmao it came off in the shower, it was red paint from decorating. skin's totally normal")
    assert c.in_force() == set()


@pytest.mark.parametrize("name, floor", [("cogivers-blind.jsonl", 21), ("self-with-giver-blind.jsonl", 21)])
def test_who_receives_and_holds_the_condition_on_sets_written_blind(assistant, name, floor):
    """tests/fixtures/cogivers-blind.jsonl: 30 messages where the typist and someone else give a massage to a
    third person (10 controls); self-with-giver-blind.jsonl: 30 where the typist has a condition and someone
    else will massage them (10 controls). Each written by someone who never saw the code, labelled with whom
    the message is about and the conditions in force for them. Measured 22/30 and 21/30 when they were added;
    the second 22/30 once the one giving the typist a massage no longer held the typist's condition (odd ids
    10/15 -> 11/15; even ids, never read, 11/15), 24/30 once each clause's condition went to its subject
    (even ids 11/15 -> 13/15)."""
    from assistant.dialogues import _person

    rows = fixture_rows(name)
    right = 0
    for row in rows:
        c = talk(assistant, row["text"])
        right += c.state.person == _person(row["person"]) and c.in_force() == set(row["conditions"])
    assert right >= floor, f"{name}: {right}/{len(rows)}"


def test_signs_explained_away_or_confirmed_on_a_set_written_blind(assistant):
    """tests/fixtures/explained-away-blind.jsonl: 30 two-turn exchanges, a worrying sign then (20) its harmless
    explanation ("lol it was red paint") or (10) its confirmation, written by someone who never saw the code.
    Measured 20/30 when it was added, 24/30 once a sign alone is held as evidence and the withdrawal model
    learned explanations (odd ids, read: 10/15 -> 14/15; even ids, never read: 10/15 both); 25/30 once the
    withdrawal model also learned from the illness conversations (even ids 10 -> 11)."""
    rows = fixture_rows("explained-away-blind.jsonl")
    right = sum(talk(assistant, row["first"], row["text"]).in_force() == set(row["conditions"]) for row in rows)
    assert right >= 23, f"{right}/{len(rows)}"


def test_a_correction_naming_only_the_person_moves_what_was_said(assistant):
    """"sorry its my dad who's had it for years, not mum": the condition said of mum is dad's, though the
    correction does not name it (typed without apostrophes, "its", "thats", or "its me that...")."""
    c = talk(assistant, "my mum has had bad lower back pain for like 3 years now, can i massage her back",
             "sorry its my dad who's had it for years, not mum")
    assert statuses(c)["dad"]["persistent_pain"] == "active" and statuses(c)["mum"]["persistent_pain"] == "withdrawn"
    c = talk(assistant, "my bro gets these sudden shooting pains down his back, is massage ok for that",
             "wait actually its me that gets them not him lol")
    assert statuses(c)["self"]["severe_pain"] == "active"
    # ...and one naming the condition again goes to the one it says, not to the one it denies
    c = talk(assistant, "my friend has a nut allergy, can i use almond oil on her back?",
             "oops its me with the nut allergy not my friend lol")
    assert statuses(c)["self"]["allergies"] == "active" and statuses(c)["friend"]["allergies"] == "withdrawn"


def test_who_has_the_condition_after_a_correction_on_a_set_written_blind(assistant):
    """tests/fixtures/corrections-blind.jsonl: 40 two-turn exchanges, a condition said of one person and a
    correction saying it is another's (20 not naming it again: "its my dad who's had it"), labelled with each
    person's conditions, written by someone who never saw the code. Right 15/40 at c440711 and 14/40 at
    46de6c3, when it was added; 25/40 once a correction naming only the person moves what was said and clefts
    are read as typed (odd ids, read: 7 -> 15; even ids, never read: 7 -> 10)."""
    from assistant.dialogues import _person

    rows = fixture_rows("corrections-blind.jsonl")
    right = 0
    for row in rows:
        c = talk(assistant, row["first"], row["text"])
        held = {who: {x.rule.id for x in conds if x.status == "active"} for who, conds in c.state.conditions}
        right += all(held.get(_person(p), set()) == set(v) for p, v in row["conditions_by_person"].items())
    assert right >= 29, f"{right}/{len(rows)}"
