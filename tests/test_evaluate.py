"""Evaluation: metric plumbing on a tiny hand-checked case, question-set errors, and quality floors."""

from __future__ import annotations

import json

import pytest

from assistant.evaluate import QuestionSetError, evaluate, ir_scores, load_questions, paired_bootstrap
from conftest import CORPUS


def test_ir_scores_match_hand_computed_values():
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}}
    run = {"q1": {"x": 3.0, "a": 2.0, "y": 1.0}, "q2": {}}
    agg, per_query = ir_scores(qrels, run)
    assert per_query["q1"]["recall@1"] == 0.0 and per_query["q1"]["recall@3"] == 0.5
    assert per_query["q1"]["mrr@10"] == 0.5
    assert agg["mrr@10"] == 0.25  # q2 retrieved nothing and counts as zero
    assert agg["success@5"] == 0.5


def test_paired_bootstrap_interval_contains_the_mean():
    mean, low, high = paired_bootstrap([1, 1, 0, 1], [0, 1, 0, 0])
    assert mean == 0.5 and low <= mean <= high


def test_unfound_quotes_are_errors_not_skips(tmp_path):
    bad = tmp_path / "set.jsonl"
    bad.write_text(json.dumps({"id": "a", "question": "oil?", "intent": "oil_choice",
                               "evidence": [{"quote": "olive oil is the only oil you need"}]}) + "\n{oops\n", "utf-8")
    with pytest.raises(QuestionSetError) as err:
        load_questions(bad, CORPUS)
    assert "quote not found" in str(err.value) and "line 2" in str(err.value)


def test_quotes_are_found_across_whitespace_and_quote_styles(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "q", "evidence": [
        {"quote": "Don't   jump into strenuous activity", "guide": "femspa-how-to-do-back-massage.txt"}]}) + "\n", "utf-8")
    q, = load_questions(path, CORPUS)
    guide, start, end = q.evidence[0]
    text = (CORPUS / guide).read_text("utf-8")[start:end]
    assert text == "Don’t jump into strenuous activity"


