"""Safety rules: triggers (with lay words and typos), negation, several conditions, and that no
safety question can reach a plain retrieval answer."""

from __future__ import annotations

import json

import pytest

from assistant.pipeline import Assistant
from assistant.safety import SafetyRuleError, SafetyRules
from conftest import CORPUS, fixture_rows

# corpus/conditions.jsonl: phrases labelled with the conditions they state (none for negated ones
# and for everyday words near a trigger), the eval cases of the safety rules' vocabulary.
CASES = [json.loads(line) for line in (CORPUS / "conditions.jsonl").open(encoding="utf-8")]
STATED = [c for c in CASES if c["conditions"]]


@pytest.fixture(scope="module")
def rules(assistant) -> SafetyRules:
    return assistant.safety


def test_every_labelled_condition_phrase_is_read_as_labelled(rules):
    """Every stated condition is found (others may be found beside it); negated mentions and
    everyday words near a trigger ("she fell asleep", "cut down the pressure") are none."""
    wrong = []
    for case in CASES:
        found = {m.id for m in rules.match(case["question"])}
        expected = set(case["conditions"])
        if (expected and not expected <= found) or (not expected and found):
            wrong.append((case["id"], case["question"], sorted(found)))
    assert len(CASES) >= 130 and wrong == []


def test_a_phrase_of_the_lexicon_is_found_with_a_word_between_its_words(rules):
    """People put a word inside the lexicon's phrases ("skin like tissue paper", "bulgy veins"); a
    phrase opening or ending on a function word ("the runs", "her waters") is not read that loosely."""
    assert [m.id for m in rules.match("her skin is like tissue paper, can i do her back")] == ["older_adults"]
    assert [m.id for m in rules.match("he has big bulgy blue veins on his calves")] == ["blood_clots"]
    assert rules.match("the oil has run down onto the towel") == []
    assert rules.match("i put her hot water bottle on after the massage") == []


def test_old_or_older_naming_a_relation_is_no_older_adult(rules):
    """"my older sister" and "my old man" (a dad, in slang) say nothing of age; an elderly or old person does."""
    for text in ("my older sister wants a shoulder rub", "can i give my old man a back rub after his shift"):
        assert "older_adults" not in {m.id for m in rules.match(text)}, text
    for text in ("my elderly mother wants a back rub", "the old man next door asked for a back rub"):
        assert "older_adults" in {m.id for m in rules.match(text)}, text


def test_uncertainty_is_not_negation(rules):
    assert [m.id for m in rules.match("not sure if she is pregnant")] == ["pregnancy"]
    assert [m.id for m in rules.match("no fever but she is pregnant")] == ["pregnancy"]


def test_pain_shown_during_the_massage_is_a_condition_unless_another_explains_it(rules):
    """A wince or a cry while being massaged is read as the sharp-pain condition; with a condition
    stated beside it (a swelling), it is that condition's, and a negated one is nothing."""
    assert [m.id for m in rules.match("she winces every time i press there")] == ["severe_pain"]
    assert [m.id for m in rules.match("he yelped when i did his lower back")] == ["severe_pain"]
    assert [m.id for m in rules.match("he flinches at one spot and it looks swollen")] == ["inflammation_injury"]
    assert rules.match("she didn't flinch once") == []


def test_a_condition_a_rules_pattern_finds_is_negated_and_supposed_where_it_stands(rules):
    """Patterns find what trigger words miss; "no" before what they found negates it there too, and
    "what if" makes it a supposition (it was read as stated in both)."""
    assert rules.match("the x-ray showed no broken bones, how hard can i press") == []
    assert [m.id for m in rules.match("the x-ray showed two broken bones")] == ["fracture_bone"]
    assert [(m.id, m.status) for m in rules.mentions("what if she had broken bones")] == [("fracture_bone", "hypothetical")]


