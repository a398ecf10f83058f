"""The answer composer: turns a Route and the retrieved passages into a short answer made of the
guides' own sentences, each cited, plus the Sources list. Used by ask, chat and batch alike.

The only words that are not the guides' are fixed framing lines (data/replies.toml): safety
headings, the disclaimer, the abstain message and the "where the guides differ" summary, whose
values are themselves quoted from the cited passages.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources

import numpy as np

from assistant.config import Config
from assistant.router import IntentSpec, Sense
from assistant.schema import Answer, Citation, Hit, Passage, Route, RuleMatch, Sentence
from assistant.text import Analyzer, squash


def load_replies() -> dict:
    return tomllib.loads(resources.files("assistant.data").joinpath("replies.toml").read_text("utf-8"))


@dataclass(frozen=True)
class Candidate:
    text: str
    passage: Passage
    hit_rank: int
    position: int
    score: float


class Citations:
    """Numbers passages [1], [2], ... in order of first use."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.passages: list[Passage] = []

    def cite(self, passage: Passage) -> int:
        if passage.id not in self.numbers:
            self.passages.append(passage)
            self.numbers[passage.id] = len(self.passages)
        return self.numbers[passage.id]

    def as_tuple(self) -> tuple[Citation, ...]:
        return tuple(Citation(i, p) for i, p in enumerate(self.passages, start=1))


# a sentence opening like this refers back to the one before it
_LEANS_ON_PREVIOUS = re.compile(r"(this|these|that|those|it|it[’']s|they|they[’']re|such|then)\b", re.IGNORECASE)


def _is_answer_sentence(text: str, section: str, not_answers: tuple[re.Pattern, ...] = ()) -> bool:
    """Questions, list openers ("Here are four key steps:"), bare headings and the sentences the
    cleaning rules mark as not answers (the article about itself, advertising) are not answers."""
    stripped = text.rstrip()
    return (not stripped.endswith(("?", ":")) and len(text.split()) >= 5 and squash(text) != squash(section)
            and not any(p.search(stripped) for p in not_answers))


def as_retrieved(hits: list[Hit]) -> list[Hit]:
    """The ranking as retrieval made it: a safety ranking puts its warnings' passages first (see
    Assistant.route), but the answer's body is chosen from what retrieval found for the question."""
    if not any("safety" in h.scores for h in hits):
        return hits
    kept = [h for h in hits if "safety" not in h.scores or h.scores["retrieved"] > 0]
    kept.sort(key=lambda h: -h.scores.get("retrieved", h.score))
    return [Hit(h.passage, rank, h.scores.get("retrieved", h.score), h.scores) for rank, h in enumerate(kept, start=1)]


