"""The sentence-selection stage: which guide sentences answer a routed question.

Candidates are the sentences of the top retrieved passages, scored by their weighted word overlap
with the question (alone and read under their headings), the headings' own overlap, the intent's
cue words, their passage's retrieval score and how often labelled questions of the intent had them
as a key sentence; the weights are Config's [answer] settings. A sentence the labelled answers found
true of any question (padding) is no candidate (data/sentence-priors.json). The selection keeps the
best few, merges exact repeats across guides, drops near repeats, keeps a sentence leaning on the one
before it only beside that one, and puts them in the order a model learned from labelled key
sentences rates them (else document order).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from assistant.config import Config
from assistant.datafiles import DataFileError, load, load_model
from assistant.router import Intents, Sense
from assistant.schema import Hit, Passage, RuleMatch
from assistant.text import Analyzer, squash


# What the learned selector reads of a candidate sentence (data/selector.json names them in this order).
FEATURES = ("overlap", "in_context", "heading", "cue", "passage", "inverse_rank", "first_in_passage", "position",
            "faq_opening", "states_value", "leans_on_previous", "length", "about_question", "heuristic", "specificity",
            "acceptable_for_intent", "acceptable_overall", "key_share")


@dataclass(frozen=True)
class Candidate:
    """A guide sentence that may answer the question, with its score (the learned selector's
    probability that it belongs in the answer, or the hand-weighted score without one)."""

    text: str
    passage: Passage
    hit_rank: int
    position: int  # its place among its passage's sentences
    score: float
    features: tuple[float, ...] = ()


@dataclass(frozen=True)
class SelectorModel:
    """A logistic regression over FEATURES, fitted on labelled sentences (assistant/fit_selector.py),
    with the probability a sentence needs to be shown."""

    coef: tuple[float, ...]
    intercept: float
    threshold: float

    def probability(self, features: tuple[float, ...]) -> float:
        z = self.intercept + sum(w * x for w, x in zip(self.coef, features))
        return 1.0 / (1.0 + math.exp(-z))


@functools.cache
def _selector_doc() -> dict | None:
    return load_model("selector.json", "features", FEATURES, "coef",
                      lambda d: d["coef"] + [d["intercept"]] + d.get("order_coef", []) + [d.get("order_intercept", 0.0)])


def load_selector_model() -> SelectorModel | None:
    """The fitted selector shipped in data/selector.json (None when there is none)."""
    doc = _selector_doc()
    if doc is None:
        return None
    return SelectorModel(tuple(float(c) for c in doc["coef"]), float(doc["intercept"]), float(doc["threshold"]))


PRIORS_FILE = "sentence-priors.json"


@dataclass(frozen=True)
class SentencePriors:
    """How often guide sentences shown in labelled tune answers were acceptable: (acceptable, shown)
    by sentence text, over all the answers and over those to questions of each intent."""

    overall: dict[str, tuple[int, int]]
    by_intent: dict[str, dict[str, tuple[int, int]]]
    # for each intent: (how many labelled questions of it, and how often each sentence was one of their keys)
    keys: dict[str, tuple[int, dict[str, int]]] = field(default_factory=dict)

    def acceptable_share(self, intent: str, text: str) -> float:
        """How often the sentence was acceptable where shown, in answers to questions of an intent (or
        to any question, intent ""), smoothed: 0.5 for a sentence never shown."""
        good, shown = (self.by_intent.get(intent, {}) if intent else self.overall).get(text, (0, 0))
        return (good + 1) / (shown + 2)

    def key_share(self, intent: str, text: str) -> float:
        """The share of labelled questions of an intent the sentence was a key sentence of (smoothed)."""
        questions, counts = self.keys.get(intent, (0, {}))
        return counts.get(text, 0) / (questions + 2)


@functools.cache
def load_sentence_priors() -> SentencePriors:
    """data/sentence-priors.json (none when it is missing). A malformed entry is a DataFileError."""
    import json

    from assistant.datafiles import DATA_DIR

    path = DATA_DIR / PRIORS_FILE
    if not path.is_file():
        return SentencePriors({}, {})
    try:
        doc = json.loads(path.read_text("utf-8"))
        keys = {}
        for intent, entry in doc.get("keys_by_intent", {}).items():
            questions, counts = int(entry["questions"]), entry["keys"]
            if questions < 0 or not all(isinstance(c, int) and 0 <= c <= questions for c in counts.values()):
                raise DataFileError(f"{PRIORS_FILE}: keys_by_intent.{intent}: counts should be 0..questions")
            keys[str(intent)] = (questions, {str(t): c for t, c in counts.items()})
        return SentencePriors(_counts(doc["sentences"]),
                              {str(intent): _counts(table) for intent, table in doc.get("by_intent", {}).items()}, keys)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataFileError(f"{PRIORS_FILE}: not a priors file ({exc}); rewrite it with python -m assistant.fit_selector") from None


def _counts(table: dict) -> dict[str, tuple[int, int]]:
    out = {}
    for text, counts in table.items():
        if not (isinstance(counts, list) and len(counts) == 2 and all(isinstance(n, int) for n in counts)
                and 0 <= counts[0] <= counts[1]):
            raise DataFileError(f"{PRIORS_FILE}: {text[:40]!r}: counts should be [acceptable, shown], 0 <= acceptable <= shown")
        out[str(text)] = (counts[0], counts[1])
    return out


def load_order_model() -> SelectorModel | None:
    """The model that orders an answer's sentences (data/selector.json order_coef: how likely a
    sentence is to be a key one, the direct answer); None when there is none."""
    doc = _selector_doc()
    if doc is None or "order_coef" not in doc:
        return None
    if len(doc["order_coef"]) != len(FEATURES):
        raise DataFileError(f"selector.json: order_coef has {len(doc['order_coef'])} weights, not {len(FEATURES)}; refit it")
    return SelectorModel(tuple(float(c) for c in doc["order_coef"]), float(doc["order_intercept"]), 0.5)


@dataclass(frozen=True)
class Chosen:
    """A sentence of the answer and every passage (across guides) that holds it."""

    text: str
    passages: tuple[Passage, ...]


@functools.cache
def _leans_on_previous() -> re.Pattern:
    words = load("language.toml")["leans_on_previous"]
    return re.compile(r"(?:" + "|".join(re.escape(w).replace("'", "[’']") for w in words) + r")\b", re.IGNORECASE)


class Selector:
    """Chooses answer sentences from a ranking, for one question or one part of it."""

    def __init__(self, analyzer: Analyzer, idf: np.ndarray, vocabulary: dict[str, int], intents: Intents,
                 config: Config, not_answers: tuple[re.Pattern, ...], rule_quotes: frozenset[str],
                 model: SelectorModel | None = None, order: SelectorModel | None = None,
                 guide_not_answers: dict[str, tuple[re.Pattern, ...]] | None = None,
                 priors: SentencePriors | None = None):
        self.analyzer = analyzer
        self.idf = idf
        self.vocabulary = vocabulary
        self.config = config
        self.not_answers = not_answers
        self.rule_quotes = rule_quotes
        self.intents = intents
        self.cues = {name: {analyzer.stem(w) for w in spec.cues} for name, spec in intents.items()}
        self.model = model
        self.order = order  # the hand-weighted choice, put in this model's order (the likeliest first)
        # the guides' sentences and headings come back question after question: their terms are
        # remembered (a bounded cache; a question's own terms are not)
        self.guide_terms = functools.lru_cache(maxsize=16384)(lambda text: frozenset(analyzer.terms(text)))
        self.guide_not_answers = guide_not_answers or {}  # a guide's own (manifest.json "cleaning")
        self.priors = priors or SentencePriors({}, {})  # what the labelled tune answers found of their sentences

    @functools.cached_property
    def _max_weight(self) -> float:
        return float(self.idf.max()) if len(self.idf) else 1.0

    def _weight(self, term: str) -> float:
        i = self.vocabulary.get(term)
        return float(self.idf[i]) if i is not None else 1.0

    def is_answer_sentence(self, text: str, passage: Passage) -> bool:
        """Questions, list openers ("Here are four key steps:"), bare headings, very short lines and
        the sentences the cleaning rules mark as not answers (the article about itself, advertising,
        claims of a cure; a guide's own site's name) are never answers."""
        stripped = text.rstrip()
        not_answers = self.not_answers + self.guide_not_answers.get(passage.guide, ())
        return (not stripped.endswith(("?", ":")) and len(text.split()) >= self.config.answer_min_sentence_words
                and squash(text) != squash(passage.section) and not any(p.search(stripped) for p in not_answers))

    def excluded(self, rules: tuple[RuleMatch, ...]) -> tuple[frozenset[str], frozenset[str]]:
        """(quotes, phrases) an answer body never offers: other conditions' warnings, and what a
        stated caution warns against (no lower-back technique for a pregnant person)."""
        if not rules:
            return frozenset(), frozenset()
        others = frozenset(self.rule_quotes - {q.text for r in rules for q in r.quotes})
        return others, frozenset(p for r in rules for p in r.body_excludes)

    def candidates(self, question: str, intent: str, hits: tuple[Hit, ...], rules: tuple[RuleMatch, ...] = (),
                   sense: str = "") -> list[Candidate]:
        """Sentences of the top passages, scored, best first."""
        cfg = self.config
        exclude, avoid = self.excluded(rules)
        senses = self.intents[intent].senses if intent in self.intents else ()
        off_senses = tuple(s for s in senses if sense and s.name != sense)
        q_terms = set(self.analyzer.terms(question))
        q_total = sum(self._weight(t) for t in q_terms) or 1.0
        cues = self.cues.get(intent, set())
        values = self.intents[intent].values if intent in self.intents else ()
        best = hits[0].score if hits and hits[0].score > 0 else 1.0
        out = []
        for hit in hits[:cfg.answer_passages_considered]:
            p = hit.passage
            faq = p.text.startswith(p.section) and p.section.endswith("?")
            section_terms = self.guide_terms(p.headings)
            section = sum(self._weight(t) for t in q_terms & section_terms) / q_total
            for pos, span in enumerate(p.sentences):
                if not self._offered(span.text, p, exclude, avoid, off_senses) or self.is_padding(span.text, intent):
                    continue
                terms = self.guide_terms(span.text)
                overlap = sum(self._weight(t) for t in q_terms & terms) / q_total
                # a sentence is read under its heading ("Massage oil or lotion: Helps reduce
                # friction..." in "Basic Tools You Might Need"), so the heading's words count for it too
                in_context = sum(self._weight(t) for t in q_terms & (terms | section_terms)) / q_total
                cue = min(1.0, len(cues & terms) / cfg.answer_cue_saturation) if cues else 0.0
                score = (cfg.answer_overlap_weight * overlap + cfg.answer_context_weight * in_context
                         + cfg.answer_heading_weight * section + cfg.answer_cue_weight * cue
                         + cfg.answer_passage_weight * hit.score / best)
                # a sentence the labelled questions of this intent often had as a key one answers its kind of question
                score += cfg.answer_key_prior_weight * self.priors.key_share(intent, span.text)
                faq_opening = faq and pos < cfg.answer_faq_opening_sentences
                if faq_opening:
                    score += cfg.answer_faq_opening_bonus  # the opening of a FAQ answer answers the FAQ question
                weight = sum(self._weight(t) for t in terms) or 1.0
                features = (overlap, in_context, section, cue, hit.score / best, 1.0 / hit.rank, float(pos == 0),
                            pos / max(1, len(p.sentences) - 1), float(faq_opening),
                            float(any(v.search(span.text) for v in values)),
                            float(bool(_leans_on_previous().match(span.text))), min(1.0, len(span.text.split()) / 40),
                            sum(self._weight(t) for t in q_terms & terms) / weight, score,
                            # how rare its words are: a sentence of common words ("Many people use oil during a
                            # massage for relaxation...") is true of many questions and answers none in particular
                            weight / max(1, len(terms)) / self._max_weight,
                            # what the labelled tune answers found of the sentence itself (none on a corpus of one's own)
                            self.priors.acceptable_share(intent, span.text), self.priors.acceptable_share("", span.text),
                            self.priors.key_share(intent, span.text))
                out.append(Candidate(span.text, p, hit.rank, pos, score, features))
        if self.model is not None:
            out = [replace(c, score=self.model.probability(c.features)) for c in out]
        out.sort(key=lambda c: (-c.score, c.hit_rank, c.position))
        return out

    def is_padding(self, text: str, intent: str = "") -> bool:
        """Whether labelled answers found the sentence true of any question rather than an answer to
        theirs, or to questions of this intent: shown often enough, and rarely acceptable (config
        answer.padding_below, padding_min_shown, padding_min_shown_for_intent)."""
        cfg = self.config
        for (good, shown), least in ((self.priors.overall.get(text, (0, 0)), cfg.answer_padding_min_shown),
                                     (self.priors.by_intent.get(intent, {}).get(text, (0, 0)),
                                      cfg.answer_padding_min_shown_for_intent)):
            if shown >= least and (good + 1) / (shown + 2) < cfg.answer_padding_below:
                return True
        return False

    def _offered(self, text: str, p: Passage, exclude: frozenset[str], avoid: frozenset[str],
                 off_senses: tuple[Sense, ...]) -> bool:
        if not self.is_answer_sentence(text, p) or any(q in text for q in exclude):
            return False
        if avoid and any(phrase in f"{p.section} {text}".lower() for phrase in avoid):
            return False
        return not any(sense.answered_by(text) for sense in off_senses)

    def select(self, candidates: list[Candidate], limit: int) -> list[Chosen]:
        """Up to `limit` good sentences; exact repeats across guides merge their citations, near
        repeats are dropped. With the learned model: every sentence it rates likely enough (at least
        one), the likeliest first, neighbours of one passage in their reading order; without: the
        hand-weighted best, in the `order` model's order the same way, or else grouped by passage in
        document order."""
        if self.model is not None:
            return self.select_learned(candidates, limit)
        cfg = self.config
        if not candidates:
            return []
        cutoff = candidates[0].score * cfg.answer_relative_cutoff
        chosen: list[Candidate] = []
        merged: dict[str, list[Passage]] = {}
        term_sets: list[set[str]] = []
        placed: set[tuple[str, int]] = set()

        def take(c: Candidate) -> None:
            key = squash(c.text).lower()
            if key in merged:
                if c.passage not in merged[key]:
                    merged[key].append(c.passage)
                return
            if len(chosen) >= limit or (c.score < cutoff and len(chosen) >= cfg.answer_min_sentences):
                return
            terms = self.guide_terms(c.text)
            if any(len(terms & other) / max(1, len(terms | other)) >= cfg.answer_near_repeat for other in term_sets):
                return
            chosen.append(c)
            merged[key] = [c.passage]
            term_sets.append(terms)
            placed.add((c.passage.id, c.position))

        leaning: list[Candidate] = []
        for c in candidates:
            # "This is an equally good technique..." means nothing without the sentence before it
            if c.position > 0 and _leans_on_previous().match(c.text) and (c.passage.id, c.position - 1) not in placed:
                leaning.append(c)
                continue
            take(c)
        for c in leaning:
            if (c.passage.id, c.position - 1) in placed:
                take(c)
        if self.order is not None:
            chosen = _reading_order(sorted(chosen, key=lambda c: -self.order.probability(c.features)))
        else:
            first_seen: dict[str, int] = {}
            for i, c in enumerate(chosen):
                first_seen.setdefault(c.passage.id, i)
            chosen.sort(key=lambda c: (first_seen[c.passage.id], c.position))
        return [Chosen(c.text, tuple(merged[squash(c.text).lower()])) for c in chosen]

    def select_learned(self, candidates: list[Candidate], limit: int) -> list[Chosen]:
        chosen: list[Candidate] = []
        merged: dict[str, list[Passage]] = {}
        term_sets: list[set[str]] = []
        placed: set[tuple[str, int]] = set()
        for c in candidates:  # likeliest first
            key = squash(c.text).lower()
            if key in merged:
                if c.passage not in merged[key]:
                    merged[key].append(c.passage)
                continue
            if len(chosen) >= limit or (chosen and c.score < self.model.threshold):
                continue
            # a sentence leaning on the one before it is shown right after that one, or not at all
            if c.position > 0 and _leans_on_previous().match(c.text) and (c.passage.id, c.position - 1) not in placed:
                continue
            terms = self.guide_terms(c.text)
            if any(len(terms & other) / max(1, len(terms | other)) >= self.config.answer_near_repeat for other in term_sets):
                continue
            chosen.append(c)
            merged[key] = [c.passage]
            term_sets.append(terms)
            placed.add((c.passage.id, c.position))
        if self.order is not None:
            chosen.sort(key=lambda c: -self.order.probability(c.features))
        return [Chosen(c.text, tuple(merged[squash(c.text).lower()])) for c in _reading_order(chosen)]


def _reading_order(chosen: list[Candidate]) -> list[Candidate]:
    """The likeliest sentence first; sentences next to each other in one passage read as a unit,
    in the passage's order, where the first of them stands."""
    runs: list[list[Candidate]] = []
    for c in chosen:
        run = next((r for r in runs if r[0].passage.id == c.passage.id
                    and any(abs(o.position - c.position) == 1 for o in r)), None)
        if run is None:
            runs.append([c])
        else:
            run.append(c)
    for run in [r for r in runs if len(r) == 1 and _leans_on_previous().match(r[0].text)]:
        # a sentence leaning on the one before it ("This allows your nervous system to reset...")
        # stands right after it, even when it was placed before that one joined its run
        c = run[0]
        home = next((r for r in runs if r is not run
                     and any(o.passage.id == c.passage.id and o.position == c.position - 1 for o in r)), None)
        if home is not None:
            home.append(c)
            runs.remove(run)
    return [c for run in runs for c in sorted(run, key=lambda c: c.position)]
