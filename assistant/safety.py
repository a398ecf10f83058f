"""Safety rules from data/safety.toml: which conditions a question mentions, with the guides'
own warnings (exact quotes, checked against the corpus when the rules load).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from assistant.schema import Passage, Quote, RuleMatch
from assistant.text import Analyzer, find_loose, loose_with_offsets

VERDICT_ORDER = {"stop": 0, "avoid": 1, "caution": 2}


class SafetyRuleError(Exception):
    """The rules file is broken, or a rule quotes text the corpus does not contain."""


def _rules_doc() -> dict:
    return tomllib.loads(resources.files("assistant.data").joinpath("safety.toml").read_text("utf-8"))


def trigger_texts() -> list[str]:
    """Every word and phrase the rules match on (their stems are precomputed into the index)."""
    doc = _rules_doc()
    texts = list(doc.get("negation_cues", [])) + list(doc.get("negation_blockers", [])) + list(doc.get("clause_breaks", []))
    for rule in doc.get("rules", []):
        texts += rule.get("triggers", []) + rule.get("exclude", [])
        texts += [w for group in rule.get("near", []) for w in group]
    return texts


def locate(quote: str, passages: list[tuple[Passage, tuple[str, list[int]]]]) -> tuple[Passage, str] | None:
    """The first passage holding a quote, and the quote as the passage spells it. `passages`
    pairs each passage with its text's loose_with_offsets form (prepared once for all quotes)."""
    for p, loose_text in passages:
        found = find_loose(quote, loose_text)
        if found:
            return p, p.text[found[0]:found[1]]
    return None


@dataclass(frozen=True)
class Rule:
    id: str
    condition: str
    verdict: str
    triggers: tuple[tuple[str, ...], ...]
    near: tuple[frozenset[str], ...]
    patterns: tuple[re.Pattern, ...]
    exclude: tuple[tuple[str, ...], ...]
    quotes: tuple[Quote, ...]
    body_excludes: tuple[str, ...] = ()
    word_patterns: tuple[re.Pattern, ...] = ()


class SafetyRules:
    """The loaded rule set; `match(question)` gives the triggered rules, strictest first."""

    def __init__(self, analyzer: Analyzer, passages: list[Passage], strict: bool = True):
        """strict: a quote missing from the corpus is an error (the shipped guides). Otherwise (another
        corpus folder) the rules whose quotes it lacks are switched off and listed in `disabled`."""
        doc = _rules_doc()
        self.analyzer = analyzer
        self.disclaimer: str = doc["disclaimer"]
        seq = lambda text: tuple(analyzer.stem_sequence(text))  # noqa: E731
        self.negation_cues = {analyzer.stem(w) for w in doc["negation_cues"]}
        self.negation_blockers = {analyzer.stem(w) for w in doc["negation_blockers"]}
        self.clause_breaks = {analyzer.stem(w) for w in doc["clause_breaks"]} | {"|"}
        self.negation_window = int(doc["negation_window"])
        self.near_window = int(doc["near_window"])
        rules = []
        self.disabled: list[str] = []
        prepared = [(p, loose_with_offsets(p.text)) for p in passages]
        for raw in doc["rules"]:
            try:
                rid, verdict = raw["id"], raw["verdict"]
                if verdict not in VERDICT_ORDER:
                    raise SafetyRuleError(f"safety rule {rid}: unknown verdict {verdict!r}")
                quotes = []
                for q in raw["quotes"]:
                    found = locate(q, prepared)
                    if found is None and strict:
                        raise SafetyRuleError(f"safety rule {rid}: quote not found in the corpus: {q[:60]!r}")
                    if found is not None:
                        quotes.append(Quote(found[1], found[0]))
                if len(quotes) < len(raw["quotes"]):
                    self.disabled.append(rid)
                    continue
                rules.append(Rule(
                    rid, raw["condition"], verdict,
                    tuple(s for s in (seq(t) for t in raw["triggers"]) if s),
                    tuple(frozenset(analyzer.stem(w) for w in group) for group in raw.get("near", [])),
                    tuple(re.compile(p) for p in raw.get("patterns", [])),
                    tuple(s for s in (seq(t) for t in raw.get("exclude", [])) if s),
                    tuple(quotes), tuple(p.lower() for p in raw.get("body_excludes", [])),
                    tuple(re.compile(p) for p in raw.get("word_patterns", []))))
            except KeyError as exc:
                raise SafetyRuleError(f"safety rule {raw.get('id', '?')}: missing {exc}") from None
        self.rules = tuple(rules)
        # a word some rule names (osteoporosis, thrombosis) belongs to that rule, not to a word pattern
        self._named = {t[0] for r in self.rules for t in r.triggers if len(t) == 1}

    def _negated(self, tokens: tuple[str, ...], at: int) -> bool:
        for j in range(at - 1, max(-1, at - 1 - self.negation_window), -1):
            tok = tokens[j]
            if tok in self.clause_breaks or tok in self.negation_blockers:
                return False
            if tok in self.negation_cues:
                return True
        return False

    @staticmethod
    def _find(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> list[int]:
        n = len(phrase)
        return [i for i in range(len(tokens) - n + 1) if tokens[i:i + n] == phrase]

    def _mask_excluded(self, tokens: tuple[str, ...], rule: Rule) -> tuple[str, ...]:
        out = list(tokens)
        for phrase in rule.exclude:
            for i in self._find(tokens, phrase):
                out[i:i + len(phrase)] = ["_"] * len(phrase)
        return tuple(out)

    def _trigger(self, tokens: tuple[str, ...], rule: Rule, words: list[str]) -> str | None:
        tokens = self._mask_excluded(tokens, rule)
        for phrase in rule.triggers:
            for i in self._find(tokens, phrase):
                if not self._negated(tokens, i):
                    return " ".join(phrase)
        if rule.near:
            first, *rest = rule.near
            for i, tok in enumerate(tokens):
                if tok in first and not self._negated(tokens, i):
                    window = tokens[max(0, i - self.near_window): i + self.near_window + 1]
                    if all(any(t in group for t in window) for group in rest):
                        return " ".join(t for t in window if t != "|")
        for pattern in rule.word_patterns:
            for i, word in enumerate(words):
                if (tokens[i] not in self._named and tokens[i] != "_" and pattern.fullmatch(word)
                        and not self._negated(tokens, i)):
                    return word
        return None

    def match(self, question: str) -> list[RuleMatch]:
        """Every rule the question triggers (negated mentions do not count), strictest verdict first."""
        words = self.analyzer.canonical_words(question, boundaries=True)
        tokens = tuple(self.analyzer.stem_words(words))
        lowered = question.lower()
        found = []
        for rule in self.rules:
            matched = self._trigger(tokens, rule, words)
            if matched is None:
                hit = next((m.group() for p in rule.patterns for m in [p.search(lowered)] if m), None)
                matched = hit
            if matched is not None:
                found.append(RuleMatch(rule.id, rule.condition, rule.verdict, rule.quotes[0].text, rule.quotes, matched,
                                       rule.body_excludes))
        return sorted(found, key=lambda m: VERDICT_ORDER[m.verdict])
