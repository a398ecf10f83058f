"""Fits the scope decision (data/scope.json) on labelled examples.

    python -m assistant.fit_scope

Examples: every intent example of data/intents.toml (out of scope: the not-covered intent's;
small talk left out) and the tune halves of the shipped labelled question sets (out of scope:
those labelled with the not-covered intent). The regularisation and the threshold are chosen
by 5-fold cross-validation on these examples alone (the score: out-of-scope recall minus three
times the share of in-scope questions refused); the held halves are never read here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import sparse

from assistant.corpus import shipped_corpus_dir
from assistant.cv import choose_by_cost
from assistant.message import read_message
from assistant.pipeline import Assistant
from assistant.router import LABELLED_SETS, tune_half
from assistant.scope import NUMERIC, NUMERIC_SCALE


def examples(assistant: Assistant) -> list[tuple[str, bool]]:
    """(text, out of scope) pairs."""
    intents = assistant.intents
    not_covered, small_talk = intents.role("not_covered"), intents.role("small_talk")
    out = [(e, name == not_covered) for name, spec in intents.items() if name != small_talk for e in spec.examples]
    for name in LABELLED_SETS:
        for line in (shipped_corpus_dir() / name).read_text("utf-8").splitlines():
            row = json.loads(line) if line.strip() else None
            if row and tune_half(str(row["id"])) and row.get("intent") != small_talk:
                out.append((row["question"], row.get("intent") == not_covered))
    return out


def feature_matrix(assistant: Assistant, texts: list[str]) -> sparse.csr_matrix:
    messages = [read_message(text, assistant.config) for text in texts]
    grams = assistant.index.router.vectors([m.asked for m in messages]).to_scipy().tocsr()
    numeric = [[NUMERIC_SCALE * x for x in assistant.understander.evidence(m)] for m in messages]
    return sparse.hstack([grams, sparse.csr_matrix(np.array(numeric))]).tocsr()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "scope.json")
    args = parser.parse_args(argv)
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    assistant = Assistant.open()
    pairs = examples(assistant)
    X, y = feature_matrix(assistant, [t for t, _ in pairs]), np.array([o for _, o in pairs])
    def cv_probabilities(C: float) -> np.ndarray:
        probs = np.zeros(len(y))
        for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
            model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(X[train], y[train])
            probs[test] = model.predict_proba(X[test])[:, 1]
        return probs

    C, threshold, recall, refused_in = choose_by_cost(cv_probabilities, y, (1.0, 3.0, 10.0, 30.0),
                                                      (0.4, 0.5, 0.6, 0.7, 0.8), 3.0)
    model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(X, y)
    names = sorted(assistant.index.router.vocabulary_, key=assistant.index.router.vocabulary_.get)
    n = len(names)
    weights = {name: round(float(w), 5) for name, w in zip(names, model.coef_[0][:n]) if abs(w) > 1e-6}
    doc = {"about": "Scope decision: logistic regression over the intent model's n-gram features (by name) and "
                    "evidence measures, fitted by assistant/fit_scope.py; C and threshold chosen by 5-fold CV.",
           "C": C, "threshold": threshold, "numeric_features": list(NUMERIC),
           "numeric": [round(float(w), 5) for w in model.coef_[0][n:]], "intercept": round(float(model.intercept_[0]), 5),
           "fitted_on": {"examples": int(len(y)), "not_covered": int(y.sum()),
                         "cv_out_of_scope_recall": round(float(recall), 3), "cv_in_scope_refused": round(float(refused_in), 3)},
           "weights": weights}
    args.out.write_text(json.dumps(doc, indent=0) + "\n", encoding="utf-8")
    print(f"{len(y)} examples ({int(y.sum())} out of scope); C {C}, threshold {threshold}; "
          f"cross-validated: out-of-scope recall {recall:.3f}, in-scope refused {refused_in:.3f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