def test_a_recovery_said_with_a_negation_leaves_the_condition_in_force(rules):
    """'hasn't cleared up' is no recovery, and 'not recovered from the flu' does not negate the flu."""
    assert [m.id for m in rules.match("her rash hasnt cleared up, can i massage her back")] == ["skin_problems"]
    assert [m.id for m in rules.match("she has not recovered from the flu, can i massage her")] == ["fever_infection"]
    assert rules.match("her rash has cleared up, can i massage her back") == []
    assert rules.match("she is not pregnant") == []


def test_recovered_is_over_while_recovering_goes_on(rules):
    """Both stem to 'recov': the words tell a recovery that is over from one that goes on."""
    assert rules.match("she had covid a month ago but she's fully recovered now, how do i do her back") == []
    assert [m.id for m in rules.match("she's recovering from the flu, can i do her back")] == ["fever_infection"]
    assert [m.id for m in rules.match("she had flu but is not fully recovered")] == ["fever_infection"]


def test_an_operation_or_illness_can_be_over_a_long_term_condition_cannot(rules):
    """A medical condition the guides never name passes only where its kind can: an operation
    healed, yes; diabetes or a heart condition said to be 'fine now', no. Said both ways, in force."""
    assert rules.match("my dad had his appendix out two years ago and he's fully healed, how firm can i go") == []
    assert rules.match("she had bronchial pneumonia in march but she's all better now") == []
    assert [m.id for m in rules.match("he's diabetic but he's fine now, how firm can i go")] == ["medical_condition"]
    assert [m.id for m in rules.match("she has a heart condition, she's ok now though")] == ["medical_condition"]
    assert [m.id for m in rules.match("his op scar has healed. he also has kidney disease")] == ["medical_condition"]


@pytest.mark.parametrize("rule, key, value, named", [
    # a phrase of what can be over that the rule never matches (another rule's, or a slip) would do nothing, unseen
    ("medical_condition", "passing", ["chickenpox"], "chickenpox"),
    ("inflammation_injury", "explained_by", ["skin_problem"], "skin_problem"),
    ("inflammation_injury", "sign_dimensions", ["reasons"], "reasons"),
])
def test_a_rule_naming_what_does_not_exist_is_a_load_error(index, monkeypatch, rule, key, value, named):
    import copy

    from assistant import safety

    doc = copy.deepcopy(safety._rules_doc())
    raw = next(r for r in doc["rules"] if r["id"] == rule)
    raw[key] = raw.get(key, []) + value
    monkeypatch.setattr(safety, "_rules_doc", lambda: doc)
    with pytest.raises(SafetyRuleError, match=named):
        SafetyRules(index.analyzer, index.passages)


def test_a_rules_pattern_reads_the_words_as_spelling_correction_does(rules):
    """The patterns of the data files are written in correct words; a slip in one of them ("pian",
    "nekc") is read as the word it slips from, and a negation still counts there."""
    assert [m.id for m in rules.match("months of back pian")] == ["persistent_pain"]
    assert [m.id for m in rules.match("years of nekc trouble")] == ["persistent_pain"]
    assert rules.match("she is not preganant") == []


def test_a_sign_another_condition_named_beside_it_explains_is_that_conditions(rules):
    """Redness beside a rash or a sunburn is the rash's (one condition, as every labelled set reads it);
    alone, or beside a swelling, it is an inflammation; found by the same words ("a red patch") it is both."""
    assert [m.id for m in rules.match("she's got a rash across her shoulder blades, itchy red bumps")] == ["skin_problems"]
    assert [m.id for m in rules.match("his back's bright red and peeling from sunburn")] == ["skin_problems"]
    assert [m.id for m in rules.match("her lower back is red")] == ["inflammation_injury"]
    assert {m.id for m in rules.match("it's red and swollen and there's a rash")} == {"inflammation_injury", "skin_problems"}
    # a sling beside a broken bone is the fracture's; alone it is an injury
    assert [m.id for m in rules.match("my son broke his collarbone 3 weeks ago, still in a sling")] == ["fracture_bone"]
    assert [m.id for m in rules.match("his arm is in a sling")] == ["inflammation_injury"]
    # ...and so is the fall that broke it; a fall alone, or with a bruise of its own, is an injury
    assert [m.id for m in rules.match("she fell off a stepladder and the doctor thinks she cracked a rib")] == ["fracture_bone"]
    assert [m.id for m in rules.match("she had a fall yesterday")] == ["inflammation_injury"]
    # "diagnosed with" a condition another rule names is that condition; with none named, a medical one
    assert [m.id for m in rules.match("she was diagnosed with osteoporosis last year")] == ["fracture_bone"]
    assert [m.id for m in rules.match("he was diagnosed with gout last year")] == ["medical_condition"]
    # "by accident" is "without meaning to", no accident
    assert [m.id for m in rules.match("i keep pressing right on her spine by accident")] == ["spine_pressure"]


