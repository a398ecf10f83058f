"""Safety rules from data/safety.toml: which conditions a question mentions, with the guides'
own warnings (exact quotes, checked against the corpus when the rules load).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Sequence

from assistant.passages import passages_holding
from assistant.schema import Passage, Quote, RuleMatch
from assistant.text import Analyzer, find_loose, loose_with_offsets
from assistant.text import words as words_of

VERDICT_ORDER = {"stop": 0, "avoid": 1, "caution": 2}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class SafetyRuleError(Exception):
    """The rules file is broken, or a rule quotes text the corpus does not contain."""


def _rules_doc() -> dict:
    from assistant.datafiles import load

    return load("safety.toml")


def lexicon(rule_id: str) -> tuple[list[str], list]:
    """The phrases (every word dimension) and patterns data/conditions.toml gives a rule."""
    from assistant.datafiles import LEXICON_DIMENSIONS, load

    entry = load("conditions.toml").get(rule_id, {})
    return [p for d in LEXICON_DIMENSIONS for p in entry.get(d, [])], list(entry.get("patterns", []))


def lexicon_dimension(rule_id: str, dimension: str) -> list[str]:
    """The phrases of one dimension of a rule's lexicon ("causes": "came off his bike")."""
    from assistant.datafiles import LEXICON_DIMENSIONS, load

    if dimension not in LEXICON_DIMENSIONS:
        raise SafetyRuleError(f"safety rule {rule_id}: sign_dimensions: {dimension!r} is not one of {', '.join(LEXICON_DIMENSIONS)}")
    return list(load("conditions.toml").get(rule_id, {}).get(dimension, []))


def reactions(rule_id: str) -> list[str]:
    """How the person being massaged shows a rule's condition (data/conditions.toml `reactions`)."""
    from assistant.datafiles import load

    return list(load("conditions.toml").get(rule_id, {}).get("reactions", []))


def trigger_texts() -> list[str]:
    """Every word and phrase the rules match on (their stems are precomputed into the index)."""
    doc = _rules_doc()
    texts = list(doc.get("negation_cues", [])) + list(doc.get("negation_blockers", [])) + list(doc.get("clause_breaks", []))
    texts += list(doc.get("hypothetical_cues", [])) + list(doc.get("past_cues", [])) + list(doc.get("ongoing_cues", []))
    texts += list(doc.get("long_ago_cues", [])) + list(doc.get("future_cues", []))
    texts += list(doc.get("uncertain_cues", [])) + list(doc.get("confirming_cues", []))
    for rule in doc.get("rules", []):
        texts += rule.get("triggers", []) + rule.get("exclude", []) + rule.get("beside", []) + lexicon(rule["id"])[0]
        texts += reactions(rule["id"])
        texts += [w for group in rule.get("near", []) for w in group]
    return texts


_WORD = re.compile(r"[A-Za-z0-9]+")


def quote_texts() -> list[str]:
    """Every rule's quotes, as data/safety.toml writes them."""
    return [q for rule in _rules_doc().get("rules", []) for q in rule.get("quotes", [])]


def locate(quote: str, passages: Sequence[Passage], first: Iterable[int] = (),
           holding: Callable[[list[str]], Iterable[int]] | None = None) -> tuple[int, int, int] | None:
    """Where a quote stands: (passage number, start, end in its text) in the first passage
    holding it, quote style and white space aside. The passages numbered in `first` are read
    before the others (a build names those holding every index term of the quote, so a quote the
    corpus has is found without a pass over it); after them, only passages holding every word
    of the quote are read closely (`holding` numbers them; by default passages_holding):
    substring searches, not a pass per character."""
    def found_in(n: int, p: Passage) -> tuple[int, int, int] | None:
        at = find_loose(quote, loose_with_offsets(p.text))
        return (n, at[0], at[1]) if at else None

    keys = _WORD.findall(quote)
    for n in first:
        if all(k in passages[n].text for k in keys) and (place := found_in(n, passages[n])):
            return place
    numbered = ((n, passages[n]) for n in holding(keys)) if holding else passages_holding(passages, keys)
    return next((place for n, p in numbered if (place := found_in(n, p))), None)