def test_a_set_labelling_no_key_facts_has_no_key_fact_recall(assistant, tmp_path):
    """Shown as "-", not as a recall of 0 that reads like every fact missed."""
    rows = [{"id": "a", "question": "what oil should i use", "intent": "oil_choice", "evidence": [
                {"quote": "For beginners, natural options like coconut or almond oil work well.",
                 "guide": "femspa-how-to-do-back-massage.txt"}]},
            {"id": "b", "question": "how often should i massage her", "intent": "frequency", "evidence": [
                {"quote": "Once or twice a week is common", "guide": "femspa-how-to-do-back-massage.txt"}]}]
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    assert evaluate(assistant, load_questions(path, CORPUS))["answers"]["key_fact_recall"] is None
    rows[0]["key_facts"] = ["coconut"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    assert evaluate(assistant, load_questions(path, CORPUS))["answers"]["key_fact_recall"] == 1.0


# Floors: the levels measured on the shipped set (massage-qa eval [--split tune|held]) when they
# were last raised, truncated to three decimals. Third labelling round (1740ba8+): every key
# sentence of corpus/sentence-labels.jsonl (labelled blind, by pooling) not yet covered became
# evidence (98 to 72 questions, 21 to 15 of the second set): more relevant passages lower
# Recall@5; e909027 and this code score the same on the completed labels. The evaluation must not fall below them; raise
# them when it improves. Issue target not yet reached: Recall@5 0.95 (all 0.910; the labels'
# ceiling, with up to nine relevant passages a question, is 0.965). MRR@10 was traded down a
# little for it once (intent boost 0.5 -> 1.0: all 0.927 -> 0.925, recall@5 0.888 -> 0.904).
RETRIEVAL = ("retrieval", "hybrid+intent")
FLOORS = {
    "tune": {RETRIEVAL + ("success@5",): 1.0, RETRIEVAL + ("mrr@10",): 0.974, RETRIEVAL + ("recall@5",): 0.895,
             ("router", "accuracy"): 0.967, ("abstain", "recall"): 1.0, ("answers", "key_fact_recall"): 0.951},
    # MRR and recall@5 lowered when the intent model began learning from every labelled set's tune half
    # (cae7899: MRR 0.94 -> 0.925 here, while the lay sets' and the conversations' held halves gained); key facts
    # when the labelled questions' key sentences became a prior (0.96 -> 0.94, one question; key sentences
    # 0.697 -> 0.765 here, key facts up on lay and lay2)
    # raised when the asking clause began to count as much as the story before it (8207c26: MRR .925 -> .940,
    # recall@5 .881 -> .896, router .950 -> .967)
    "held": {RETRIEVAL + ("success@5",): 1.0, RETRIEVAL + ("mrr@10",): 0.94, RETRIEVAL + ("recall@5",): 0.896,
             ("router", "accuracy"): 0.966, ("abstain", "recall"): 0.909, ("answers", "key_fact_recall"): 0.94},
    # corpus/questions-second.jsonl: 30 questions written after the tuning above (its first,
    # untouched measurement is in the README); the analysis fixes it then showed were made.
    "second": {RETRIEVAL + ("success@5",): 1.0, RETRIEVAL + ("mrr@10",): 0.979, RETRIEVAL + ("recall@5",): 0.893,
               ("router", "accuracy"): 0.9, ("abstain", "recall"): 1.0, ("answers", "key_fact_recall"): 0.92},
}


@pytest.fixture(scope="module")
def shipped_questions():
    return load_questions(CORPUS / "questions.jsonl", CORPUS)


@pytest.mark.parametrize("part", sorted(FLOORS))
def test_shipped_sets_meet_the_measured_floors(assistant, shipped_questions, part):
    assert len(shipped_questions) >= 100
    if part == "second":
        questions = load_questions(CORPUS / "questions-second.jsonl", CORPUS)
    else:
        questions = [q for q in shipped_questions if part == "all" or q.split == part]
    report = evaluate(assistant, questions)
    for path, floor in FLOORS[part].items():
        value = report
        for key in path:
            value = value[key]
        assert value >= floor, f"{part}: {'/'.join(path)} = {value:.4f} fell below {floor}"
    # the goals that are reached hold on every part
    assert report["safety"]["recall"] == 1.0 and report["safety"]["false_alarm_rate"] <= 0.05
    assert report["abstain"]["false_refusals"] <= 0.03
    assert report["answers"]["citation_validity"] == 1.0
    hybrid_intent, hybrid = report["retrieval"]["hybrid+intent"], report["retrieval"]["hybrid"]
    assert hybrid_intent["mrr@10"] >= hybrid["mrr@10"]  # the intent boost must not hurt


# corpus/dialogues.jsonl (written before the conversation state was built; its first run, on
# 6ac2243's predecessor e909027: held route 0.597, conditions 0.558, top five 0.917). Floors at
# the levels now measured, truncated: they guard the conversation state against regressions.
DIALOGUE_FLOORS = {"held": {"route_accuracy": 0.852, "conditions_exact": 0.875, "top5_relevant": 0.907},
                   "tune": {"route_accuracy": 0.932, "conditions_exact": 0.97, "top5_relevant": 0.906}}


@pytest.mark.parametrize("part", sorted(DIALOGUE_FLOORS))
def test_conversations_meet_the_measured_floors(assistant, part):
    from assistant.dialogues import evaluate_dialogues, load_dialogues

    dialogues = [d for d in load_dialogues(CORPUS / "dialogues.jsonl", CORPUS) if d.split == part]
    assert sum(len(d.turns) for d in dialogues) >= 100
    report = evaluate_dialogues(assistant, dialogues)
    for key, floor in DIALOGUE_FLOORS[part].items():
        assert report[key] >= floor, f"{part}: {key} = {report[key]:.4f} fell below {floor}"


def test_the_summary_reports_every_set_held_half_first(assistant, capsys, monkeypatch):
    import assistant.evaluate as evaluate_module

    # two sets of each kind keep it quick (the whole summary is a minute of answering); every shipped
    # set is loaded by the test below
    monkeypatch.setattr(evaluate_module, "QUESTION_SETS", ("questions-second.jsonl", "questions-duration.jsonl"))
    monkeypatch.setattr(evaluate_module, "DIALOGUE_SETS", ("dialogues-third.jsonl", "dialogues-extra.jsonl"))
    assert evaluate_module.print_summary(assistant, CORPUS, as_json=False) == 0
    rows = [line.split()[:2] for line in capsys.readouterr().out.splitlines() if line.startswith(("questions", "dialogues"))]
    assert rows == [["questions-second.jsonl", "held"], ["questions-second.jsonl", "tune"],
                    ["questions-duration.jsonl", "held"], ["questions-duration.jsonl", "tune"],
                    ["dialogues-third.jsonl", "held"], ["dialogues-third.jsonl", "tune"],
                    ["dialogues-extra.jsonl", "held"], ["dialogues-extra.jsonl", "tune"]]


def test_every_shipped_set_loads_with_its_quotes_found_in_the_guides():
    """What `make eval` reads: each set named in the summary is in the corpus and well formed."""
    from assistant.dialogues import load_dialogues
    from assistant.evaluate import DIALOGUE_SETS, QUESTION_SETS, load_questions

    assert all(load_questions(CORPUS / name, CORPUS) for name in QUESTION_SETS)
    assert all(load_dialogues(CORPUS / name, CORPUS) for name in DIALOGUE_SETS)
    assert len(DIALOGUE_SETS) == len(set(CORPUS.glob("dialogues*.jsonl")))


def test_a_dialogue_labels_people_in_its_own_words_and_is_scored_by_who_they_are(assistant, tmp_path):
    """A label saying "roommate" or "gran" means the flatmate or nan the assistant names."""
    from assistant.dialogues import evaluate_dialogues, load_dialogues

    turns = [{"text": "my roommate's back is stiff from his desk, how do i loosen it up", "route": "retrieval",
              "person": "roommate", "conditions": []},
             {"text": "and my gran's shoulders, how gentle should i be with her", "route": "retrieval",
              "person": "gran", "conditions": []}]
    path = tmp_path / "dialogues.jsonl"
    path.write_text(json.dumps({"id": "p1", "turns": turns}) + "\n", encoding="utf-8")
    assert evaluate_dialogues(assistant, load_dialogues(path, CORPUS))["person_accuracy"] == 1.0


def test_a_dialogue_set_quoting_no_evidence_reports_no_top_five_figure(cli, tmp_path):
    """Conversations labelled for routes and conditions only are not scored 0 on passages they never named."""
    turns = [{"text": "how long should a back massage last", "route": "retrieval", "conditions": []}]
    path = tmp_path / "dialogues.jsonl"
    path.write_text(json.dumps({"id": "n1", "turns": turns}) + "\n", encoding="utf-8")
    out = cli("eval", "--dialogues", str(path), "--split", "all")
    assert out.returncode == 0, out.stderr
    assert "route accuracy 1.000" in out.stdout and "top 5" not in out.stdout