def test_a_supposition_runs_on_over_and_but_not_over_but(rules):
    statuses = lambda text: {m.id: m.status for m in rules.match(text)}
    assert statuses("if she was pregnant and had a fever what then") == {"pregnancy": "hypothetical",
                                                                          "fever_infection": "hypothetical"}
    assert statuses("what if she was pregnant, but she has a fever now") == {"pregnancy": "hypothetical",
                                                                              "fever_infection": "active"}


def test_stated_and_supposed_conditions_on_a_set_written_blind(rules):
    """tests/fixtures/suppositions-blind.jsonl: 40 messages naming two or three conditions, all supposed,
    some stated and some supposed, or all stated, written by someone who never saw the code. Measured
    31/40 exactly right when it was added (20/40 before suppositions ran on over "and")."""
    rows = fixture_rows("suppositions-blind.jsonl")
    right = 0
    for row in rows:
        found = rules.match(row["text"])
        right += ({m.id for m in found if m.status == "active"} == set(row["stated"])
                  and {m.id for m in found if m.status == "hypothetical"} == set(row["supposed"]))
    assert right >= 29, f"{right}/{len(rows)}"


def test_a_negation_reaches_a_list_of_conditions_and_a_verdict_negates(rules):
    assert rules.match("theres no sign of swelling or bruising on his back") == []
    assert rules.match("no fever or rash, just tired") == []
    assert rules.match("doctor ruled out a slipped disc") == []
    assert rules.match("she tested negative for covid") == []
    # a maybe is not a negation; "or" alone negates nothing
    assert {m.id for m in rules.match("no idea if she has a fever or a rash")} == {"fever_infection", "skin_problems"}
    assert [m.id for m in rules.match("he has a fever or maybe flu")] == ["fever_infection"]


def test_in_force_negated_and_over_on_a_set_written_blind(rules):
    """tests/fixtures/negations-blind.jsonl: 60 messages, each condition labelled in force, negated or over,
    written by someone who never saw the code (its odd ids were read while improving the negation, its
    even ids not: 19/30 -> 21/30 on those). Measured 46/60 exactly right when it was added (42/60 before)."""
    rows = fixture_rows("negations-blind.jsonl")
    right = 0
    for row in rows:
        said = {m.id: m.status for m in rules.mentions(row["text"])}
        right += all({k for k, v in said.items() if v == status} == set(row[key])
                     for key, status in (("in_force", "active"), ("negated", "negated"), ("over", "past")))
    assert right >= 44, f"{right}/{len(rows)}"


def test_a_condition_that_has_gone_numb_or_red_has_come_on_not_gone(rules):
    assert [m.id for m in rules.match("his fingers have gone numb and his arm is tingling")] == ["severe_pain"]
    assert rules.match("the rash has gone now") == [] and rules.match("the swelling has gone down") == []


