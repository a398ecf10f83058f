"""Fits the learned sentence selector (data/selector.json) on the tune half of the labelled sentences.

    python -m assistant.fit_selector [--labels corpus/sentence-labels.jsonl]

For every labelled question of the tune half (by the same id split as `massage-qa eval`), the
candidate sentences the assistant would choose from are labelled acceptable or not (sentence_eval's
matching) and a logistic regression (scikit-learn) is fitted on their features, a key sentence
weighing KEY_WEIGHT more (the learned chooser, config answer.learned_selector; `--threshold`: the
probability a sentence needs besides the likeliest). A second regression, on whether each is a key
sentence, orders an answer's sentences (config answer.learned_order). Both read, besides the
sentence's and its passage's scores, what the tune answers found of the sentence itself
(data/sentence-priors.json: how often it was acceptable for questions of the intent and for any
question, and a key one for the intent). The chooser is fitted on the four labelled sets (--sets);
the order on the first two (--order-sets): on the lay sets' labels too, the order held the first
sentence acceptable less often (all four held halves .879 against .885). `--models-only` fits on
the priors as they are (the shipped ones; a rewrite now counts slightly other answers),
`--priors-only` rewrites the priors alone.

It also writes data/sentence-priors.json: for every guide sentence the tune answers of every labelled
set showed (with no sentence taken for padding), how often it was acceptable. The held half is never
read here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.pipeline import Assistant
from assistant.router import tune_half
from assistant.selection import FEATURES, PRIORS_FILE
from assistant.sentence_eval import SentenceJudge, load_sentence_labels


ORDER_SETS = ("questions.jsonl", "questions-second.jsonl")
CHOOSER_SETS = ORDER_SETS + ("questions-lay2.jsonl", "questions-lay3.jsonl")
# a key sentence counts this many times over in the chooser's fit: missing the direct answer costs more than
# showing one sentence too many
KEY_WEIGHT = 2.0


def sentence_priors(assistant: Assistant, labels: dict, judge: SentenceJudge) -> dict:
    """{"sentences": text -> [acceptable, shown], "by_intent": intent -> text -> [acceptable, shown]} over
    the tune answers (padding not left out while counting)."""
    counting = assistant.with_settings(answer_padding_below=0.0, answer_learned_selector=False)
    overall: dict[str, list[int]] = {}
    by_intent: dict[str, dict[str, list[int]]] = {}
    keys: dict[str, dict] = {}
    for qid, label in labels.items():
        if not tune_half(qid) or not label.acceptable:
            continue
        answer = counting.ask(label.question)
        route = answer.route
        for sentence in answer.sentences:
            good = judge.among(sentence.text, label.acceptable)
            for counts in (overall.setdefault(sentence.text, [0, 0]),
                           by_intent.setdefault(route.intent, {}).setdefault(sentence.text, [0, 0])):
                counts[0] += good
                counts[1] += 1
        # a question stating a condition has that condition's warning for a key: the safety rules give it, and
        # it is no answer to other questions of the intent
        if route.route == "retrieval":
            entry = keys.setdefault(route.intent, {"questions": 0, "keys": {}})
            entry["questions"] += 1
            for text in set(label.key):
                entry["keys"][text] = entry["keys"].get(text, 0) + 1
    return {"sentences": dict(sorted(overall.items())),
            "by_intent": {intent: dict(sorted(table.items())) for intent, table in sorted(by_intent.items())},
            "keys_by_intent": {intent: {"questions": e["questions"], "keys": dict(sorted(e["keys"].items()))}
                               for intent, e in sorted(keys.items())}}


def training_rows(assistant: Assistant, labels: dict, judge: SentenceJudge) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of every tune candidate, whether it is acceptable, and whether it is a key sentence."""
    heuristic = assistant.with_settings()
    heuristic.composer.selector.model = None  # features as the hand-weighted selector computes them
    rows, targets, keys = [], [], []
    for qid, label in labels.items():
        if not tune_half(qid) or not label.acceptable:
            continue
        route, ranking = heuristic.route(label.question)
        if route.route == "abstain":
            continue
        question = " ".join(part for part in (route.carried, route.focus, route.question) if part)
        for c in heuristic.composer.selector.candidates(question, route.intent, ranking.retrieved, route.rules, route.sense):
            rows.append(c.features)
            targets.append(int(judge.among(c.text, label.acceptable)))
            keys.append(int(judge.among(c.text, label.key)))
    return np.array(rows), np.array(targets), np.array(keys)


