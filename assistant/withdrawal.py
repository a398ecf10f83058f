"""Withdrawal: does a message take back a condition held in the conversation ("took her temp again,
it's normal", "the scan was my aunt's, mum's bones are fine")? A logistic regression learned from
the tune halves of the labelled conversations and corpus/withdrawals.jsonl (assistant/fit_withdrawal.py
-> data/withdrawal.json) decides it, on the message's stemmed words and word pairs (stop words and clause breaks kept:
"not", "no" and "fine" carry the meaning). Part of the understanding stage; the cue lists of
data/language.toml (negation, "fine now") still decide what they decide, this adds what they miss.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass

from assistant.datafiles import DataFileError

MODEL_FILE = "withdrawal.json"


def features(stems: list[str]) -> set[str]:
    """A message's features: each stem ("w:normal") and each pair of neighbouring stems ("b:not_pregnant")."""
    out = {f"w:{w}" for w in stems}
    out.update(f"b:{a}_{b}" for a, b in zip(stems, stems[1:]))
    return out


@dataclass(frozen=True)
class WithdrawalModel:
    """Weights by feature name, an intercept and the probability from which a message withdraws."""

    weights: dict[str, float]
    intercept: float
    threshold: float

    def probability(self, stems: list[str]) -> float:
        z = self.intercept + sum(self.weights.get(f, 0.0) for f in features(stems))
        return 1.0 / (1.0 + math.exp(-z))

    def withdraws(self, stems: list[str]) -> bool:
        return self.probability(stems) >= self.threshold


@functools.cache
def load_withdrawal_model() -> WithdrawalModel | None:
    """The fitted model shipped in data/withdrawal.json (None when there is none); DataFileError
    when it is malformed."""
    from assistant.datafiles import DATA_DIR

    path = DATA_DIR / MODEL_FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text("utf-8"))
        weights = {str(k): float(v) for k, v in doc["weights"].items()}
        intercept, threshold = float(doc["intercept"]), float(doc["threshold"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataFileError(f"{MODEL_FILE}: not a model file ({exc}); refit it with python -m assistant.fit_withdrawal") from None
    if not 0.0 < threshold < 1.0 or not all(math.isfinite(w) for w in [*weights.values(), intercept]):
        raise DataFileError(f"{MODEL_FILE}: threshold must be in (0, 1) and weights finite; refit it")
    return WithdrawalModel(weights, intercept, threshold)
