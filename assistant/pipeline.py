"""The one wiring point: Assistant.ask(question) -> router -> safety rules | retrieval -> answer.

Front ends (cli, chat, batch, evaluate) call this; it never prints. A Conversation carries
follow-up context and safety conditions from earlier turns (used by the chat).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from assistant.answer import Composer
from assistant.config import Config, load_config
from assistant.corpus import CleaningRules, is_faq_question, shipped_corpus_dir
from assistant.index import Index, default_corpus_dir, open_index
from assistant.retrieval import MODES
from assistant.router import load_intents
from assistant.safety import VERDICT_ORDER, SafetyRules
from assistant.schema import Answer, Hit, Passage, Route, RuleMatch

MAX_QUESTION_CHARS = 2000
_FOLLOW_UP = re.compile(r"^(and|also|but|so|what about|how about|and what|what if|is that|is it|does that|"
                        r"would that|same|then|ok|okay|for (her|him|them)|with)\b", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(that|it|this|those|these|her|him|them|she|he)\b", re.IGNORECASE)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_REFERS_BACK = re.compile(r"\b(that|this|it|those|these)\b", re.IGNORECASE)
_POINTS_BACK = re.compile(r"\b(that|this|those|these)\b", re.IGNORECASE)
_ASKS_TO_AVOID = re.compile(r"\b(avoid|not (do|to do)|never do|stay away)\b", re.IGNORECASE)
# the words a question opens with (question_focus and question_parts)
_QUESTION_WORDS = "how|what|which|when|where|why|should|can|could|is|are|do|does|will|would"
_ASKS = re.compile(rf"^(?:(?:and|also|plus|but|so|oh|ok|okay)\s+)*(?:{_QUESTION_WORDS}|whats|any)\b", re.IGNORECASE)


def question_focus(question: str) -> str:
    """What a long message asks: its question sentences (else its last sentence). People tell
    the story first ("My boyfriend works construction... How long should I go for?")."""
    sentences = [s for s in _SENTENCE_END.split(question) if s.strip()]
    if len(sentences) < 2 or len(question.split()) < 20:
        return question
    asked = [i for i, s in enumerate(sentences) if s.rstrip().endswith("?")]
    last = len(sentences) - 1
    # a last question typed without its question mark ("any tips?? also do i need oil") still asks
    if not asked or (asked[-1] != last and _ASKS.match(sentences[last].strip())):
        asked.append(last)
    # "Is that a bad idea?" or "Is it ok to use that...?" asks about the sentence before it
    if len(asked) == 1 and asked[0] > 0:
        words = len(sentences[asked[0]].split())
        if (words <= 6 and _REFERS_BACK.search(sentences[asked[0]])) or (words <= 20 and _POINTS_BACK.search(sentences[asked[0]])):
            asked.insert(0, asked[0] - 1)
    return " ".join(sentences[i] for i in asked)


_PART_BREAK = re.compile(rf"\?\s+|[,;]?\s+\b(?:and|also|plus)\s+(?=(?:{_QUESTION_WORDS})\b)", re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """The questions a message asks one after another: "what oil should I use and how long
    should it last?" -> ["what oil should I use", "how long should it last?"]."""
    # a part keeps its own question, not the statement before it ("I'm a beginner. How long...")
    parts = [[s for s in _SENTENCE_END.split(p.strip()) if s.strip()][-1:] for p in _PART_BREAK.split(question)]
    return [part[0].strip() for part in parts if part and len(part[0].split()) >= 2]


class QuestionError(ValueError):
    """A question that cannot be answered as given (empty, too long), with a one-line reason."""


def check_question(question: str) -> str:
    question = " ".join(str(question).split())
    if not question:
        raise QuestionError("empty question")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"question longer than {MAX_QUESTION_CHARS} characters")
    return question


@dataclass
class Conversation:
    """What a chat remembers between turns: the last question and intent, and safety conditions."""

    last_question: str = ""
    last_intent: str = ""
    rules: dict[str, RuleMatch] = field(default_factory=dict)

    def clear(self) -> None:
        self.last_question, self.last_intent = "", ""
        self.rules.clear()