def test_reactions_during_the_massage_on_a_set_written_blind(assistant):
    """tests/fixtures/reactions-blind.jsonl: 50 lines typed mid-massage, 25 showing a condition and 25 fine
    ("it hurts so good", "she's dying of laughter"), written by someone who never saw the code. A warning when
    one is due 22/25 and none when fine 25/25 when it was added; 24/25 once "have gone numb" came on."""
    from assistant.conversation import Conversation

    rows = fixture_rows("reactions-blind.jsonl")
    due = fine = 0
    for row in rows:
        c = Conversation()
        assistant.ask("i'm giving my partner a back massage right now", c)
        assistant.ask(row["text"], c)
        if row["conditions"]:
            due += bool(c.in_force())
        else:
            fine += not c.in_force()
    assert due >= 23 and fine >= 24, (due, fine)


def test_conditions_denied_in_dialect_on_a_set_written_blind(rules):
    """tests/fixtures/dialect-negations-blind.jsonl: 40 messages in Scots, Irish, northern English, US and
    Australian English, 28 denying a condition and 12 stating one, written by someone who never saw the
    code. Measured 28/40 when it was added, 32/40 with Scots negations (controls 11/12 both)."""
    rows = fixture_rows("dialect-negations-blind.jsonl")
    right = 0
    for row in rows:
        said = {m.id: m.status for m in rules.mentions(row["text"])}
        right += ({k for k, v in said.items() if v == "active"} == set(row["in_force"])
                  and {k for k, v in said.items() if v == "negated"} >= set(row["negated"]))
    assert right >= 30, f"{right}/{len(rows)}"
    assert [m.id for m in rules.match("she isnae pregnant, can i do her lower back")] == []


def test_stiff_after_lifting_is_tension_hurt_after_lifting_is_a_fresh_injury(rules):
    """Sore or stiff from moving house is what a massage is for; hurt or in agony from it is the
    guides' "fresh injuries"."""
    assert rules.match("her lower back is stiff from moving house, how do i loosen it up") == []
    assert rules.match("his shoulders are a bit sore after carrying boxes all weekend") == []
    assert [m.id for m in rules.match("my back is killing me from carrying boxes all day")] == ["inflammation_injury"]


def test_beside_the_spine_is_technique_on_it_is_a_caution(rules):
    """The guides teach pressure on the sides of the spine and warn against pressing on it."""
    assert rules.match("can i use my thumbs on either side of her spine") == []
    assert rules.match("what about down the sides of his spine") == []
    assert [m.id for m in rules.match("can i press right on her spine")] == ["spine_pressure"]


def test_several_conditions_strictest_first(rules):
    found = rules.match("she is pregnant, has a fever and osteoporosis")
    assert {m.id for m in found} == {"pregnancy", "fever_infection", "fracture_bone"}
    order = {"stop": 0, "avoid": 1, "caution": 2}
    assert [order[m.verdict] for m in found] == sorted(order[m.verdict] for m in found)
    assert found[0].verdict == "stop"


def test_every_condition_the_guides_name_has_a_rule(rules):
    assert {r.id for r in rules.rules} >= {"fever_infection", "inflammation_injury", "fracture_bone", "severe_pain",
                                           "skin_problems", "blood_clots", "pregnancy", "older_adults",
                                           "spine_pressure", "deep_pressure"}


def test_rule_quotes_are_verbatim_in_their_passages(rules):
    for rule in rules.rules:
        for quote in rule.quotes:
            assert quote.text in quote.passage.text


def test_the_quotes_placed_when_the_index_was_built_are_where_a_search_of_every_passage_finds_them(index, index_dir):
    """The build narrows the search by the quote's terms; a full search finds the same places, and
    the rules made from a loaded index (which search nothing) quote the same text."""
    from assistant.config import load_config
    from assistant.index import load
    from assistant.safety import locate, quote_texts

    every = list(index.passages)
    expected = {q: list(place) if (place := locate(q, every)) else None for q in quote_texts()}
    loaded = load(index_dir, load_config())
    assert loaded.quote_places == index.quote_places == expected and None not in expected.values()
    made = SafetyRules(loaded.analyzer, loaded.passages, places=loaded.quote_places)
    searched = SafetyRules(index.analyzer, every)
    assert [[q.text for q in r.quotes] for r in made.rules] == [[q.text for q in r.quotes] for r in searched.rules]
    assert loaded.passages._all is None  # no pass over the passages


