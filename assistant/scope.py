"""Scope: is a question about what the guides cover? A logistic regression learned from labelled
examples (assistant/fit_scope.py -> data/scope.json) decides it, on the question's words and
character n-grams (the intent model's feature space) and four measures of evidence: the guides'
best lexical score for it, whether it uses words neither the guides nor the thesaurus know, the
intent model's probability that it is out of scope, and whether it names a topic the guides
never cover (intents.toml patterns). Part of the understanding stage.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from assistant.datafiles import load_model

NUMERIC = ("best_lexical_score", "foreign_words", "router_out_of_scope", "named_out_of_scope")
# the evidence measures lie in [0, 1]; scaled like this they weigh about as much as the unit-length
# n-gram vector's entries in the fit
NUMERIC_SCALE = 3.0


@dataclass(frozen=True)
class ScopeModel:
    """Weights over the intent model's features (by name) and the evidence measures."""

    weights: dict[str, float]
    numeric: tuple[float, ...]
    intercept: float
    threshold: float

    def aligned(self, vocabulary: dict[str, int]) -> np.ndarray:
        """The n-gram weights as an array over an index's own intent-model features."""
        coef = np.zeros(len(vocabulary))
        for name, w in self.weights.items():
            i = vocabulary.get(name)
            if i is not None:
                coef[i] = w
        return coef

    def probability(self, coef: np.ndarray, ids: np.ndarray, weights: np.ndarray, evidence: tuple[float, ...]) -> float:
        """The probability that a question is out of scope (`coef`: aligned())."""
        z = self.intercept + float(coef[ids] @ weights) if ids.size else self.intercept
        z += sum(w * NUMERIC_SCALE * x for w, x in zip(self.numeric, evidence))
        return 1.0 / (1.0 + math.exp(-z))


@functools.cache
def load_scope_model() -> ScopeModel | None:
    """The fitted scope decision shipped in data/scope.json (None when there is none)."""
    doc = load_model("scope.json", "numeric_features", NUMERIC, "numeric",
                     lambda d: list(d["weights"].values()) + d["numeric"] + [d["intercept"]])
    if doc is None:
        return None
    return ScopeModel({str(k): float(v) for k, v in doc["weights"].items()}, tuple(float(v) for v in doc["numeric"]),
                      float(doc["intercept"]), float(doc["threshold"]))