def label_sets(path: Path) -> dict[str, str]:
    """Question id -> the labelled set it belongs to."""
    return {row["id"]: row.get("set", "") for row in map(json.loads, filter(str.strip, path.read_text("utf-8").splitlines()))}


def write_priors(path: Path, priors: dict) -> None:
    path.write_text(json.dumps({
        "about": "How often each guide sentence shown in a tune answer was acceptable ([acceptable, shown]), over "
                 "the tune halves of corpus/sentence-labels.jsonl; written by assistant/fit_selector.py. "
                 "by_intent: the same over the answers to questions of each intent. Config answer.padding_below "
                 "says which are padding. keys_by_intent: how many tune questions of each intent, and how many "
                 "had each sentence as a key one (config answer.key_prior_weight).",
        **priors}, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(priors['sentences'])} sentences' priors; wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=Path("corpus/sentence-labels.jsonl"))
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="the chooser's probability a sentence needs to be shown (besides the likeliest)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "selector.json")
    parser.add_argument("--priors-out", type=Path, default=Path(__file__).parent / "data" / PRIORS_FILE)
    parser.add_argument("--sets", nargs="+", default=list(CHOOSER_SETS), help="labelled sets the chooser is fitted on")
    parser.add_argument("--order-sets", nargs="+", default=list(ORDER_SETS), help="labelled sets the order is fitted on")
    parser.add_argument("--priors-only", action="store_true", help="write the sentence priors, leave the models as they are")
    parser.add_argument("--models-only", action="store_true", help="fit the models on the priors as they are, leave those")
    args = parser.parse_args(argv)
    from sklearn.linear_model import LogisticRegression

    # without the shipped models: they are what is being fitted (and may name other features)
    from dataclasses import replace

    from assistant.config import load_config

    assistant = Assistant.open(config=replace(load_config(), answer_learned_selector=False, answer_learned_order=False))
    labels = load_sentence_labels(args.labels)
    judge = SentenceJudge(assistant.index.analyzer)
    if not args.models_only:
        write_priors(args.priors_out, sentence_priors(assistant, labels, judge))
    if args.priors_only:
        return 0
    sets = label_sets(args.labels)

    def rows(names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return training_rows(assistant, {q: label for q, label in labels.items() if sets.get(q) in names}, judge)

    X, y, key = rows(args.sets)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(X, y, sample_weight=1.0 + KEY_WEIGHT * key)
    # the order of an answer's sentences: how likely each is to be a key sentence (the direct answer)
    X_order, _, key_order = rows(args.order_sets)
    order = LogisticRegression(C=1.0, max_iter=2000).fit(X_order, key_order)
    threshold = args.threshold
    doc = {"about": "Learned sentence models: logistic regressions over these features of a candidate sentence, "
                    "fitted by assistant/fit_selector.py on the tune half of corpus/sentence-labels.jsonl: coef, "
                    "whether a sentence is acceptable (the learned chooser); order_coef, whether it is a key "
                    "sentence (the order of an answer's sentences).",
           "features": list(FEATURES), "coef": [round(float(c), 6) for c in model.coef_[0]],
           "intercept": round(float(model.intercept_[0]), 6), "threshold": round(threshold, 2),
           "order_coef": [round(float(c), 6) for c in order.coef_[0]],
           "order_intercept": round(float(order.intercept_[0]), 6),
           "fitted_on": {"candidates": int(len(y)), "acceptable": int(y.sum()), "key": int(key.sum())}}
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"{len(y)} tune candidates ({int(y.sum())} acceptable); threshold {threshold:.2f}; wrote {args.out}")
    for name, w in zip(FEATURES, model.coef_[0]):
        print(f"  {name:<18} {w:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