def test_a_missing_quote_is_a_load_error(index):
    with pytest.raises(SafetyRuleError, match="quote not found"):
        SafetyRules(index.analyzer, index.passages[:3])


@pytest.mark.parametrize("question", [c["question"] for c in STATED] +
                         ["what oil is best for my pregnant wife", "how often can I massage my grandma who has brittle bones"])
def test_no_safety_question_reaches_plain_retrieval(assistant: Assistant, question):
    """A stated condition's warning leads the answer, or, when what is asked is not in the guides
    ("can i take ibuprofen before a massage"), follows the refusal: never an answer without it."""
    answer = assistant.ask(question)
    assert answer.route.route in ("safety", "abstain") and answer.route.rules
    assert answer.text.rstrip().endswith(assistant.safety.disclaimer)
    first_rule = answer.route.rules[0]
    assert answer.sentences[0].text == first_rule.quotes[0].text  # the rule's words are the first guide words shown


@pytest.mark.parametrize("question", ["which moisturiser brand is best for eczema",
                                      "how much does a massage cost for someone with sciatica"])
def test_a_question_the_guides_do_not_cover_is_refused_with_the_warning_of_its_condition(assistant, question):
    answer = assistant.ask(question)
    assert answer.route.route == "abstain" and answer.route.rules
    refusal = assistant.composer.replies["abstain"]
    assert answer.text.startswith(refusal)
    warning = answer.route.rules[0].quotes[0].text
    assert warning in answer.text and answer.text.index(refusal) < answer.text.index(warning)


def test_a_condition_stated_in_a_refused_question_is_still_held(assistant):
    from assistant.conversation import Conversation

    c = Conversation()
    assistant.ask("which moisturiser brand is best for her eczema", c)
    assert c.in_force() == {"skin_problems"}
    later = assistant.ask("how do i do her shoulders", c)
    assert later.route.route == "safety" and [r.id for r in later.route.rules] == ["skin_problems"]


def test_avoid_and_stop_never_add_technique(assistant):
    answer = assistant.ask("he has a fever, how do I knead his shoulders")
    assert {r.verdict for r in answer.route.rules} == {"avoid"}
    rule_quotes = {q.text for r in answer.route.rules for q in r.quotes}
    assert {s.text for s in answer.sentences} <= rule_quotes


def test_caution_puts_the_caveat_before_the_normal_answer(assistant):
    answer = assistant.ask("what oil is best for my pregnant wife")
    texts = [s.text for s in answer.sentences]
    assert "prenatal massage" in texts[0]
    assert any("coconut" in t for t in texts[1:])


def test_cure_questions_get_the_caution_next_to_benefits(assistant):
    answer = assistant.ask("will massage cure my chronic back pain?")
    assert answer.route.route == "safety" and "persistent_pain" in [r.id for r in answer.route.rules]
    assert "professionals" in answer.text


def test_a_caution_answer_never_suggests_what_the_caution_warns_against(assistant):
    for question in ["my wife is pregnant, how do I massage her lower back?",
                     "she's pregnant, what techniques can I use on her back?"]:
        answer = assistant.ask(question)
        assert answer.route.route == "safety"
        quotes = {q.text for r in answer.route.rules for q in r.quotes}
        by_n = {c.n: c.passage for c in answer.citations}
        for s in answer.sentences:
            if s.text in quotes:
                continue
            sections = " ".join(by_n[n].section for n in s.citations)
            assert "lower back" not in f"{sections} {s.text}".lower(), (question, s.text)


def test_a_stated_condition_without_a_question_gets_the_warning_alone(assistant):
    answer = assistant.ask("she is 8 months pregnant")
    assert answer.route.intent == "when_to_avoid"
    assert {s.text for s in answer.sentences} == {q.text for r in answer.route.rules for q in r.quotes}