def quote_places(passages: Sequence[Passage], candidates: Callable[[str], Iterable[int]] = lambda quote: (),
                 holding: Callable[[list[str]], Iterable[int]] | None = None) -> dict[str, list[int] | None]:
    """Every rule quote's place ([passage number, start, end]), None for one the corpus lacks:
    found when the index is built, so opening it searches nothing. `candidates` and `holding`
    as for locate."""
    places: dict[str, list[int] | None] = {}
    for quote in quote_texts():
        place = locate(quote, passages, candidates(quote), holding)
        places[quote] = list(place) if place else None
    return places


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
    can_pass: bool = False  # the condition can be over ("had flu last week, fine now")
    scope: str = "person"  # "person": a condition of someone, held; "request": of what is asked, this turn only
    beside: frozenset[str] = frozenset()  # stems placing what is asked next to the thing, not on it
    reactions: tuple[tuple[str, ...], ...] = ()  # the condition shown during the massage (read when none is stated)
    # for a rule whose condition as a whole cannot be over (a medical condition), the mentions that can
    # ("pneumonia", "an op"; not "diabetic"): stem sequences, found within the words that matched
    passing: tuple[tuple[str, ...], ...] = ()
    on_area: bool = False  # the condition sits on a part of the body (a bruise, a rash), not on the whole person
    signs: frozenset[str] = frozenset()  # triggers that are only a sign (stems joined: "red")...
    explained_by: frozenset[str] = frozenset()  # ...which these rules' conditions, named beside them, explain
    lasting: bool = False  # the condition is its lasting ("pain ever since the accident years ago"): long ago is no end

    def passes(self, matched: tuple[str, ...]) -> bool:
        """Whether these words (or stems) hold one of the `passing` phrases: what they name can be over
        (SafetyRules._passes asks this only of a rule whose whole condition cannot be)."""
        return any(phrase_positions(matched, p) for p in self.passing)

    def mention(self, matched: str, status: str, sure: bool, can_pass: bool) -> RuleMatch:
        """This rule as a message mentions it: the words that matched, how it was meant."""
        return RuleMatch(self.id, self.condition, self.verdict, self.quotes[0].text, self.quotes, matched,
                         self.body_excludes, status, self.scope, sure, can_pass, self.on_area)


