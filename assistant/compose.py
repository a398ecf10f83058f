"""The composition stage: a Route, its Ranking and the chosen sentences -> an Answer.

An answer is lines of four kinds: warnings (a safety heading and the guides' own warning
sentences), body (the chosen guide sentences, each cited), summary ("where the guides differ",
whose values are quoted from cited passages) and notes (fixed framing from data/replies.toml:
the disclaimer, the abstain message, small-talk replies). Nothing else is said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.config import Config
from assistant.datafiles import load
from assistant.router import Intents
from assistant.schema import Answer, AnswerLine, Citation, Passage, Ranking, Route, RuleMatch, Sentence
from assistant.selection import Candidate, Selector

VERDICT_REPLY = {"stop": "safety_stop", "avoid": "safety_avoid", "caution": "safety_caution"}


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


@dataclass
class Draft:
    """An answer being written: its lines, the guide sentences in them, and the citations."""

    cites: Citations = field(default_factory=Citations)
    lines: list[AnswerLine] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the lines in the assistant's own words

    def add(self, kind: str, text: str) -> None:
        self.lines.append(AnswerLine(kind, text))

    def say(self, kind: str, text: str, at: int | None = None) -> None:
        """A line in the assistant's own words (a heading, a summary, a note)."""
        self.lines.insert(len(self.lines) if at is None else at, AnswerLine(kind, text))
        self.notes.append(text)

    def quote(self, kind: str, text: str, passages: tuple[Passage, ...], indent: str = "") -> None:
        numbers = tuple(self.cites.cite(p) for p in passages)
        self.sentences.append(Sentence(text, numbers))
        self.add(kind, f"{indent}{text} " + "".join(f"[{n}]" for n in numbers))

    def answer(self, route: Route, ranking: Ranking) -> Answer:
        text = "\n".join(line.text for line in self.lines).strip()
        return Answer(route, text, tuple(self.sentences), self.cites.as_tuple(), tuple(ranking.hits),
                      tuple(self.notes), tuple(self.lines))