@pytest.mark.parametrize("question", ["my girlfriend is 6 months pregnant, what should i avoid doing when i rub her back",
                                      "shes pregnant, what should i not do when massaging"])
def test_what_to_avoid_with_a_condition_stated_is_what_the_condition_rules_out(assistant, question):
    # not the beginner's mistakes list: the router alone reads "what should I avoid" as mistakes
    answer = assistant.ask(question)
    assert answer.route.intent == "when_to_avoid" and answer.route.rules
    assert "mistake" not in answer.text.lower()


def test_a_caution_answer_body_still_answers_the_question(assistant):
    # the warnings' passages lead the ranking, but the body comes from what answers "how often"
    answer = assistant.ask("i have chronic back pain, how often should i get one")
    assert answer.route.route == "safety" and answer.route.intent == "frequency"
    quotes = {q.text for r in answer.route.rules for q in r.quotes}
    body = " ".join(s.text for s in answer.sentences if s.text not in quotes).lower()
    assert "week" in body


@pytest.mark.parametrize("question", ["my husband has cancer, can i massage his back?",
                                      "she had an operation on her back last month, how often can i massage it?"])
def test_a_condition_the_guides_never_name_gets_their_advice_to_ask_an_expert(assistant, question):
    # the guides never say massage is fine then: no technique, no "the guides don't cover that"
    answer = assistant.ask(question)
    assert answer.route.route == "safety" and answer.route.rules[0].verdict == "stop"
    assert "consult a health expert" in answer.text
    assert {s.text for s in answer.sentences} <= {q.text for r in answer.route.rules for q in r.quotes}





@pytest.mark.parametrize("question", ["should i cut my nails first, they're long", "which oils are good for chilling out"])
def test_a_word_of_a_condition_used_in_another_sense_states_none(assistant, question):
    # "cut" of grooming is no wound; "chill out" (stemmed as "chills") is no shivering
    assert assistant.route(question)[0].route != "safety", question


@pytest.mark.parametrize("text, statuses", [
    # an operation, an injury or an illness of years back is over...
    ("mum had her appendix out when she was a teenager, does that change anything", {"medical_condition": "past"}),
    ("himself had a discectomy about 8 years ago, hasnt had a twinge since", {"medical_condition": "past"}),
    ("he had a hernia op in his 40s, been fine for decades", {"medical_condition": "past"}),
    # ...unless the sentence says it goes on, or the condition cannot be over, or it is the lasting itself
    ("she broke her wrist years ago and it still aches", {"fracture_bone": "active"}),
    ("he had a stroke years ago", {"medical_condition": "active"}),
    ("back's hurt ever since my car accident 2 years ago, can massage fix it", {"persistent_pain": "active"}),
])
def test_what_was_years_ago_is_over_unless_it_goes_on(rules, text, statuses):
    said = {m.id: m.status for m in rules.mentions(text)}
    assert {k: v for k, v in said.items() if k in statuses} == statuses


def test_pain_for_a_year_or_a_decade_is_persistent(rules):
    assert "persistent_pain" in {m.id for m in rules.match("my mum's had neck and back pain for about a decade, what pressure is best?")}
    assert "persistent_pain" in {m.id for m in rules.match("he's had a sore back for a year now")}


@pytest.mark.parametrize("text, over", [
    ("she's right as rain now, fever broke yesterday", True),
    ("my husbands just had the flu but his temp's been normal 2 days now", True),
    # a recovery still to come is none
    ("ok which oil is better after he recovers, he's got the flu", False),
    ("no massage til he's better then, his fever is still up", False),
    # a result ruling it out, said without the condition's name
    ("he had covid but tested negative twice now and is back at work", True),
])
def test_a_recovery_said_in_everyday_words_and_one_still_to_come(rules, text, over):
    said = {m.id: m.status for m in rules.mentions(text)}
    assert (said.get("fever_infection") == "past") == over, said


