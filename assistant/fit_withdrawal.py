"""Fits the withdrawal decision (data/withdrawal.json) on the labelled conversations' tune halves.

    python -m assistant.fit_withdrawal

Examples: every tune turn of the shipped dialogue files, and every turn of corpus/withdrawals.jsonl
(conversations written only to teach this decision, half of them taking a condition back in one of
six ways, half looking alike and taking nothing back; never evaluated). A turn withdraws when,
said of the same person as the turn before, it leaves a condition that was in force before no
longer in force (by the turns' labels); every other turn, including those said while nothing was held, is a turn that
withdraws nothing (a model fitted only on the turns said while something was held learned "back",
"to" and "so" from 126 turns, and took "ok back to my wife" for a withdrawal). A caution about what
is asked (a "request" rule such as pressing on the spine) holds for one question only and is never
withdrawn. The regularisation and the threshold are chosen by 5-fold cross-validation grouped by
conversation (the score: withdrawals found minus five times the share of other turns taken for
one: a warning dropped is worse than one kept; on a tie, the higher threshold); the held halves
are never read here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.corpus import shipped_corpus_dir
from assistant.cv import choose_by_cost
from assistant.pipeline import Assistant
from assistant.router import LABELLED_DIALOGUES, tune_half
from assistant.withdrawal import MODEL_FILE, features

FALSE_WITHDRAWAL_COST = 5.0
TRAINING_ONLY = "withdrawals.jsonl"  # conversations written to teach this decision: every one is a tune one


def examples(corpus_dir: Path, request_rules: frozenset[str]) -> list[tuple[str, bool, str]]:
    """(turn text, withdraws, conversation id) of every tune turn."""
    out = []
    for path in [corpus_dir / name for name in sorted(LABELLED_DIALOGUES)] + [corpus_dir / TRAINING_ONLY]:
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line) if line.strip() else None
            if not row or not (path.name == TRAINING_ONLY or tune_half(str(row["id"]))):
                continue
            held: set[str] = set()
            person = ""
            for turn in row["turns"]:
                now = set(turn.get("conditions") or ())
                about = str(turn.get("person", ""))
                out.append((str(turn["text"]), about in (person, "") and bool(held - now), str(row["id"])))
                held = now - request_rules
                person = about or person
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / MODEL_FILE)
    args = parser.parse_args(argv)
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    assistant = Assistant.open()
    requests = frozenset(r.id for r in assistant.safety.rules if r.scope == "request")
    rows = examples(shipped_corpus_dir(), requests)
    analyzer = assistant.index.analyzer
    feats = [dict.fromkeys(features(analyzer.stem_sequence(text)), 1) for text, _, _ in rows]
    y = np.array([w for _, w, _ in rows])
    groups = np.array([g for _, _, g in rows])

    def fit(C: float, which) -> tuple[DictVectorizer, LogisticRegression]:
        vectorizer = DictVectorizer()
        model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
        return vectorizer, model.fit(vectorizer.fit_transform([feats[i] for i in which]), y[which])

    def cv_probabilities(C: float) -> np.ndarray:
        probs = np.zeros(len(y))
        for train, test in GroupKFold(5).split(feats, y, groups):
            vectorizer, model = fit(C, train)
            probs[test] = model.predict_proba(vectorizer.transform([feats[i] for i in test]))[:, 1]
        return probs

    # on a tie, the higher threshold (fewer warnings dropped)
    C, threshold, found, wrong = choose_by_cost(cv_probabilities, y, (0.3, 1.0, 3.0), (0.8, 0.7, 0.6, 0.5, 0.4),
                                                FALSE_WITHDRAWAL_COST)
    vectorizer, model = fit(C, np.arange(len(y)))
    weights = {name: round(float(w), 5) for name, w in zip(vectorizer.get_feature_names_out(), model.coef_[0])
               if abs(w) > 1e-5}
    doc = {"about": "Withdrawal decision: logistic regression over a message's stems and stem pairs, fitted by "
                    "assistant/fit_withdrawal.py on the tune halves of the labelled conversations and "
                    "corpus/withdrawals.jsonl; C and threshold "
                    "chosen by 5-fold cross-validation grouped by conversation.",
           "C": C, "threshold": threshold, "intercept": round(float(model.intercept_[0]), 5),
           "fitted_on": {"turns": int(len(y)), "withdrawing": int(y.sum()),
                         "cv_withdrawals_found": round(float(found), 3), "cv_wrongly_withdrawn": round(float(wrong), 3)},
           "weights": dict(sorted(weights.items()))}
    args.out.write_text(json.dumps(doc, indent=0) + "\n", encoding="utf-8")
    print(f"{len(y)} turns ({int(y.sum())} withdrawing); C {C}, threshold {threshold}; cross-validated: "
          f"withdrawals found {found:.3f}, other turns taken for one {wrong:.3f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