class Composer:
    def __init__(self, analyzer: Analyzer, idf: np.ndarray, vocabulary: dict[str, int],
                 intents: dict[str, IntentSpec], config: Config, disclaimer: str, rule_quotes: frozenset[str] = frozenset(),
                 not_answers: tuple[re.Pattern, ...] = ()):
        self.analyzer = analyzer
        self.idf = idf
        self.vocabulary = vocabulary
        self.config = config
        self.disclaimer = disclaimer
        self.rule_quotes = set(rule_quotes)
        self.not_answers = not_answers
        self.replies = load_replies()
        self.cues = {name: {analyzer.stem(w) for w in spec.cues} for name, spec in intents.items()}
        self.values = {name: [re.compile(v, re.IGNORECASE) for v in spec.values] for name, spec in intents.items()}
        self.senses = {name: spec.senses for name, spec in intents.items() if spec.senses}

    # -- sentence choice -------------------------------------------------------------
    def _weight(self, term: str) -> float:
        i = self.vocabulary.get(term)
        return float(self.idf[i]) if i is not None else 1.0

    def candidates(self, question: str, intent: str, hits: list[Hit], limit: int,
                   exclude: frozenset[str] = frozenset(), avoid: frozenset[str] = frozenset(),
                   off_senses: tuple[Sense, ...] = ()) -> list[Candidate]:
        """Sentences of the top passages, scored by weighted overlap with the question, intent cues
        and passage rank; best first. `off_senses`: the intent's senses the question did not ask."""
        q_terms = set(self.analyzer.terms(question))
        q_total = sum(self._weight(t) for t in q_terms) or 1.0
        cues = self.cues.get(intent, set())
        best = hits[0].score if hits and hits[0].score > 0 else 1.0
        out = []
        for hit in hits[:limit]:
            p = hit.passage
            faq = p.text.startswith(p.section) and p.section.endswith("?")
            section_terms = set(self.analyzer.terms(p.headings))
            section = sum(self._weight(t) for t in q_terms & section_terms) / q_total
            for pos, span in enumerate(p.sentences):
                if not _is_answer_sentence(span.text, p.section, self.not_answers) or any(q in span.text for q in exclude):
                    continue
                if avoid and any(phrase in f"{p.section} {span.text}".lower() for phrase in avoid):
                    continue
                if any(sense.answered_by(span.text) for sense in off_senses):
                    continue
                terms = set(self.analyzer.terms(span.text))
                overlap = sum(self._weight(t) for t in q_terms & terms) / q_total
                # a sentence is read under its heading ("Massage oil or lotion: Helps reduce
                # friction..." in "Basic Tools You Might Need"), so the heading's words count for it too
                in_context = sum(self._weight(t) for t in q_terms & (terms | section_terms)) / q_total
                cue = min(1.0, len(cues & terms) / 2) if cues else 0.0
                score = 0.35 * overlap + 0.15 * in_context + 0.15 * section + 0.15 * cue + 0.2 * hit.score / best
                if faq and pos <= 1:
                    score += 0.1  # the opening of a FAQ answer answers the FAQ question
                out.append(Candidate(span.text, p, hit.rank, pos, score))
        out.sort(key=lambda c: (-c.score, c.hit_rank, c.position))
        return out

    def select(self, candidates: list[Candidate], limit: int | None = None) -> list[tuple[str, list[Passage]]]:
        """Up to max_sentences good sentences; exact repeats across guides merge their citations,
        near repeats are dropped; grouped by passage in document order."""
        cfg = self.config
        if not candidates:
            return []
        cutoff = candidates[0].score * cfg.answer_relative_cutoff
        chosen: list[Candidate] = []
        merged: dict[str, list[Passage]] = {}
        term_sets: list[set[str]] = []
        placed: set[tuple[str, int]] = set()
        leaning: list[Candidate] = []

        def take(c: Candidate) -> None:
            key = squash(c.text).lower()
            if key in merged:
                if c.passage not in merged[key]:
                    merged[key].append(c.passage)
                return
            if len(chosen) >= (limit or cfg.answer_max_sentences) or (c.score < cutoff and len(chosen) >= cfg.answer_min_sentences):
                return
            terms = set(self.analyzer.terms(c.text))
            if any(len(terms & other) / max(1, len(terms | other)) >= 0.6 for other in term_sets):
                return
            chosen.append(c)
            merged[key] = [c.passage]
            term_sets.append(terms)
            placed.add((c.passage.id, c.position))

        for c in candidates:
            # "This is an equally good technique..." means nothing without the sentence before it
            if c.position > 0 and _LEANS_ON_PREVIOUS.match(c.text) and (c.passage.id, c.position - 1) not in placed:
                leaning.append(c)
                continue
            take(c)
        for c in leaning:
            if (c.passage.id, c.position - 1) in placed:
                take(c)
        first_seen: dict[str, int] = {}
        for i, c in enumerate(chosen):
            first_seen.setdefault(c.passage.id, i)
        chosen.sort(key=lambda c: (first_seen[c.passage.id], c.position))
        return [(c.text, merged[squash(c.text).lower()]) for c in chosen]

    # -- summaries -------------------------------------------------------------------------
    def value_summary(self, intent: str, candidates: list[Candidate], cites: Citations) -> str | None:
        """For oil, frequency and duration questions: the values each guide gives, quoted and cited."""
        patterns = self.values.get(intent)
        if not patterns:
            return None
        floor = candidates[0].score * self.config.answer_relative_cutoff if candidates else 0
        by_guide: dict[str, tuple[Passage, list[str]]] = {}
        for c in candidates:
            if c.score < floor:
                continue
            found = [m.group().strip() for p in patterns for m in p.finditer(c.text)]
            if not found:
                continue
            passage, values = by_guide.setdefault(c.passage.guide, (c.passage, []))
            for v in found:
                if v.lower() not in (x.lower() for x in values):
                    values.append(v)
        if len(by_guide) < 2:
            return None
        parts = [f"{', '.join(values)} [{cites.cite(passage)}]" for passage, values in by_guide.values()]
        distinct = {frozenset(v.lower() for v in values) for _, values in by_guide.values()}
        label = self.replies["differ"] if len(distinct) > 1 else self.replies["agree"]
        return f"{label}: " + "; ".join(parts) + "."

    # -- answers ---------------------------------------------------------------------------
    def smalltalk(self, route: Route) -> Answer:
        q = route.question.lower()
        if re.search(r"\b(thanks?|thank you|thx|cheers|ty)\b", q):
            text = self.replies["thanks"]
        elif re.search(r"\b(bye|goodbye|see you)\b", q):
            text = self.replies["goodbye"]
        elif re.search(r"\b(help|what can you do|who are you|what are you|how do i use|bot)\b", q):
            text = self.replies["help"] + "\n" + "\n".join(f"  - {s}" for s in self.replies["suggestions"][:3])
        else:
            text = self.replies["greeting"]
        return Answer(route, text)

    def abstain(self, route: Route, suggestions: list[str]) -> Answer:
        lines = [self.replies["abstain"], self.replies["suggest"]] + [f"  - {s}" for s in suggestions]
        return Answer(route, "\n".join(lines), notes=tuple(lines))

    def _safety_block(self, rules: tuple[RuleMatch, ...], cites: Citations,
                      sentences: list[Sentence], lines: list[str], notes: list[str]) -> None:
        labels = {"stop": self.replies["safety_stop"], "avoid": self.replies["safety_avoid"],
                  "caution": self.replies["safety_caution"]}
        shown: set[str] = set()
        for rule in rules:
            heading = f"{labels[rule.verdict]}: {rule.condition}."
            lines.append(heading)
            notes.append(heading)
            for quote in rule.quotes:
                if quote.text in shown:
                    continue
                shown.add(quote.text)
                n = cites.cite(quote.passage)
                sentences.append(Sentence(quote.text, (n,)))
                lines.append(f"  {quote.text} [{n}]")

    def _body(self, route: Route, hits: list[Hit], rules: tuple[RuleMatch, ...], limit: int, cites: Citations,
              sentences: list[Sentence], lines: list[str], notes: list[str]) -> bool:
        """The answer's own sentences for one question (or one part of it); True if any."""
        question = " ".join(part for part in (route.carried, route.focus, route.question) if part)
        # in a safety answer, other conditions' warnings are not offered as the answer's body,
        # nor anything a triggered caution warns against
        others = frozenset(self.rule_quotes - {q.text for r in rules for q in r.quotes}) if rules else frozenset()
        avoid = frozenset(p for r in rules for p in r.body_excludes)
        senses = self.senses.get(route.intent, ())
        off_senses = tuple(s for s in senses if route.sense and s.name != route.sense)
        candidates = self.candidates(question, route.intent, as_retrieved(hits),
                                     self.config.answer_passages_considered, others, avoid, off_senses)
        picked = [(text, passages) for text, passages in self.select(candidates, limit)
                  if not any(text == s.text for s in sentences)]
        if lines and picked:
            lines.append("")
        first_line = len(lines)
        for text, passages in picked:
            numbers = tuple(cites.cite(p) for p in passages)
            sentences.append(Sentence(text, numbers))
            lines.append(f"{text} " + "".join(f"[{n}]" for n in numbers))
        summary = self.value_summary(route.intent, candidates, cites)
        note = self.replies["sense_notes"].get(route.intent)
        if note and senses and not route.sense and picked:
            notes.append(note)
            lines.insert(first_line, note)
        if summary:
            lines.append(summary)
            notes.append(summary)
        return bool(picked)

    def compose(self, route: Route, hits: list[Hit], parts: list[tuple[Route, list[Hit]]] | None = None) -> Answer:
        """The answer to a routed question. `parts`: the routed parts of a question that asks
        several things ("what oil, and how long?"); each gets its own sentences, in order."""
        if route.route == "smalltalk":
            return self.smalltalk(route)
        cites = Citations()
        sentences: list[Sentence] = []
        lines: list[str] = []
        notes: list[str] = []
        # stop/avoid: the warning is the whole answer; so it is when the question asks nothing but
        # "is it safe?" (a condition stated with no topic of its own)
        strict = bool(route.rules) and (route.intent == "when_to_avoid" or
                                        any(r.verdict in ("stop", "avoid") for r in route.rules))
        if route.rules:
            self._safety_block(route.rules, cites, sentences, lines, notes)
        if not strict:
            bodies = parts or [(route, hits)]
            limit = self.config.answer_max_sentences
            if len(bodies) > 1:
                limit = max(self.config.answer_min_sentences, limit - len(bodies))
            answered = [self._body(r, h, route.rules, limit, cites, sentences, lines, notes) for r, h in bodies]
            if not any(answered) and not route.rules:
                lines.append(self.replies["no_sentences"])
                notes.append(self.replies["no_sentences"])
        if route.rules:
            lines.append(self.disclaimer)
            notes.append(self.disclaimer)
        return Answer(route, "\n".join(lines).strip(), tuple(sentences), cites.as_tuple(), tuple(hits), tuple(notes))