def test_illness_told_over_a_conversation_on_a_set_written_blind(assistant):
    """tests/fixtures/fever-blind.jsonl: 40 three-turn conversations about a fever, flu or infection that is
    over, re-checked fine, never so, still going, supposed, or only an everyday word ("ill" for "I'll"),
    labelled with the conditions in force after each turn; older-blind.jsonl: 40 messages stating an age or
    frailty. Both written by someone who never saw the code. Conversations right on every turn 23/40 when
    added, 26/40 once a recovery is also said in everyday idiom and one still to come is none (odd ids, read,
    11 -> 14; even ids, never read, 12 -> 12), 29/40 once "burning up" is no burn (odd 15) and a negative
    test said without the condition's name is a result ruling it out (even 12 -> 14), 31/40 once the
    withdrawal model also learned from fever-tune.jsonl (even 14 -> 16); ages 32/40, 34/40 once anyone's age said with "'s" counts
    (odd 16 -> 17, even 16 -> 17)."""
    from assistant.conversation import Conversation

    right = sum(_right_on_every_turn(assistant, row) for row in fixture_rows("fever-blind.jsonl"))
    assert right >= 29, f"{right}/40"
    ages = 0
    for row in fixture_rows("older-blind.jsonl"):
        c = Conversation()
        assistant.ask(row["text"], c)
        ages += c.in_force() == set(row["conditions"])
    assert ages >= 32, f"{ages}/40"


@pytest.mark.parametrize("text, older", [
    ("my uncle's 81, can i massage him", True),
    ("wee granda's 84 an he's asked me tae rub his back", True),
    ("it's 70 out today, can i do her back outside", False),
    ("the session's 90 minutes, is that too long", False),
])
def test_anyones_age_said_with_an_apostrophe_s(rules, text, older):
    assert ("older_adults" in {m.id for m in rules.match(text)}) == older


@pytest.mark.parametrize("text, absent", [
    ("bf is burning up, 38.7", "skin_problems"),          # a fever, not a burn
    ("ok scratch that, he used the ear thermometer wrong", "skin_problems"),  # a sentence taken back
    ("checked with thermometer it is 98.2 F only", "older_adults"),  # a temperature, not an age
])
def test_words_that_only_look_like_a_condition(rules, text, absent):
    assert absent not in {m.id for m in rules.mentions(text)}
    assert "older_adults" in {m.id for m in rules.match("my dad is 78, can i massage him")}


@pytest.mark.parametrize("name, floor", [("fever-tune.jsonl", 52), ("illness-tune2.jsonl", 27)])
def test_an_illness_taken_back_or_kept_over_a_conversation_on_a_tune_set(assistant, name, floor):
    """tests/fixtures/fever-tune.jsonl: 60 conversations, an illness said then over or never so (40) or kept
    (20), written by someone who never saw the code to find how such turns fail; read whole while improving
    (a tune set, not an estimate). Right on every turn 39/60 when it was added, 45/60 once "burning up",
    "scratch that" and temperatures no longer read as a burn, a scratch or an age, 48/60 with negative test
    results as recovery; 55/60 once it was also training data of the withdrawal model (corpus/withdrawals.jsonl,
    wd3-*): from then on a check that the fit keeps what it learned, not an estimate. illness-tune2.jsonl: 60
    more, illness said in passing, over in everyday ways ("she's back at netball tonight"), someone else's, or
    kept; written after those changes, read whole, 29/60 (not training data: fitting on it lost four held
    dialogue rows)."""
    right = sum(_right_on_every_turn(assistant, row) for row in fixture_rows(name))
    assert right >= floor, f"{name}: {right}/60"


def _right_on_every_turn(assistant, row: dict) -> bool:
    """Whether a labelled conversation ({"turns": [{"text", "conditions"}]}) holds exactly the labelled
    conditions after each of its turns."""
    from assistant.conversation import Conversation

    c, ok = Conversation(), True
    for turn in row["turns"]:
        assistant.ask(turn["text"], c)
        ok &= c.in_force() == set(turn["conditions"])
    return ok
