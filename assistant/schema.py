"""The typed results the stages hand each other: Passage (corpus), RuleMatch and Route
(understanding), Hit and Ranking (retrieval), Sentence, AnswerLine, Citation and Answer (composition)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A sentence of a guide: its offsets into the original file and its whitespace-normalised text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrievable piece of one guide section, with offsets into the original guide file."""

    id: str
    guide: str
    title: str
    section: str
    text: str
    start: int
    end: int
    sentences: tuple[Span, ...] = ()
    group: str = ""  # the heading over the section's heading, when the guide has one

    @property
    def headings(self) -> str:
        """The group and section headings: what the passage is about, as its guide titles it."""
        return f"{self.group} {self.section}" if self.group else self.section

    def to_dict(self) -> dict:
        return {"id": self.id, "guide": self.guide, "title": self.title, "section": self.section,
                "group": self.group, "text": self.text, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Hit:
    """A passage in a ranking, with its fused score and each retriever's own score."""

    passage: Passage
    rank: int
    score: float
    scores: dict[str, float] = field(default_factory=dict)  # each retriever's own score
    reason: str = ""  # why a passage stands where it does when it is not its score ("warning: pregnancy")


@dataclass(frozen=True)
class Ranking:
    """The passages behind an answer. `hits` is the order shown (on the safety route the warnings'
    passages first); `retrieved` is what retrieval found for the question, best first, which is
    what the answer's own sentences are chosen from. Iterating a Ranking gives its hits."""

    hits: tuple[Hit, ...] = ()
    retrieved: tuple[Hit, ...] = ()
    reasons: tuple[str, ...] = ()  # the priors applied, in words ("intent lift: oil_choice", ...)

    def __iter__(self):
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, i):
        return self.hits[i]


@dataclass(frozen=True)
class Quote:
    """A verbatim sentence of a guide that a safety rule rests on."""

    text: str
    passage: Passage


@dataclass(frozen=True)
class RuleMatch:
    """A safety rule triggered by a question, and the words that triggered it."""

    id: str
    condition: str
    verdict: str
    advice: str
    quotes: tuple[Quote, ...]
    matched: str
    body_excludes: tuple[str, ...] = ()  # a caution answer's body never suggests these
    status: str = "active"  # how it was meant: active, hypothetical, past, negated (withdrawn: see Conversation)
    scope: str = "person"  # "person": held for the person spoken of; "request": of this question only
    sure: bool = True  # False when said as a maybe ("not sure if she's pregnant"): warned about as "if this applies"
    can_pass: bool = False  # the condition named can be over ("had pneumonia, fine now"; not "diabetic")
    on_area: bool = False  # it sits on a part of the body: absent from one area, it may be on another
    explained_by: tuple[str, ...] = ()  # found by its signs alone ("red"): the rules whose conditions explain them

    def to_dict(self) -> dict:
        return {"id": self.id, "verdict": self.verdict, "advice": self.advice,
                "quotes": [q.text for q in self.quotes]}


@dataclass(frozen=True)
class Route:
    """What the router decided for a question: route, intent and the safety rules it matched."""

    question: str
    intent: str
    intent_confidence: float
    route: str  # "safety" | "retrieval" | "abstain" | "smalltalk"
    rules: tuple[RuleMatch, ...] = ()
    top_score: float = 0.0
    carried: str = ""  # what a follow-up question took over from the conversation
    focus: str = ""  # what a long message asks, when it is not the whole message
    held: tuple[str, ...] = ()  # ids of rules in force from earlier turns, not named in this question
    sense: str = ""  # which of its intent's senses the question asks ("giver" posture), if it picks one
    query: str = ""  # the text retrieval runs on (with what a follow-up carried, or the story behind a focus)
    lift_intent: str = ""  # the intent whose passages retrieval lifts ("" when the router is unsure)
    faq_text: str = ""  # what is compared with the guides' FAQ questions
    parts: tuple["Route", ...] = ()  # the routed parts of a question asking several things
    reply: str = ""  # small talk: which fixed reply answers it
    person: str = ""  # who the question is about, in a conversation
    read_as: bool = False  # answered on the intent model's reading alone (the guides' words barely meet it)
    state: object = None  # the conversation's slots once this question is answered (conversation.State)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "intent": self.intent,
            "intent_confidence": round(self.intent_confidence, 4),
            "route": self.route,
            "safety": {"rules": [r.to_dict() for r in self.rules]} if self.rules else None,
        }


@dataclass(frozen=True)
class Sentence:
    """One sentence of an answer, verbatim from a guide, with the citation numbers that hold it."""

    text: str
    citations: tuple[int, ...]


@dataclass(frozen=True)
class AnswerLine:
    """One line of an answer: "warning" (a safety heading or quote), "body" (the answer's own
    sentences), "summary" (where the guides agree or differ), "note" (fixed framing), "blank"."""

    kind: str
    text: str


@dataclass(frozen=True)
class Citation:
    """Citation [n] of an answer: the passage it points to."""

    n: int
    passage: Passage

    def to_dict(self) -> dict:
        p = self.passage
        return {"n": self.n, "passage_id": p.id, "guide": p.guide, "title": p.title,
                "section": p.section, "start": p.start, "end": p.end}


@dataclass(frozen=True)
class Answer:
    """The assistant's reply: routed question, answer sentences, citations and the ranking behind it."""

    route: Route
    text: str
    sentences: tuple[Sentence, ...] = ()
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    notes: tuple[str, ...] = ()  # the assistant's own framing lines (summaries, disclaimers)
    lines: tuple[AnswerLine, ...] = ()  # `text`, line by line, with each line's kind

    def to_dict(self) -> dict:
        out = self.route.to_dict()
        safety = out.pop("safety")
        out["answer"] = self.text
        out["sentences"] = [{"text": s.text, "citations": list(s.citations)} for s in self.sentences]
        out["citations"] = [c.to_dict() for c in self.citations]
        out["passages"] = [
            {"rank": h.rank, "id": h.passage.id, "guide": h.passage.guide, "title": h.passage.title,
             "section": h.passage.section, "score": round(h.score, 6), "text": h.passage.text}
            for h in self.hits
        ]
        out["safety"] = safety
        return out
