"""Choosing a learned decision's regularisation and threshold by cross-validation (the fit_* scripts)."""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np


def choose_by_cost(cv_probabilities: Callable[[float], np.ndarray], y: np.ndarray, Cs: Iterable[float],
                   thresholds: Iterable[float], cost: float) -> tuple[float, float, float, float]:
    """(C, threshold, share of the positives taken, share of the others taken) that maximise the
    positives taken minus `cost` times the others taken, a turn taken being a cross-validated
    probability (cv_probabilities(C)) at or above the threshold. On a tie, the first in the
    order given wins (C first, then the thresholds in their order)."""
    best = None
    thresholds = tuple(thresholds)
    for C in Cs:
        probs = cv_probabilities(C)
        for t in thresholds:
            taken = probs >= t
            found, wrong = taken[y].mean(), taken[~y].mean()
            score = found - cost * wrong
            if best is None or score > best[0]:
                best = (score, C, t, found, wrong)
    return best[1:]
