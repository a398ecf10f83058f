"""Safety rules: triggers (with lay words and typos), negation, several conditions, and that no
safety question can reach a plain retrieval answer."""

from __future__ import annotations

import pytest

from assistant.pipeline import Assistant
from assistant.safety import SafetyRuleError, SafetyRules

TRIGGERS = {
    "fever_infection": ["my son has chicken pox", "she has bronchitis", "he has a fever", "she's got the flu", "is it ok with an infection on his back", "he has a fevr",
                        "he's running a temp", "i'm a bit under the weather", "she has a temperature",
                        "shes got a bad cold and a temp"],
    "inflammation_injury": ["her shoulder is swollen", "he pulled a muscle yesterday", "there is bruising", "fresh injury",
                            "threw my back out this morning", "he fell down the stairs yesterday",
                            "hubby did his back in at the gym yesterday",
                            "my husband strained his back lifting boxes yesterday, can i massage it",
                            "i've been carrying boxes all day, my back is wrecked",
                            "she twisted her lower back getting out of the car",
                            "my back hurts after moving furniture, will a massage help"],
    "fracture_bone": ["she has osteoporosis", "my nan has brittle bones", "he fractured a rib", "osteoporsis",
                      "she has a broken collarbone", "i think i might have cracked a rib"],
    "severe_pain": ["sudden sharp pain in my back", "shooting pain down the leg", "the pain is severe", "sciatica",
                    "i think he slipped a disc", "she has a slipped disk",
                    "my back went into spasm this morning and I can barely move",
                    "he gets shooting pains down his leg", "her back pain came out of nowhere and is really bad",
                    "my back went out"],
    "skin_problems": ["there's a rash", "she has sunburn", "he has cuts on his back", "broken skin",
                      "she got a new tattoo last week", "he has shingles",
                      "she just got a tattoo on her shoulder", "he has a boil on his back",
                      "is it ok to massage over a tattoo that's a week old"],
    "blood_clots": ["he has varicose veins", "history of blood clots", "dvt"],
    "pregnancy": ["she's pregnant", "my wife is expecting", "she is in her second trimester", "pregant wife",
                  "she has a bun in the oven", "she's 20 weeks along", "i'm 38 weeks, can my husband rub my back",
                  "she's 6 months gone", "can i massage my wife's lower back during labour"],
    "older_adults": ["my elderly mother", "grandpa wants a back rub", "she is 84 years old", "my nan is in her nineties",
                     "my mom has a bad hip and is 82, how gentle should i be"],
    "spine_pressure": ["can i press on the spine", "pushing on her backbone"],
    "deep_pressure": ["deep tissue massage", "how hard can i press hard", "should i use my elbows"],
    "persistent_pain": ["will it cure my chronic back pain", "can massage fix my back problem",
                        "she has had back pain for 3 months", "my back has been killing me for weeks",
                        "my back has hurt for over a year"],
    "allergies": ["she is allergic to nuts", "oil for sensitive skin"],
    "medical_condition": ["she had back surgery 3 weeks ago", "my husband is on chemo", "he's diabetic",
                          "there's a weird lump on his back",
                          "dad has a heart condition", "she has high blood pressure", "my mum has arthritis",
                          "he was diagnosed with gout last year",
                          "my dad has gout", "she gets migraines, would a back rub help", "he has asthma",
                          "my husband has ms", "my dad just had a heart stent fitted",
                          "im breastfeeding, can my husband give me a back massage",
                          # conditions no list names, known by their medical ending
                          "he has pancreatitis", "my dad has sarcoma", "my wife has endometriosis",
                          "my wife gets dizzy when lying down, is it safe to massage her", "she fainted last week",
                          "she just had a miscarriage, can i massage her", "can i take ibuprofen before a massage",
                          "my wife is anemic", "massage after giving birth"],
}
NOT_CONDITIONS = ["is it ok to give a back rub every single day?", "she fell asleep during the massage",
                  "she's 7 months old and teething", "i've had this sore back for a few days",
                  "what is shingles effleurage", "how do i cut down the pressure",
                  "i got a tattoo 3 years ago, can you massage over it", "she's 70kg is that a problem",
                  "what sent should the oil have", "my gut says she wants a massage",
                  "she broke up with me, should i still massage her", "should i take a break halfway through",
                  "how do i crack my own neck safely", "what temperature should the room be",
                  "what's a good temperature for the room",
                  "i feel sympathy for her, what aroma oils are good",
                  # the giver's posture, not an injury; the guides' own aftercare dizziness; lifting without pain
                  "how do i avoid straining my back while massaging", "she pulled her hair back, where do i start",
                  "i get dizzy after a massage, is that normal",
                  "is a back massage good after a long day lifting boxes at work",
                  "the shingles technique", "what spots on his back should i focus on",
                  "she had her tattoo done out of the blue", "what are the red flags during a back rub"]
NEGATED = ["she has no medical conditions", "she is not pregnant", "no fever", "he doesn't have a fever", "never had a fracture", "no injuries",
           "without any rash", "she isn't pregnant and has no fever", "she has no bronchitis"]


@pytest.fixture(scope="module")
def rules(assistant) -> SafetyRules:
    return assistant.safety


@pytest.mark.parametrize("rule_id, question", [(r, q) for r, qs in TRIGGERS.items() for q in qs])
def test_each_rule_triggers_on_its_words(rules, rule_id, question):
    assert rule_id in [m.id for m in rules.match(question)]


@pytest.mark.parametrize("question", NEGATED)
def test_simple_negation_does_not_trigger(rules, question):
    assert rules.match(question) == []


def test_uncertainty_is_not_negation(rules):
    assert [m.id for m in rules.match("not sure if she is pregnant")] == ["pregnancy"]
    assert [m.id for m in rules.match("no fever but she is pregnant")] == ["pregnancy"]


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


def test_a_missing_quote_is_a_load_error(index):
    with pytest.raises(SafetyRuleError, match="quote not found"):
        SafetyRules(index.analyzer, index.passages[:3])


@pytest.mark.parametrize("question", [q for qs in TRIGGERS.values() for q in qs] +
                         ["what oil is best for my pregnant wife", "how often can I massage my grandma who has brittle bones"])
def test_no_safety_question_reaches_plain_retrieval(assistant: Assistant, question):
    answer = assistant.ask(question)
    assert answer.route.route == "safety"
    assert answer.text.rstrip().endswith(assistant.safety.disclaimer)
    first_rule = answer.route.rules[0]
    assert answer.sentences[0].text == first_rule.quotes[0].text  # the rule leads the answer


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


@pytest.mark.parametrize("question", NOT_CONDITIONS)
def test_everyday_words_near_a_trigger_are_not_conditions(rules, question):
    # "single" is one letter from "shingle"; "fell asleep" is not a fall
    assert rules.match(question) == []