def phrase_positions(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> list[int]:
    """Where a phrase (a run of words or stems) starts in a run of them."""
    if phrase and phrase[0] not in tokens:  # most phrases are absent: one scan in C says so
        return []
    n = len(phrase)
    return [i for i in range(len(tokens) - n + 1) if tokens[i:i + n] == phrase]


def stated(mentions: list[RuleMatch]) -> list[RuleMatch]:
    """The mentions that state a condition as holding now or ask about one (not negated, not past)."""
    return [m for m in mentions if m.status in ("active", "hypothetical")]


class SafetyRules:
    """The loaded rule set; `match(question)` gives the triggered rules, strictest first."""

    def __init__(self, analyzer: Analyzer, passages: Sequence[Passage], strict: bool = True,
                 places: dict[str, list[int] | None] | None = None):
        """strict: a quote missing from the corpus is an error (the shipped guides). Otherwise (another
        corpus folder) the rules whose quotes it lacks are switched off and listed in `disabled`.
        places: where the index found each quote when it was built (quote_places); a quote it
        does not name is searched for."""
        doc = _rules_doc()
        self.analyzer = analyzer
        self.disclaimer: str = doc["disclaimer"]
        seq = lambda text: tuple(analyzer.stem_sequence(text))  # noqa: E731
        self.negation_cues = {analyzer.stem(w) for w in doc["negation_cues"]}
        self.negation_blockers = {analyzer.stem(w) for w in doc["negation_blockers"]}
        self.clause_breaks = {analyzer.stem(w) for w in doc["clause_breaks"]} | {"|"}
        # a supposition runs on over "and" ("what if she was pregnant and had a fever"): the breaks it crosses
        self.supposition_joins = {analyzer.stem(w) for w in doc.get("supposition_joins", [])}
        self.negation_joins = {analyzer.stem(w) for w in doc.get("negation_joins", [])}
        self.negation_window = int(doc["negation_window"])
        self.near_window = int(doc["near_window"])
        self.phrase_gap = int(doc.get("phrase_gap", 0))
        # a phrase opening or ending on a function word ("the runs", "her waters") is matched exactly only:
        # "the oil's run down", "her hot water bottle"
        self._stop_stems = frozenset(analyzer.stem(w) for w in analyzer.stop_words)
        self.hypothetical_cues = tuple(s for s in (seq(t) for t in doc.get("hypothetical_cues", [])) if s)
        self.past_cues = tuple(s for s in (seq(t) for t in doc.get("past_cues", [])) if s)
        self.long_ago_cues = tuple(s for s in (seq(t) for t in doc.get("long_ago_cues", [])) if s)
        self.future_cues = frozenset(analyzer.stem(w) for w in doc.get("future_cues", []))
        # matched as words, not stems: "recovering" goes on, "recovered" is over (both stem to "recov")
        self.ongoing_cues = tuple(s for s in (tuple(analyzer.canonical_words(t)) for t in doc.get("ongoing_cues", [])) if s)
        self.uncertain_cues = tuple(s for s in (seq(t) for t in doc.get("uncertain_cues", [])) if s)
        self.confirming_cues = tuple(s for s in (seq(t) for t in doc.get("confirming_cues", [])) if s)
        rules = []
        self.disabled: list[str] = []
        for raw in doc["rules"]:
            try:
                rid, verdict = raw["id"], raw["verdict"]
                if verdict not in VERDICT_ORDER:
                    raise SafetyRuleError(f"safety rule {rid}: unknown verdict {verdict!r}")
                quotes = []
                for q in raw["quotes"]:
                    found = places[q] if places is not None and q in places else locate(q, passages)
                    if found is None and strict:
                        raise SafetyRuleError(f"safety rule {rid}: quote not found in the corpus: {q[:60]!r}")
                    if found is not None:
                        n, start, end = found
                        quotes.append(Quote(passages[n].text[start:end], passages[n]))
                if len(quotes) < len(raw["quotes"]):
                    self.disabled.append(rid)
                    continue
                lexicon_phrases, lexicon_patterns = lexicon(rid)
                triggers = tuple(dict.fromkeys(s for s in (seq(t) for t in raw["triggers"] + lexicon_phrases) if s))
                passing = tuple(s for s in (seq(t) for t in raw.get("passing", [])) if s)
                trigger_words = {w for t in triggers for w in t}  # a one-word phrase is looked up, not searched for
                for phrase, words in zip(passing, raw.get("passing", [])):
                    if not (len(phrase) == 1 and phrase[0] in trigger_words) and not any(
                            phrase_positions(t, phrase) for t in triggers):
                        raise SafetyRuleError(f"safety rule {rid}: passing {words!r} is in none of its triggers")
                rules.append(Rule(
                    rid, raw["condition"], verdict,
                    triggers,
                    tuple(frozenset(analyzer.stem(w) for w in group) for group in raw.get("near", [])),
                    tuple(raw.get("patterns", [])) + tuple(lexicon_patterns),
                    tuple(s for s in (seq(t) for t in raw.get("exclude", [])) if s),
                    tuple(quotes), tuple(p.lower() for p in raw.get("body_excludes", [])),
                    tuple(raw.get("word_patterns", [])), raw.get("can_pass", False), raw.get("scope", "person"),
                    frozenset(analyzer.stem(w) for w in raw.get("beside", [])),
                    tuple(dict.fromkeys(s for s in (seq(t) for t in reactions(rid)) if s)), passing,
                    raw.get("on_area", False),
                    frozenset(" ".join(seq(t)) for t in raw.get("signs", []) + [
                        p for d in raw.get("sign_dimensions", []) for p in lexicon_dimension(rid, d)]),
                    frozenset(raw.get("explained_by", [])), raw.get("lasting", False)))
            except KeyError as exc:
                raise SafetyRuleError(f"safety rule {raw.get('id', '?')}: missing {exc}") from None
        self.rules = tuple(rules)
        self._by_id = {r.id: r for r in self.rules}
        self._sign_phrases = {r.id: tuple(tuple(sign.split()) for sign in r.signs) for r in self.rules}
        self._trigger_ends = {t[-1] for r in self.rules for t in r.triggers}  # a condition's word ends one
        self._trigger_starts = {t[0] for r in self.rules for t in r.triggers if t[0] not in self._stop_stems}
        for rule in self.rules:
            unknown = rule.explained_by - {r.id for r in self.rules}
            if unknown:
                raise SafetyRuleError(f"safety rule {rule.id}: explained_by names no rule: {', '.join(sorted(unknown))}")
        # a word some rule names (osteoporosis, thrombosis) belongs to that rule, not to a word pattern
        self._named = {t[0] for r in self.rules for t in r.triggers if len(t) == 1}

    def _negated(self, tokens: tuple[str, ...], at: int) -> bool:
        if self._said_before(tokens, at, self.negation_cues, self.negation_blockers):
            return True
        # "no swelling or bruising": the negation of the list's first condition reaches the next
        for j in range(at - 1, max(-1, at - 1 - self.negation_window), -1):
            if tokens[j] in self.clause_breaks or tokens[j] in self.negation_blockers:
                return False
            if tokens[j] in self.negation_joins:
                return j > 0 and tokens[j - 1] in self._trigger_ends and self._negated(tokens, j - 1)
        return False

    def _beside(self, tokens: tuple[str, ...], at: int, rule: Rule) -> bool:
        """Whether a word just before the trigger (same clause) puts what is asked beside it."""
        return self._said_before(tokens, at, rule.beside)

    def _said_before(self, tokens: tuple[str, ...], at: int, cues: frozenset[str] | set[str],
                     blockers: frozenset[str] | set[str] = frozenset()) -> bool:
        """Whether one of the cues stands within negation_window words before position `at`, in
        the same clause and with none of the blockers between."""
        for j in range(at - 1, max(-1, at - 1 - self.negation_window), -1):
            tok = tokens[j]
            if tok in self.clause_breaks or tok in blockers:
                return False
            if tok in cues:
                return True
        return False

    _find = staticmethod(phrase_positions)

    def _find_loose(self, tokens: tuple[str, ...], phrase: tuple[str, ...]) -> list[int]:
        """Where a phrase of several words starts with up to phrase_gap other words between two of its
        words ("her skin is like tissue paper", "big bulgy blue veins"), none ending a clause or negating."""
        out: list[int] = []
        if phrase[0] not in tokens:
            return out
        for i in range(len(tokens)):
            if tokens[i] != phrase[0]:
                continue
            j, ok = i, True
            for word in phrase[1:]:
                for step in range(1, self.phrase_gap + 2):
                    k = j + step
                    if k >= len(tokens) or tokens[k] in self.clause_breaks or tokens[k] in self.negation_cues:
                        ok = False
                        break
                    if tokens[k] == word:
                        j = k
                        break
                else:
                    ok = False
                if not ok:
                    break
            if ok:
                out.append(i)
        return out

    def _mask_excluded(self, tokens: tuple[str, ...], rule: Rule) -> tuple[str, ...]:
        out = list(tokens)
        for phrase in rule.exclude:
            for i in self._find(tokens, phrase):
                out[i:i + len(phrase)] = ["_"] * len(phrase)
        return tuple(out)

    def _occurrences(self, tokens: tuple[str, ...], rule: Rule, words: list[str]) -> list[tuple[int, str]]:
        """Where the rule's words stand in the tokens, in the order of the rule's kinds of trigger
        (phrases, then near groups, then word patterns), with the words that matched."""
        tokens = self._mask_excluded(tokens, rule)
        found = [(i, " ".join(phrase)) for phrase in rule.triggers for i in self._find(tokens, phrase)
                 if not self._beside(tokens, i, rule)]
        if self.phrase_gap:
            exact = {i for i, _ in found}
            found += [(i, " ".join(phrase)) for phrase in rule.triggers
                      if len(phrase) > 1 and phrase[0] not in self._stop_stems and phrase[-1] not in self._stop_stems
                      for i in self._find_loose(tokens, phrase) if i not in exact and not self._beside(tokens, i, rule)]
        if rule.near:
            first, *rest = rule.near
            for i, tok in enumerate(tokens):
                if tok in first:
                    window = tokens[max(0, i - self.near_window): i + self.near_window + 1]
                    if all(any(t in group for t in window) for group in rest):
                        found.append((i, " ".join(t for t in window if t != "|")))
        for pattern in rule.word_patterns:
            found += [(i, word) for i, word in enumerate(words)
                      if tokens[i] not in self._named and tokens[i] != "_" and pattern.fullmatch(word)]
        return found

    def _passes(self, rule: Rule, matched: str) -> bool:
        """Whether the condition the matched words name can be over (`matched`: stems joined by a
        trigger, or words as a pattern found them)."""
        if rule.can_pass or not rule.passing:
            return rule.can_pass
        return rule.passes(tuple(matched.split())) or rule.passes(tuple(self.analyzer.stem_sequence(matched)))

    def _status(self, rule: Rule, tokens: tuple[str, ...], sentence: tuple[tuple[str, ...], tuple[str, ...]],
                at: int | None, can_pass: bool) -> str:
        """How a mention of a condition is meant: negated ("no fever"), hypothetical ("what if she
        were pregnant"), past ("broke it years ago, totally healed"; only for conditions that pass)
        or active. A sentence that says it goes on ("still recovering") is active. `sentence`: the
        stems and the words of the sentence of the mention; `can_pass`: whether what it names can be over."""
        if at is not None and self._negated(tokens, at):
            return "negated"
        if at is not None and self._clause_has(tokens, at, self.hypothetical_cues, across=self.supposition_joins):
            return "hypothetical"
        if can_pass and (self._says_over(*sentence) or (not rule.lasting and self._says_long_ago(*sentence))):
            return "past"
        return "active"

    def _clause_has(self, tokens: tuple[str, ...], at: int, phrases: tuple[tuple[str, ...], ...],
                    across: set[str] | frozenset[str] = frozenset()) -> bool:
        """Whether the clause of `at` holds one of the phrases before it (`across`: breaks that do not end it)."""
        start = at
        while start > 0 and (tokens[start - 1] not in self.clause_breaks or tokens[start - 1] in across):
            start -= 1
        return self._has(tokens[start:at], phrases)

    def _has(self, tokens: tuple[str, ...], phrases: tuple[tuple[str, ...], ...]) -> bool:
        return any(self._find(tokens, phrase) for phrase in phrases)

    def mentions(self, question: str) -> list[RuleMatch]:
        """Every condition the question speaks of, each with how it is meant (RuleMatch.status:
        active, hypothetical, past or negated); a rule mentioned several ways takes its first
        mention in force, else its first past one, else its first ("had pneumonia, all better, but
        she's diabetic" is in force)."""
        sentences = [s for s in _SENTENCE_END.split(question) if s.strip()] or [question]
        words: list[str] = []
        spans: list[tuple[int, int]] = []
        for sentence in sentences:
            if words and words[-1] != "|":
                words.append("|")
            start = len(words)
            words += self.analyzer.canonical_words(sentence, boundaries=True)
            spans.append((start, len(words)))
        tokens, canonical = tuple(self.analyzer.stem_words(words)), tuple(words)

        def sentence_of(i: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
            span = slice(*next(sp for sp in spans if sp[0] <= i < sp[1]))
            return tokens[span], canonical[span]

        lowered = question.lower()
        # the sentences whose words spelling correction changes, as it reads them (made once, when needed)
        corrected = functools.cache(lambda: [f for s in sentences
                                             if (f := " ".join(self.analyzer.corrected_words(s))) != " ".join(words_of(s))])

        found = []
        only_signs: set[str] = set()  # rules found by their signs alone ("itchy red bumps": red)
        for rule in self.rules:
            occurrences = self._occurrences(tokens, rule, words)
            statuses = []  # (how it is meant, the words that matched, where, whether it can be over)
            for i, text in occurrences:
                # ...or an operation on it ("a hernia op", "his kidney surgery"): the operation can be over
                after = i + len(text.split())
                passes = self._passes(rule, text) or (after < len(tokens) and self._passes(rule, tokens[after]))
                statuses.append((self._status(rule, tokens, sentence_of(i), i, passes), text, i, passes))
            if not any(status != "negated" for status, *_ in statuses):
                hit = next((m for p in rule.patterns for m in [p.search(lowered)] if m), None)
                sentence = ""
                if hit is None:
                    # the sentences as spelling correction reads them ("for 6 motnhs" is "for 6 months")
                    hit, sentence = next(((m, fixed) for fixed in corrected() for p in rule.patterns
                                          for m in [p.search(fixed)] if m), (None, ""))
                if hit:
                    # the question itself when the hit spans sentences: its lowercase holds the hit either way
                    sentence = sentence or next((s for s in sentences if hit.group() in s.lower()), question)
                    said = tuple(self.analyzer.canonical_words(sentence, boundaries=True))
                    stems = tuple(self.analyzer.stem_words(list(said)))
                    # where in the sentence the pattern found it: "no broken bones" is negated there too
                    before = sentence[:sentence.lower().find(hit.group())]
                    at = len(self.analyzer.canonical_words(before, boundaries=True))
                    at = at if at < len(stems) else None
                    passes = self._passes(rule, hit.group())
                    statuses.insert(0, (self._status(rule, stems, (stems, said), at, passes), hit.group(), None, passes))
            if not statuses:
                continue
            status, text, at, passes = next((m for kinds in (("active", "hypothetical"), ("past",)) for m in statuses
                                             if m[0] in kinds), statuses[0])
            # "not sure if she's pregnant", "she might have a fever": in force, but said as a maybe
            sure = at is None or not self._clause_has(tokens, at, self.uncertain_cues)
            found.append(rule.mention(text, status, sure, passes))
            if rule.signs and all(t in rule.signs for s, t, *_ in statuses if s != "negated"):
                only_signs.add(rule.id)
        if only_signs:
            # a sign another condition named beside it explains is that condition's ("a rash, itchy red
            # bumps": the rash's redness), unless the other was found by the sign's own words ("a red patch")
            found = [m for m in found if m.id not in only_signs or not any(
                o.id in self._by_id[m.id].explained_by and o.status == "active"
                and not any(phrase_positions(tuple(o.matched.split()), sign) for sign in self._sign_phrases[m.id])
                for o in found)]
        # a sign found alone is evidence of something, which later news may explain ("it's sunburn") or dismiss
        found = [replace(m, explained_by=tuple(sorted(self._by_id[m.id].explained_by))) if m.id in only_signs else m
                 for m in found]
        if not any(m.status == "active" and m.scope == "person" for m in found):
            found += self._reactions(tokens, sentence_of)
        return sorted(found, key=lambda m: VERDICT_ORDER[m.verdict])

    def _reactions(self, tokens: tuple[str, ...], sentence_of) -> list[RuleMatch]:
        """Conditions shown by the person's reaction during the massage ("she winced when I pressed
        there"), for a message stating no condition of its own."""
        out = []
        for rule in self.rules:
            hits = [(i, " ".join(p)) for p in rule.reactions for i in self._find(tokens, p)]
            hits = [(i, text) for i, text in hits if not self._negated(tokens, i)]
            if hits:
                at, text = hits[0]
                passes = self._passes(rule, text)
                out.append(rule.mention(text, self._status(rule, tokens, sentence_of(at), at, passes),
                                        not self._clause_has(tokens, at, self.uncertain_cues), passes))
        return out

    def recovery_said(self, text: str) -> bool:
        """Whether a text says a condition is over ("she's fine now") and not that it goes on."""
        said = tuple(self.analyzer.canonical_words(text, boundaries=True))
        return self._says_over(tuple(self.analyzer.stem_words(list(said))), said)

    def confirmation_said(self, text: str) -> bool:
        """Whether a text reports a result confirming a condition ("the test came back positive"),
        not negated ("not confirmed yet")."""
        return self._said_unnegated(tuple(self.analyzer.stem_sequence(text)), self.confirming_cues)

    def _said_unnegated(self, tokens: tuple[str, ...], cues: tuple[tuple[str, ...], ...],
                        unless: Callable[[tuple[str, ...], int, int], bool] | None = None) -> bool:
        """Whether the tokens hold one of the cues with no negation before it (nor, with `unless`, one for
        which unless(tokens, where the cue starts, where it ends) holds)."""
        return any(not self._negated(tokens, i) and not (unless and unless(tokens, i, i + len(cue)))
                   for cue in cues for i in self._find(tokens, cue))

    def _says_over(self, tokens: tuple[str, ...], said: tuple[str, ...]) -> bool:
        """Whether words say a condition is over ("all better now") and none that it goes on
        ("still"); a recovery said with a negation ("won't come down", "hasn't cleared up") is none.
        `tokens`: the stems of the words `said`."""
        return (self._said_unnegated(tokens, self.past_cues, unless=self._becomes_or_to_come)
                and not self._has(said, self.ongoing_cues))

    def _becomes_or_to_come(self, tokens: tuple[str, ...], start: int, after: int) -> bool:
        """Whether a past cue from `start` to `after` says a condition came on ("have gone numb") or a
        recovery still to come ("after he recovers", "once she's better")."""
        return self._becomes(tokens, after) or self._said_before(tokens, start, self.future_cues)

    def _says_long_ago(self, tokens: tuple[str, ...], said: tuple[str, ...]) -> bool:
        """Whether words place what they speak of years back ("when she was a teenager", "8 years ago")
        and none say it goes on ("still")."""
        return self._has(tokens, self.long_ago_cues) and not self._has(said, self.ongoing_cues)

    def _becomes(self, tokens: tuple[str, ...], after: int) -> bool:
        """Whether a past cue is followed by a condition's word: "his fingers have gone numb" says it
        came on, not that it went."""
        return after < len(tokens) and tokens[after] in self._trigger_starts

    def match(self, question: str) -> list[RuleMatch]:
        """The conditions a question states as holding now or asks about (active or hypothetical),
        strictest verdict first; negated and past mentions do not count."""
        return stated(self.mentions(question))
