"""Fits the learned sentence selector (data/selector.json) on the tune half of the labelled sentences.

    python -m assistant.fit_selector [--labels corpus/sentence-labels.jsonl]

For every labelled question of the tune half (by the same id split as `massage-qa eval`), the
candidate sentences the assistant would choose from are labelled acceptable or not (sentence_eval's
matching) and a logistic regression (scikit-learn) is fitted on their features. The threshold is
the lowest probability at which the tune half's chosen sentences are at least `--precision`
acceptable. A second regression, on whether each is a key sentence, orders an answer's sentences
(config answer.learned_order). The held half is never read here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.pipeline import Assistant
from assistant.router import tune_half
from assistant.selection import FEATURES
from assistant.sentence_eval import SentenceJudge, load_sentence_labels


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=Path("corpus/sentence-labels.jsonl"))
    parser.add_argument("--precision", type=float, default=0.85, help="share of chosen tune sentences that must be acceptable")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "selector.json")
    args = parser.parse_args(argv)
    from sklearn.linear_model import LogisticRegression

    assistant = Assistant.open()
    labels = load_sentence_labels(args.labels)
    X, y, key = training_rows(assistant, labels, SentenceJudge(assistant.index.analyzer))
    model = LogisticRegression(C=1.0, max_iter=2000).fit(X, y)
    # the order of an answer's sentences: how likely each is to be a key sentence (the direct answer)
    order = LogisticRegression(C=1.0, max_iter=2000).fit(X, key)
    p = model.predict_proba(X)[:, 1]
    threshold = 0.5
    for t in np.arange(0.2, 0.9, 0.01):
        shown = p >= t
        if shown.any() and y[shown].mean() >= args.precision:
            threshold = float(t)
            break
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