class Assistant:
    """Answers questions from an index, with the router, the safety rules and the composer."""

    def __init__(self, index: Index, config: Config, index_dir: Path | None = None, rebuilt: bool = False,
                 strict_rules: bool = True):
        self.index = index
        self.config = config
        self.index_dir = index_dir
        self.rebuilt = rebuilt
        self.intents = load_intents()
        self.safety = SafetyRules(index.analyzer, index.passages, strict=strict_rules)
        self._not_answers = CleaningRules.load().not_answers
        self.composer = self._composer(config)
        self._boosts: dict[str, np.ndarray] = {}  # intent/sense -> score multipliers
        self._off_senses: dict[str, np.ndarray] = {}  # intent/sense -> passages answering another sense
        self._position = {p.id: i for i, p in enumerate(index.passages)}
        self._faq_headings: list[tuple[int, tuple[np.ndarray, np.ndarray]]] | None = None
        self._domain_terms: set[str] | None = None
        self._suggestions: list[str] = self.composer.replies["suggestions"]

    @classmethod
    def open(cls, corpus_dir: Path | None = None, index_dir: Path | None = None, config: Config | None = None,
             rebuild: bool = False, notify: Callable[[str], None] = lambda m: None) -> "Assistant":
        config = config or load_config()
        corpus_dir = Path(corpus_dir) if corpus_dir else default_corpus_dir()
        index, folder, rebuilt = open_index(corpus_dir, index_dir, config, rebuild=rebuild, notify=notify)
        shipped = corpus_dir.resolve() == shipped_corpus_dir().resolve()
        assistant = cls(index, config, folder, rebuilt, strict_rules=shipped)
        if assistant.safety.disabled:
            notify(f"safety rules off for this corpus (their quotes are not in it): {', '.join(assistant.safety.disabled)}")
        return assistant

    def _composer(self, config: Config) -> Composer:
        quotes = frozenset(q.text for rule in self.safety.rules for q in rule.quotes)
        return Composer(self.index.analyzer, self.index.tfidf.idf_, self.index.vocabulary, self.intents, config,
                        self.safety.disclaimer, quotes, self._not_answers)

    # -- routing ----------------------------------------------------------------------
    def boost(self, intent: str, sense: str = "") -> np.ndarray | None:
        """Score multipliers for the passages an intent favours (None: no boost): those whose
        headings match its sections, and those stating a value of the kind it asks for (a number
        of minutes for duration, an oil's name for oil_choice, ...), wherever they stand. When the
        question picks one of the intent's senses, the passages that sense's patterns match instead."""
        spec = self.intents.get(intent)
        if not spec or not (spec.sections or spec.values) or self.config.retrieval_intent_boost == 0:
            return None
        key = f"{intent}/{sense}"
        if key not in self._boosts:
            picked = next((s for s in spec.senses if s.name == sense), None)
            if picked:
                favoured = [picked.answered_by(p.text) for p in self.index.passages]
            else:
                sections = [re.compile(p, re.IGNORECASE) for p in spec.sections]
                values = [re.compile(p, re.IGNORECASE) for p in spec.values]
                favoured = [any(s.search(p.headings) for s in sections) or any(v.search(p.text) for v in values)
                            for p in self.index.passages]
            self._boosts[key] = np.where(favoured, 1.0 + self.config.retrieval_intent_boost, 1.0)
        return self._boosts[key]

    def _off_sense(self, intent: str, sense: str) -> np.ndarray:
        """Passages that answer one of the intent's other senses (and not this one)."""
        key = f"{intent}/{sense}"
        if key not in self._off_senses:
            senses = self.intents[intent].senses
            mine = [s for s in senses if s.name == sense]
            others = [s for s in senses if s.name != sense]
            self._off_senses[key] = np.array([any(s.answered_by(p.text) for s in others)
                                              and not any(s.answered_by(p.text) for s in mine)
                                              for p in self.index.passages])
        return self._off_senses[key]

    def faq_boost(self, question: str, intent_boost: np.ndarray | None) -> np.ndarray | None:
        """The intent's score multipliers with the guides' FAQ answers whose question is worded like
        this one ("how frequently do u recommend massages" ~ "How often should you give a back
        massage?", cosine c in the intent model's word and character n-gram space) lifted by
        1 + faq_boost * (c - faq_threshold). A FAQ asked nearly as the user asks it (c >= faq_favoured)
        also counts as a passage the intent favours, whatever the intent: the guide's own question is
        surer evidence than section names ("can i massage someone with back pain" ~ "Is it okay to
        massage someone with back pain?", which no technique section holds). None: no boost at all."""
        cfg = self.config
        if cfg.retrieval_faq_boost == 0:
            return intent_boost
        if self._faq_headings is None:
            self._faq_headings = [(i, self.index.router.vector(p.section)) for i, p in enumerate(self.index.passages)
                                  if is_faq_question(p.section)]
        q_ids, q_weights = self.index.router.vector(question)
        cosines = np.zeros(len(self.index.passages))
        for i, (h_ids, h_weights) in self._faq_headings:
            _, at_q, at_h = np.intersect1d(q_ids, h_ids, return_indices=True)
            cosines[i] = float(q_weights[at_q] @ h_weights[at_h])
        if not (cosines > cfg.retrieval_faq_threshold).any():
            return intent_boost
        boost = np.ones(len(cosines)) if intent_boost is None else intent_boost
        alike = cosines >= cfg.retrieval_faq_favoured
        boost = np.where(alike, np.maximum(boost, 1.0 + cfg.retrieval_intent_boost), boost)
        return boost * (1.0 + cfg.retrieval_faq_boost * np.maximum(0.0, cosines - cfg.retrieval_faq_threshold))

    def _out_of_scope_pattern(self, question: str) -> bool:
        spec = self.intents.get("out_of_scope")
        lowered = question.lower()
        return bool(spec) and any(re.search(p, lowered) for p in spec.patterns)

    def _out_of_scope_guess(self, query: str, intent: str, oos_probability: float, top_score: float) -> bool:
        """The router's say on scope, for a question the guides match only weakly. A question in
        words the guides or the thesaurus know ("is it ok if it hurts a little", "can we chat while
        i massage her") needs a surer verdict: in this chat it is most likely about massage."""
        cfg = self.config
        foreign = self._has_foreign_words(query)
        needed = cfg.router_oos_confidence if foreign else cfg.router_oos_confidence_familiar
        return ((oos_probability >= needed and top_score < cfg.router_oos_max_score)
                or (foreign and intent == "out_of_scope" and top_score < cfg.router_oos_guess_max_score))

    def _has_foreign_words(self, text: str) -> bool:
        """Whether a question uses a word neither the guides nor the thesaurus know (a number, such
        as an age or a count, is no sign of a topic the guides lack)."""
        if self._domain_terms is None:
            analyzer = self.index.analyzer
            self._domain_terms = set(self.index.vocabulary) | {
                analyzer.stems[w] for w in analyzer.thesaurus_words() if w in analyzer.stems}
        return any(t not in self._domain_terms and not t.isdigit() for t in self.index.analyzer.terms(text))

    def _is_follow_up(self, question: str, conversation: Conversation | None, new_condition: bool) -> bool:
        """A short question leaning on the previous turn. One that brings a new condition ("she is
        8 months pregnant") is a statement of its own unless it opens like a follow-up ("and if she's pregnant?")."""
        if not conversation or not conversation.last_question:
            return False
        words = question.split()
        opens_like_one = bool(_FOLLOW_UP.match(question))
        return len(words) <= 7 and (opens_like_one or (len(words) <= 4 and not new_condition and bool(_PRONOUN.search(question))))

    def route(self, question: str, conversation: Conversation | None = None, mode: str | None = None,
              k: int | None = None, intent_boost: bool = True) -> tuple[Route, list[Hit]]:
        """Decide the route and intent of a question, and retrieve the passages behind its answer."""
        question = check_question(question)
        mode = mode or self.config.retrieval_mode
        if mode not in MODES:
            raise QuestionError(f"unknown mode {mode!r} (choose from {', '.join(MODES)})")
        k = k or self.config.retrieval_k
        cfg = self.config
        # the intent comes from what is asked; the story around it still counts for retrieval
        # (its words weigh half as much) and for the safety rules
        focus = question_focus(question)
        intent, confidence, oos_probability = self.index.router.predict_with(focus, "out_of_scope")
        carried = ""
        rules = self.safety.match(question)
        if self._is_follow_up(question, conversation, bool(rules)):
            carried = conversation.last_question
            if intent in ("general", "out_of_scope", "smalltalk") or confidence < cfg.router_min_confidence:
                intent, confidence = self.index.router.predict(f"{carried} {question}")
        query = f"{carried} {question}" if carried else question if focus == question else f"{focus} {question}"
        matched = {r.id for r in rules}
        held = [r for rid, r in conversation.rules.items() if rid not in matched] if conversation else []
        if confidence < cfg.router_min_confidence and intent not in ("out_of_scope", "smalltalk"):
            intent = "general"
        scores, parts = self.index.score(query, mode)
        # the confidence is the best lexical hybrid score, whatever the mode
        lexical = parts["lexical"] if "lexical" in parts else self.index.score(query, "hybrid")[1]["lexical"]
        top_score = float(lexical.max()) if lexical.size else 0.0
        spec = self.intents.get(intent)
        sense = spec.sense_of(f"{carried} {focus}") if spec else None
        sense_name = sense.name if sense else ""
        boost = self.boost(intent, sense_name) if intent_boost and confidence >= cfg.router_min_confidence else None
        if intent_boost:
            boost = self.faq_boost(f"{carried} {focus}".strip(), boost)
        if boost is not None and sense:
            # a FAQ worded like the question but answering the other sense ("Can a back massage
            # help improve posture?" for the giver's posture) gets no lift
            boost = np.where(self._off_sense(intent, sense.name), np.minimum(boost, 1.0), boost)
        hits = self.index.rank(scores, parts, k, boost)
        if rules:
            decision = "safety"
        elif intent == "smalltalk" and confidence >= 0.5 and top_score < cfg.router_oos_max_score:
            decision, hits = "smalltalk", []
        elif (top_score < cfg.router_abstain_score or self._out_of_scope_pattern(question)
              or self._out_of_scope_guess(query, intent, oos_probability, top_score)):
            decision, hits = "abstain", []
        else:
            decision = "retrieval"
            if intent in ("out_of_scope", "smalltalk"):
                intent = "general"
        topical = intent not in ("general", "out_of_scope", "smalltalk") and (confidence >= cfg.router_topic_confidence or bool(carried))
        # with a condition stated, "what should I avoid?" asks what the condition rules out, not
        # the beginner's mistakes ("she's pregnant, what should i avoid when rubbing her back")
        avoid_for_condition = intent == "mistakes" and bool(_ASKS_TO_AVOID.search(focus))
        if rules and (not topical or avoid_for_condition or any(r.verdict in ("stop", "avoid") for r in rules)):
            # the answer is the warning: the question is, in effect, "is it safe?" (a caution keeps a clear topic)
            intent = "when_to_avoid"
        if held and decision in ("retrieval", "safety"):
            # conditions mentioned earlier in the conversation stay in force for in-scope questions
            decision = "safety"
            rules = sorted(rules + held, key=lambda r: VERDICT_ORDER[r.verdict])
        else:
            held = []
        if decision == "safety":
            hits = self._warnings_first(rules, scores, parts, hits, k)
        return Route(question, intent, confidence, decision, tuple(rules), top_score, carried,
                     focus if focus != question else "", tuple(r.id for r in held), sense_name), hits

    def _warnings_first(self, rules: list[RuleMatch], scores: np.ndarray, parts: dict[str, np.ndarray],
                        hits: list[Hit], k: int) -> list[Hit]:
        """A safety answer rests on the passages holding its rules' warnings, so the ranking shows
        them first (strictest rule first, scored above 1 with a "safety" part), then the retrieved
        ones. Each keeps its retrieval score as the "retrieved" part (0 when retrieval missed it)."""
        warning: list[Passage] = []
        for rule in rules:
            for quote in rule.quotes:
                if quote.passage not in warning:
                    warning.append(quote.passage)
        retrieved = {h.passage.id: h.score for h in hits}
        top = [Hit(p, rank, 2.0 - rank / (len(warning) + 1),
                   {"safety": 1.0, "retrieved": retrieved.get(p.id, 0.0)}
                   | {name: float(s[self._position[p.id]]) for name, s in parts.items()})
               for rank, p in enumerate(warning, start=1)]
        rest = [h for h in hits if h.passage not in warning][: max(0, k - len(top))]
        return top + [Hit(h.passage, len(top) + i, h.score, h.scores) for i, h in enumerate(rest, start=1)]

    def suggestions(self, question: str, n: int = 3) -> list[str]:
        """The n shipped example questions closest to a question (for the abstain answer)."""
        terms = set(self.index.analyzer.terms(question))
        scored = sorted(self._suggestions, key=lambda s: -len(terms & set(self.index.analyzer.terms(s))))
        return scored[:n]

    def ask(self, question: str, conversation: Conversation | None = None, mode: str | None = None,
            k: int | None = None) -> Answer:
        return self.answer(*self.route(question, conversation, mode, k), conversation, mode, k)

    def parts(self, route: Route, mode: str | None = None, k: int | None = None) -> list[tuple[Route, list[Hit]]]:
        """The parts of a question that asks several things on different topics, each routed and
        retrieved on its own ("what oil should I use and how long should it last?"); [] otherwise."""
        if route.route not in ("retrieval", "safety"):
            return []
        texts = question_parts(route.focus or route.question)
        if len(texts) < 2:
            return []
        routed, topics = [], set()
        for text in texts:
            part, hits = self.route(text, mode=mode, k=k)
            # a part that states a condition is the safety block's business, not a topic of its own
            if (part.route in ("retrieval", "safety")
                    and not (part.intent == "when_to_avoid" and part.route == "safety")
                    and part.intent_confidence >= self.config.router_topic_confidence
                    and (part.intent, part.sense) not in topics):
                routed.append((replace(part, carried=route.carried), hits))
                topics.add((part.intent, part.sense))
        # a vague part ("any tips?") is answered beside a topical one, never on its own
        return routed if len(routed) > 1 and {intent for intent, _ in topics} - {"general"} else []

    def answer(self, route: Route, hits: list[Hit], conversation: Conversation | None = None,
               mode: str | None = None, k: int | None = None) -> Answer:
        """The answer to a routed question (what `ask` gives once `route` has run)."""
        if route.route == "abstain":
            answer = self.composer.abstain(route, self.suggestions(route.question))
        else:
            answer = self.composer.compose(route, hits, self.parts(route, mode, k))
        if conversation is not None and route.route in ("retrieval", "safety"):
            # a follow-up carries what was asked, not the story around it
            asked = route.focus or route.question
            conversation.last_question = f"{route.carried} {asked}".strip() if route.carried else asked
            conversation.last_intent = route.intent
            for rule in route.rules:
                conversation.rules.setdefault(rule.id, rule)
        return answer

    def with_settings(self, **changes) -> "Assistant":
        """The same assistant with other runtime settings (mode, k, weights, thresholds); the index's
        arrays are shared."""
        other = Assistant.__new__(Assistant)
        other.__dict__.update(self.__dict__)
        other.config = replace(self.config, **changes)
        other.index = replace(self.index, bm25_weight=other.config.retrieval_bm25_weight,
                              semantic_weight=other.config.retrieval_semantic_weight)
        other.composer = other._composer(other.config)
        other._boosts = {}  # the multipliers depend on intent_boost; the off-sense masks and FAQ heading vectors do not
        return other
