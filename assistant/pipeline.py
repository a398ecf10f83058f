"""The answer path, stage by stage: Assistant.ask(question) reads top to bottom as

    message (message.py) -> understanding (understanding.py: intent, scope, safety, conversation)
    -> retrieval (ranking.py over index.py) -> sentence selection (selection.py) -> composition (compose.py)

Front ends (cli, chat, batch, evaluate) call this; it never prints and never imports them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Callable

from assistant.compose import Composer
from assistant.config import Config, load_config
from assistant.conversation import Conversation
from assistant.corpus import CleaningRules, shipped_corpus_dir
from assistant.index import Index, default_corpus_dir, open_index
from assistant.message import MAX_QUESTION_CHARS, QuestionError, check_question, read_message
from assistant.ranking import Retriever
from assistant.retrieval import MODES
from assistant.router import load_intents
from assistant.safety import SafetyRules
from assistant.schema import Answer, Ranking, Route
from assistant.selection import Selector, load_order_model, load_selector_model, load_sentence_priors
from assistant.understanding import Understander

__all__ = ["Assistant", "Conversation", "QuestionError", "check_question", "MAX_QUESTION_CHARS"]


class Assistant:
    """The stages wired together over one index."""

    def __init__(self, index: Index, config: Config, index_dir: Path | None = None, rebuilt: bool = False,
                 strict_rules: bool = True):
        self.index = index
        self.config = config
        self.index_dir = index_dir
        self.rebuilt = rebuilt
        self.intents = load_intents()
        self.safety = SafetyRules(index.analyzer, index.passages, strict=strict_rules, places=index.quote_places)
        self._wire(config)

    def _wire(self, config: Config) -> None:
        quotes = frozenset(q.text for rule in self.safety.rules for q in rule.quotes)
        cleaning = CleaningRules.load()
        self.understander = Understander(self.index, self.intents, self.safety, config)
        self.retriever = Retriever(self.index, self.intents, config)
        selector = Selector(self.index.analyzer, self.index.tfidf.idf_, self.index.vocabulary, self.intents, config,
                            cleaning.not_answers + cleaning.claims, quotes,
                            load_selector_model() if config.answer_learned_selector else None,
                            load_order_model() if config.answer_learned_order else None,
                            {g["name"]: tuple(re.compile(p, re.IGNORECASE) for p in g.get("not_answers", ()))
                             for g in self.index.manifest.get("guides", [])},
                            load_sentence_priors() if config.answer_padding_below > 0 else None)
        self.composer = Composer(selector, self.intents, config, self.safety.disclaimer)

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

    def ask(self, question: str, conversation: Conversation | None = None, mode: str | None = None,
            k: int | None = None) -> Answer:
        """The whole answer path for one question (and, in a chat, the conversation so far)."""
        message = read_message(question, self.config)
        route = self.understander.understand(message, conversation)
        ranking = self.rank(route, mode, k)
        answer = self.answer(route, ranking, mode, k)
        if conversation is not None and route.state is not None:
            conversation.adopt(route.state)
        return answer

    def route(self, question: str, conversation: Conversation | None = None, mode: str | None = None,
              k: int | None = None, intent_boost: bool = True) -> tuple[Route, Ranking]:
        """Understanding and retrieval only: the route and the ranking behind its answer."""
        route = self.understander.understand(read_message(question, self.config), conversation)
        return route, self.rank(route, mode, k, lifts=intent_boost)

    def rank(self, route: Route, mode: str | None = None, k: int | None = None, lifts: bool = True) -> Ranking:
        mode = mode or self.config.retrieval_mode
        if mode not in MODES:
            raise QuestionError(f"unknown mode {mode!r} (choose from {', '.join(MODES)})")
        k = k or self.config.retrieval_k
        return self.retriever.rank(route, mode, k, lifts)

    def answer(self, route: Route, ranking: Ranking, mode: str | None = None, k: int | None = None) -> Answer:
        """Selection and composition for a routed, ranked question (what `ask` gives)."""
        if route.route == "abstain":
            return self.composer.abstain(route, self.suggestions(route.question))
        parts = tuple(self.rank(part, mode, k) for part in route.parts)
        return self.composer.compose(route, ranking, parts)

    def suggestions(self, question: str, n: int = 3) -> list[str]:
        """The n shipped example questions closest to a question (for the abstain answer)."""
        terms = set(self.index.analyzer.terms(question))
        examples = self.composer.replies["suggestions"]
        return sorted(examples, key=lambda s: -len(terms & set(self.index.analyzer.terms(s))))[:n]

    def with_settings(self, **changes) -> "Assistant":
        """The same assistant with other runtime settings (mode, k, weights, thresholds); the index's
        arrays are shared."""
        other = Assistant.__new__(Assistant)
        other.__dict__.update(self.__dict__)
        other.config = replace(self.config, **changes)
        other.index = replace(self.index, bm25_weight=other.config.retrieval_bm25_weight,
                              semantic_weight=other.config.retrieval_semantic_weight)
        other._wire(other.config)
        return other