class Composer:
    """Writes answers from routes, rankings and the sentence selector."""

    def __init__(self, selector: Selector, intents: Intents, config: Config, disclaimer: str):
        self.selector = selector
        self.intents = intents
        self.config = config
        self.disclaimer = disclaimer
        self.replies = load("replies.toml")

    def compose(self, route: Route, ranking: Ranking, part_rankings: tuple[Ranking, ...] = ()) -> Answer:
        """The answer to a routed question; each routed part gets its own sentences, in order."""
        if route.route == "smalltalk":
            return self.smalltalk(route)
        draft = Draft()
        if route.rules:
            self.warnings(route.rules, draft)
        # stop/avoid: the warning is the whole answer; so it is when the question asks nothing but
        # "is it safe?" (a condition stated with no topic of its own)
        strict = bool(route.rules) and (self.intents.has_role(route.intent, "safety_question")
                                        or any(r.verdict in ("stop", "avoid") for r in route.rules))
        if not strict:
            bodies = list(zip(route.parts, part_rankings)) or [(route, ranking)]
            limit = self.config.answer_max_sentences
            if len(bodies) > 1:
                limit = max(self.config.answer_min_sentences, limit - len(bodies))
            answered = [self.body(part, part_ranking, route.rules, limit, draft) for part, part_ranking in bodies]
            if not any(answered) and not route.rules:
                draft.say("note", self.replies["no_sentences"])
            elif route.read_as and any(answered):
                # few of its words are the guides': say what the question was taken to ask
                topic = self.replies["topics"].get(route.intent, route.intent.replace("_", " "))
                draft.say("note", self.replies["read_as"].format(topic=topic), at=0)
        if route.rules:
            draft.say("note", self.disclaimer)
        return draft.answer(route, ranking)

    def warnings(self, rules: tuple[RuleMatch, ...], draft: Draft) -> None:
        """Each rule's heading, then its quotes (a quote shared by two rules once)."""
        shown: set[str] = set()
        for rule in rules:
            unsure = not rule.sure or rule.status == "hypothetical"
            label = f"{self.replies['safety_if']} ({self.replies[VERDICT_REPLY[rule.verdict]].lower()})" if unsure \
                else self.replies[VERDICT_REPLY[rule.verdict]]
            draft.say("warning", f"{label}: {rule.condition}.")
            for quote in rule.quotes:
                if quote.text not in shown:
                    shown.add(quote.text)
                    draft.quote("warning", quote.text, (quote.passage,), indent="  ")

    def body(self, route: Route, ranking: Ranking, rules: tuple[RuleMatch, ...], limit: int, draft: Draft) -> bool:
        """The answer's own sentences for one question (or one part of it); True if any."""
        question = " ".join(part for part in (route.carried, route.focus, route.question) if part)
        candidates = self.selector.candidates(question, route.intent, ranking.retrieved, rules, route.sense)
        # a sentence already shown (a warning's quote), or holding one or held in one, is not shown again
        picked = [c for c in self.selector.select(candidates, limit)
                  if not any(s.text in c.text or c.text in s.text for s in draft.sentences)]
        if draft.lines and picked:
            draft.add("blank", "")
        first_line = len(draft.lines)
        for chosen in picked:
            draft.quote("body", chosen.text, chosen.passages)
        note = self.replies["sense_notes"].get(route.intent)
        if note and self.intents[route.intent].senses and not route.sense and picked:
            draft.say("note", note, at=first_line)
        summary = self.value_summary(route.intent, candidates, draft.cites, rules)
        if summary:
            draft.say("summary", summary)
        return bool(picked)

    def value_summary(self, intent: str, candidates: list[Candidate], cites: Citations,
                      rules: tuple[RuleMatch, ...] = ()) -> str | None:
        """For oil, frequency and duration questions: the values each guide gives, quoted and cited
        (never a value a stated condition rules out: no almond oil after a nut allergy)."""
        ruled_out = [phrase for r in rules for phrase in r.body_excludes]
        spec = self.intents.get(intent)
        if not spec or not spec.values:
            return None
        floor = candidates[0].score * self.config.answer_relative_cutoff if candidates else 0
        by_guide: dict[str, tuple[Passage, list[str]]] = {}
        for c in candidates:
            if c.score < floor:
                continue
            found = [m.group().strip() for p in spec.values for m in p.finditer(c.text)
                     if not any(phrase in m.group().lower() or m.group().lower() in phrase for phrase in ruled_out)]
            if not found:
                continue
            passage, values = by_guide.setdefault(c.passage.guide, (c.passage, []))
            for v in found:
                if v.lower() not in (x.lower() for x in values):
                    values.append(v)
        if len(by_guide) < 2:
            return None
        parts = [f"{', '.join(values)} [{cites.cite(passage)}]" for passage, values in by_guide.values()]
        # the guides differ when one gives a value another does not, and that one gives a value it does
        # not ("jojoba, coconut" and "coconut, almond"); "10–15 minutes" beside "10 to 15 minutes, 20 to 30
        # minutes" is one guide saying more, not another view
        said = [{_same_value(v) for v in values} for _, values in by_guide.values()]
        nested = all(a <= b or b <= a for i, a in enumerate(said) for b in said[i + 1:])
        label = self.replies["agree"] if nested else self.replies["differ"]
        return f"{label}: " + "; ".join(parts) + "."

    def smalltalk(self, route: Route) -> Answer:
        text = self.replies.get(route.reply or "greeting", self.replies["greeting"])
        if route.reply == "help":
            text += "\n" + "\n".join(f"  - {s}" for s in self.replies["suggestions"][:3])
        return Answer(route, text, lines=(AnswerLine("note", text),))

    def abstain(self, route: Route, suggestions: list[str]) -> Answer:
        """The guides do not cover what is asked: said so, with questions they do answer, and after
        that the warnings of any condition the question states (a refusal is never silent on one)."""
        draft = Draft()
        for line in [self.replies["abstain"], self.replies["suggest"]] + [f"  - {s}" for s in suggestions]:
            draft.say("note", line)
        if route.rules:
            draft.add("blank", "")
            self.warnings(route.rules, draft)
            draft.say("note", self.disclaimer)
        return draft.answer(route, Ranking())


def _same_value(value: str) -> str:
    """A value as compared across guides: lowercase, a range's dash read as "to" ("10–15" is "10 to 15")."""
    return " ".join(re.sub(r"\s*[\u2013\u2014-]\s*", " to ", value.lower()).split())
