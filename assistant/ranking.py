"""The retrieval stage: a routed question -> a Ranking of passages.

The index scores every passage (BM25, TF-IDF, LSA, fused: see index.py); this stage adds the
priors a route brings and says which it applied: the intent lift (passages whose headings or
values answer the kind of question asked), the FAQ lift (a guide's FAQ answer whose question is
worded like the user's), the sense filter (no lift for a passage answering another sense of the
intent) and, on the safety route, the warnings' passages first.
"""

from __future__ import annotations

import numpy as np

from assistant.config import Config
from assistant.index import Index
from assistant.router import Intents
from assistant.retrieval import PostingScores, scores_at
from assistant.schema import Hit, Passage, Ranking, Route, RuleMatch


class Retriever:
    """Ranks passages for routed questions; the per-intent and per-sense lifts are computed once."""

    def __init__(self, index: Index, intents: Intents, config: Config):
        self.index = index
        self.intents = intents
        self.config = config
        self._lifts: dict[str, np.ndarray] = {}  # intent/sense -> score multipliers

    def rank(self, route: Route, mode: str, k: int, lifts: bool = True) -> Ranking:
        """The ranking behind a route's answer (`lifts=False`: the index's own ranking)."""
        if route.route in ("abstain", "smalltalk"):
            return Ranking()
        boost, reasons = self.boost(route) if lifts else (None, [])
        warnings = [self.index.passage_numbers[q.passage.id] for rule in route.rules for q in rule.quotes]
        hits, parts = self.index.search_parts(route.query, mode, k, boost, keep=warnings)
        if route.route != "safety":
            return Ranking(tuple(hits), tuple(hits), tuple(reasons))
        shown, retrieved = self.warnings_first(route.rules, parts, hits, k)
        return Ranking(shown, retrieved, tuple(reasons) + ("warnings first",))

    def boost(self, route: Route) -> tuple[np.ndarray | None, list[str]]:
        """The score multipliers the route's priors give (None: none), and their names."""
        reasons = []
        boost = self.intent_lift(route.lift_intent, route.sense)
        if boost is not None:
            reasons.append(f"intent lift: {route.lift_intent}" + (f"/{route.sense}" if route.sense else ""))
        lifted = self.faq_lift(route.faq_text, boost)
        if lifted is not boost:
            reasons.append("FAQ lift")
        boost = lifted
        if boost is not None and route.sense:
            # a FAQ worded like the question but answering the other sense ("Can a back massage
            # help improve posture?" for the giver's posture) gets no lift
            off_sense = self.index.lifts[f"off:{route.lift_intent}/{route.sense}"]  # answers another sense
            boost = np.where(off_sense, np.minimum(boost, 1.0), boost)
        return boost, reasons

    def intent_lift(self, intent: str, sense: str = "") -> np.ndarray | None:
        """Score multipliers for the passages an intent favours (None: no lift): those whose
        headings match its sections, and those stating a value of the kind it asks for (a number
        of minutes for duration, an oil's name for oil_choice, ...), wherever they stand. When the
        question picks one of the intent's senses, the passages that sense's patterns match instead."""
        spec = self.intents.get(intent)
        if not spec or not (spec.sections or spec.values) or self.config.retrieval_intent_boost == 0:
            return None
        key = f"{intent}/{sense}"
        if key not in self._lifts:  # the index holds every intent's and sense's mask (index.intent_masks)
            self._lifts[key] = np.where(self.index.lifts[key], 1.0 + self.config.retrieval_intent_boost, 1.0)
        return self._lifts[key]

    def faq_lift(self, question: str, intent_lift: np.ndarray | None) -> np.ndarray | None:
        """The intent's score multipliers with the guides' FAQ answers whose question is worded like
        this one ("how frequently do u recommend massages" ~ "How often should you give a back
        massage?", cosine c in the intent model's word and character n-gram space) lifted by
        1 + faq_boost * (c - faq_threshold). A FAQ asked nearly as the user asks it (c >= faq_favoured)
        also counts as a passage the intent favours, whatever the intent: the guide's own question is
        surer evidence than section names ("can i massage someone with back pain" ~ "Is it okay to
        massage someone with back pain?", which no technique section holds). Returns `intent_lift`
        itself when no FAQ is alike."""
        cfg = self.config
        if cfg.retrieval_faq_boost == 0 or not question:
            return intent_lift
        q_ids, q_weights = self.index.router.vector(question)
        cosines = self.index.faq.dot(q_ids, q_weights)  # per distinct FAQ question
        above = cosines > cfg.retrieval_faq_threshold
        if not above.any():
            return intent_lift
        alike = cosines >= cfg.retrieval_faq_favoured
        # only the passages answering a FAQ question that is lifted at all change: a pass or two over
        # the passages, not one per step (at a million passages each pass is a few milliseconds)
        rows = self.index.faq_rows
        changed = np.flatnonzero((above | alike)[rows])
        boost = np.ones(len(rows)) if intent_lift is None else intent_lift.copy()
        of = rows[changed]
        some = np.where(alike[of], np.maximum(boost[changed], 1.0 + cfg.retrieval_intent_boost), boost[changed])
        boost[changed] = some * (1.0 + cfg.retrieval_faq_boost * np.maximum(0.0, cosines[of] - cfg.retrieval_faq_threshold))
        return boost

    def warnings_first(self, rules: tuple[RuleMatch, ...], parts: dict[str, np.ndarray | PostingScores], hits: list[Hit],
                       k: int) -> tuple[tuple[Hit, ...], tuple[Hit, ...]]:
        """A safety answer rests on the passages holding its rules' warnings, so the ranking shows
        them first (strictest rule first, scored above 1), then the retrieved ones. Also returns
        what retrieval found among them, in its own order (the answer's body comes from those)."""
        warning: list[tuple[Passage, str]] = []
        for rule in rules:
            for quote in rule.quotes:
                if all(quote.passage != p for p, _ in warning):
                    warning.append((quote.passage, f"warning: {rule.condition}"))
        passages = [p for p, _ in warning]
        found = {h.passage.id: h for h in hits}
        numbers = np.array([self.index.passage_numbers[p.id] for p in passages], dtype=np.int64)
        shown_scores = {name: scores_at(s, numbers) for name, s in parts.items()}
        top = [Hit(p, rank, 2.0 - rank / (len(warning) + 1),
                   {name: float(s[rank - 1]) for name, s in shown_scores.items()}, reason)
               for rank, (p, reason) in enumerate(warning, start=1)]
        rest = [h for h in hits if h.passage not in passages][: max(0, k - len(top))]
        shown = top + [Hit(h.passage, len(top) + i, h.score, h.scores) for i, h in enumerate(rest, start=1)]
        # retrieval's own hits among those shown (a warning it found too keeps its retrieval score)
        kept = [found[p.id] for p in passages if p.id in found and found[p.id].score > 0] + rest
        kept.sort(key=lambda h: -h.score)
        retrieved = tuple(Hit(h.passage, rank, h.score, h.scores) for rank, h in enumerate(kept, start=1))
        return tuple(shown), retrieved
