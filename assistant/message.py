"""The message stage: what a typed message asks, before any model reads it.

A long message is read for its question sentences (people tell the story first), a message asking
two things one after another is split into its parts, and the cues a follow-up opens with are
noted. The word lists are in data/language.toml; the word counts in Config ([message]).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from assistant.config import Config
from assistant.datafiles import load
from assistant.patterns import Regex
from assistant.text import everyday_words


# A question longer than this is refused, not cut: nobody types one, and work must stay bounded.
MAX_QUESTION_CHARS = 2000


class QuestionError(ValueError):
    """A question that cannot be answered as given (empty, too long), with a one-line reason."""


@dataclass(frozen=True)
class Message:
    """A checked message and what it asks."""

    text: str  # whitespace-normalised
    focus: str  # its question sentences, when a long message is more than them ("" otherwise)
    parts: tuple[str, ...]  # the questions it asks one after another, when it asks two or more
    opens_like_follow_up: bool  # "and how long?", "what about her neck?"
    has_pronoun: bool  # "is it safe for her?"
    sentences: tuple[str, ...] = ()
    people: tuple[str, ...] = ()  # the people it names, in order ("wife", "mum", "self")
    areas: tuple[str, ...] = ()  # the body areas it names, in order ("lower back", "neck")
    corrects: bool = False  # it corrects what was said before ("wait no, it's my son who...")
    asks: bool = True  # it asks something (a question mark, a question word, a request)
    receives: bool = False  # what it asks has the one typing massaged ("can my husband give me a back rub")

    @property
    def asked(self) -> str:
        """What the message asks: its focus, else the whole message."""
        return self.focus or self.text


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


@dataclass(frozen=True)
class _Lexicon:
    """A canonical name for each phrase of a lexicon, found as whole words."""

    pattern: Regex | None
    names: dict[str, str]

    def find(self, text: str) -> list[str]:
        return [name for _, name in self.spans(text)]

    def spans(self, text: str) -> list[tuple[int, str]]:
        """(where, canonical name) of each phrase found."""
        return [(start, name) for start, _, name in self.found(text)]

    def found(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, canonical name) of each phrase found."""
        if self.pattern is None:
            return []
        return [(m.start(), m.end(), self.names[self._key(m.group())]) for m in self.pattern.finditer(text)]

    def _key(self, found: str) -> str:
        key = " ".join(found.lower().split())
        return key if key in self.names else key[:-1]  # "sisters": the name without the "s" typed after it


def _lexicon(table: dict[str, list[str]], possessive: bool = False) -> _Lexicon:
    """possessive: a name also counts with an "s" typed without its apostrophe ("my sisters neck")."""
    names = {" ".join(phrase.lower().split()): name for name, phrases in table.items() for phrase in phrases}
    if not names:
        return _Lexicon(None, {})
    ending = "s?(?![\\w])" if possessive else "(?![\\w])"
    return _Lexicon(Regex(rf"(?<![\w'])(?:{_alternation(list(names))}){ending}"), names)


@dataclass(frozen=True)
class _Patterns:
    sentence_end: re.Pattern
    asks: Regex
    asks_within: Regex
    refers_back: Regex
    points_back: Regex
    part_break: Regex
    follow_up: Regex
    pronoun: Regex
    people: _Lexicon
    areas: _Lexicon
    first_person: Regex
    third_person: Regex
    correction: Regex
    self_named: Regex
    receives: Regex
    receives_it: Regex  # "can my boyfriend massage it out", where "it" is the typist's own back
    address_forms: frozenset[str]
    determined: Regex  # a determiner just before where a match ends
    reports: Regex  # a reporting verb just after a person's word ("mum says")
    gives: Regex  # a giving verb with someone else as its object just after a person's word ("dad wants to rub her back")


_CONTRACTED = r"(?:['\u2019](?:s|d|ll|re|ve|m))?"


@functools.cache
def patterns() -> _Patterns:
    """The language file's word lists as case-blind patterns, each compiled when first used (a short
    question needs about half of them)."""
    lang = load("language.toml")
    # a question word as people type it fast ("wat", "hw", "shud", "cud"): the shorthand the analyzer
    # expands into one (data/thesaurus.toml) opens a question too
    asking_words = set(lang["question_words"]) | set(lang["also_asking"])
    typed = [short for short, full in load("thesaurus.toml").get("shorthand", {}).items()
             if full.split()[0] in asking_words]
    question = _alternation(lang["question_words"] + typed)
    fillers = _alternation(lang["leading_fillers"])
    joiners = _alternation(lang["part_joiners"])
    return _Patterns(
        sentence_end=re.compile(r"(?<=[.!?])\s+"),
        asks=Regex(rf"^(?:(?:{fillers})[\s,]+)*(?:{question}|{_alternation(lang['also_asking'])})\b"),
        asks_within=Regex(rf"\b(?:{_alternation(lang['indirect_asking'])})\s+(?:(?:me|us|him|her|them)\s+)?"
                          rf"(?:{_alternation(lang['indirect_question_words'])})\b"),
        refers_back=Regex(rf"\b(?:{_alternation(lang['refers_back'])})\b"),
        points_back=Regex(rf"\b(?:{_alternation(lang['points_back'])})\b"),
        part_break=Regex(rf"\?\s+|[,;]?\s+\b(?:{joiners})\s+(?=(?:{question})\b)"),
        follow_up=Regex(rf"^(?:{_alternation(lang['follow_up_openers'])})\b"),
        pronoun=Regex(rf"\b(?:{_alternation(lang['pronouns'])})\b"),
        people=_lexicon(lang["people"], possessive=True),
        areas=_lexicon(lang["areas"]),
        # a person's word with a contraction ("she's", "i've", "they'd") is that person's word
        first_person=Regex(rf"(?<![\w'])(?:{_alternation(lang['first_person'])}){_CONTRACTED}(?![\w'])"),
        third_person=Regex(rf"(?<![\w'])(?:{_alternation(lang['third_person'])}){_CONTRACTED}(?![\w'])"),
        correction=Regex(rf"\b(?:{_alternation(lang['correction_cues'])})\b"),
        # "i'm the husband", "i am her boyfriend": the one typing names themself
        self_named=Regex(rf"(?<![\w'])(?:{_alternation(lang['self_naming'])})\s+"
                         rf"(?:{_alternation(lang['self_naming_determiners'])})\s+$"),
        address_forms=frozenset(lang["address_forms"]),
        determined=Regex(rf"(?<![\w'])(?:{_alternation(lang['person_determiners'])})\s+$"),
        reports=Regex(rf"(?:['\u2019]?s)?\s+(?:(?:{_alternation(lang['reporting_adverbs'])})\s+)?"
                      rf"(?:{_alternation(lang['reporting_verbs'])})\b"),
        gives=Regex(rf"(?:['\u2019]?s)?(?:\s+(?!me\b|us\b|i\b|and\b|or\b)[\w'\u2019]+){{0,6}}?\s+"
                    rf"(?:(?:{_alternation(lang['receiving_verbs'] + lang['giving_verbs'])})\s+"
                    rf"(?:(?:her|him|them|his|their)\b(?!\s+back\s+in\b)|it\s+for\s+(?:her|him|them|me)\b)"
                    # ...or what the one giving it must mind ("anything the flatmate should avoid")
                    rf"|(?:should|needs?\s+to|has\s+to|must)\s+(?:avoid|watch|know|be\s+careful|look\s+out)\b)"),
        receives=Regex(rf"(?<![\w'])(?:{_alternation(lang['receiving_verbs'])})\s+(?:me\b|my\s+(?:own\s+)?"
                       rf"(?:{_alternation([p for ps in lang['areas'].values() for p in ps] + ['back'])})\b)"),
        receives_it=Regex(rf"(?<![\w'])(?:{_alternation(lang['receiving_verbs'])})\s+it\b"),
    )


@functools.cache
def _pronouns() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """(the forms of each pronoun, who each pronoun can be), from language.toml."""
    lang = load("language.toml")
    return ({p: frozenset(f) for p, f in lang["pronoun_forms"].items()},
            {p: frozenset(people) for p, people in lang["pronoun_people"].items()})


def _pronouns_used(text: str) -> list[str]:
    """The third-person pronouns ("she", "he") a text uses, in any of their forms ("her", "his")."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    return [pronoun for pronoun, forms in _pronouns()[0].items() if words & forms]


def who_the_pronoun_can_be(text: str) -> frozenset[str]:
    """The people a text's one third-person pronoun can be ("his" -> husband, dad, grandad...);
    none when it uses both or neither."""
    used = _pronouns_used(text)
    return _pronouns()[1][used[0]] if len(used) == 1 else frozenset()


_MY_BACK = re.compile(r"\bmy\s+(?:own\s+)?back\b", re.IGNORECASE)
_MY_BEFORE = re.compile(r"\bmy\s+(?:own\s+)?$", re.IGNORECASE)


def names_own_body(text: str) -> bool:
    """Whether a text speaks of the typist's own body ("a sharp pain in my lower back", "my back")."""
    return bool(_MY_BACK.search(text)) or any(_MY_BEFORE.search(text[:at]) for at, _ in patterns().areas.spans(text))


def names_an_adult(text: str) -> bool:
    """Whether a text names someone who cannot be a young child: a person other than those language.toml
    `young_people` names (a son, a daughter), or the typist's own back."""
    young = frozenset(load("language.toml").get("young_people", ()))
    return any(p not in young for p in people_in(text) if p != "self") or names_own_body(text)


def areas_in(text: str) -> set[str]:
    """The body areas a text names, by their canonical names ("small of her back" -> "lower back")."""
    return set(patterns().areas.find(text))


def speaks_of_someone_else(text: str, person: str) -> bool:
    """Whether a text speaks of someone only by a pronoun that cannot be `person` ("she" after a
    husband was spoken of)."""
    used = _pronouns_used(text)
    if len(used) != 1:
        return False
    # the person spoken of is one of another pronoun's people
    return any(person in who for pronoun, who in _pronouns()[1].items() if pronoun not in used)


def people_in(text: str, first_person_is_self: bool = False) -> list[str]:
    """The people a text names, in order ("i'm the husband" names the one typing: "self"). With
    first_person_is_self, a text in the first person naming no one else is about "self" ("my back
    is sore"); otherwise "i" is taken for the one giving the massage."""
    pats = patterns()
    named = ["self" if pats.self_named.search(text, max(0, at - 12), at) else name
             for at, name in pats.people.spans(text)
             if not _addresses_the_reader(text, at, pats)]
    if first_person_is_self and not named and pats.first_person.search(text) and not pats.third_person.search(text):
        return ["self"]
    return named


def givers_in(text: str) -> set[str]:
    """The people a text names as the one giving the massage to someone else ("my husband wants to give
    her a back rub", "his wife wants to massage his back", "her husband's gonna do it for her"): a giving
    verb with someone else as its object follows their word (not "my nan wants me to do her back": the
    giver is "me")."""
    pats = patterns()
    return {name for _, end, name in pats.people.found(text) if pats.gives.match(text, end)}


def givers_to_typist(text: str) -> set[str]:
    """The people a text names as giving the massage to the one typing ("my partner wants to give me a
    back massage", "can my husband massage my lower back"): a receiving verb with the typist as its
    object follows their word, within six words."""
    pats = patterns()
    return {name for _, end, name in pats.people.found(text)
            if (m := pats.receives.search(text, end)) and len(text[end:m.start()].split()) <= 6}


_DENIED = re.compile(r"\bnot\s+(?:(?:my|our|his|her|their|me|the)\s+)?$", re.IGNORECASE)


def denied_people(text: str) -> set[str]:
    """The people a text names only to say it is not them ("its me with the nut allergy, not my friend")."""
    pats = patterns()
    found: dict[str, bool] = {}
    for start, _, name in pats.people.found(text):
        found[name] = found.get(name, True) and bool(_DENIED.search(text, max(0, start - 16), start))
    return {name for name, only in found.items() if only}


def sources_in(text: str) -> set[str]:
    """The people a text names only as the source of what it says ("my aunt swears by it", "mum says
    i should give him a rub"): each time it names them, a reporting verb follows."""
    pats = patterns()
    reported: dict[str, bool] = {}
    for _, end, name in pats.people.found(text):
        reported[name] = reported.get(name, True) and bool(pats.reports.match(text, end))
    return {name for name, only in reported.items() if only}


_CLAUSE_BREAK = re.compile(r"\s*[,;]\s+|\s+but\s+", re.IGNORECASE)


_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def clauses_by_person(sentence: str, receives: bool = False) -> list[str]:
    """A sentence naming several people, cut into its clauses ("it's her mate who's expecting, my
    sister isn't pregnant"), so that what each clause says is of the one it names; else the sentence.
    With `receives` (the one typing is massaged by someone the sentence names), cut at "and" too: "im
    20 weeks pregnant and my partner wants to give me a back massage" says the pregnancy of the typist,
    "my husband gives me massages but he has a fever" the fever of the husband."""
    named = people_in(sentence)
    if receives and named:
        return [p for c in _CLAUSE_BREAK.split(sentence) for p in _AND.split(c) if p.strip()]
    if len(named) < 2:
        return [sentence]
    return [c for c in _CLAUSE_BREAK.split(sentence) if c.strip()]


def _addresses_the_reader(text: str, at: int, pats: _Patterns) -> bool:
    """Whether the people word at `at` is said to the reader ("thanks mate") rather than naming
    someone ("my mate"): a form of address with no determiner before it."""
    word = text[at:].split(maxsplit=1)[0].lower().strip(".,!?;:'\"")
    return word in pats.address_forms and not pats.determined.search(text, max(0, at - 12), at)


# "it's my son who has the fever": a cleft naming who it really is (a person's word, checked by people_in)
# (typed as people type it: "its my dad who's had it", "its my daughter thats got it", "its me with the allergy")
_CLEFT = re.compile(r"\bit(?:['\u2019]?s|\s+is|\s+was)\s+(?:actually\s+|really\s+)?"
                    r"((?:(?:my|his|her|our|their|me)\s+)?(?:[\w'-]+\s+){0,3}?)(?:who|that|with)(?:['\u2019]?s)?\b", re.IGNORECASE)


def corrects(text: str) -> bool:
    """Whether a message corrects what was said before: a cue ("wait no", "my bad") or a cleft
    naming someone ("it's my housemate who's burnt")."""
    return bool(patterns().correction.search(text)) or bool(cleft_person(text))


def cleft_person(text: str) -> str:
    """The person a cleft names as the one it really is ("it's dad who's had it for two years"), or ""."""
    for m in _CLEFT.finditer(text):
        said = m.group(1).strip()
        if said.lower() == "me":
            return "self"
        if named := people_in(said):
            return named[-1]
    return ""


def receives_massage(text: str, whole: str = "") -> bool:
    """Whether the one typing is the one massaged ("can my husband give me a back rub"; "sharp pain in
    my lower back... can my boyfriend massage it out", `whole` being the message the asked text is of)."""
    pats = patterns()
    return bool(pats.receives.search(text)) or bool(
        pats.receives_it.search(text) and names_own_body(whole or text) and not speaks_in_third_person(whole or text))


def speaks_in_third_person(text: str) -> bool:
    """Whether a text uses "she", "he", "his"... of someone."""
    return bool(patterns().third_person.search(text))


def _clauses(text: str) -> list[str]:
    """A text's clauses: its sentences cut at commas, semicolons and colons."""
    return [c.strip() for s in patterns().sentence_end.split(text) for c in re.split(r"[,;:]", s) if c.strip()]


def asks_anything(text: str) -> bool:
    """Whether a message asks something: a question mark, a sentence opening (after fillers such as
    "btw") with a question word, another auxiliary or a request ("tell me..."), or a question asked
    inside a sentence ("he wants to know how to...")."""
    pats = patterns()
    return "?" in text or any(pats.asks.match(c) for c in _clauses(text)) or bool(pats.asks_within.search(text))


def asking_clauses(text: str) -> str:
    """The clauses of a text that ask ("what oil should i use on his back?" of "he's been doing
    pilates for like 6 months, what oil should i use on his back?"): those opening as a question,
    and a clause ending with a question mark, each with the clause before when it holds a word that
    may refer back to it ("i've got a massage gun, can i use it on her back?"); the whole text when
    none asks or all do."""
    pats = patterns()
    clauses = _clauses(text)
    asking: set[int] = set()
    for i, clause in enumerate(clauses):
        if pats.asks.match(clause) or clause.endswith("?"):
            asking.add(i)
            if i > 0 and pats.refers_back.search(clause):  # a clause is short: any "it" or "that" may
                asking.add(i - 1)
    if not asking or len(asking) == len(clauses):
        return text
    return " ".join(clauses[i] for i in sorted(asking))


def check_question(question: str) -> str:
    """The question with its white space normalised, or QuestionError."""
    question = " ".join(str(question).split())
    if not question:
        raise QuestionError("empty question")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"question longer than {MAX_QUESTION_CHARS} characters")
    return question


def question_focus(question: str, config: Config) -> str:
    """What a long message asks: its question sentences (else its last sentence). People tell
    the story first ("My boyfriend works construction... How long should I go for?")."""
    pats = patterns()
    sentences = [s for s in pats.sentence_end.split(question) if s.strip()]
    if len(sentences) < 2 or len(question.split()) < config.message_story_min_words:
        return question
    asked = [i for i, s in enumerate(sentences) if s.rstrip().endswith("?")]
    last = len(sentences) - 1
    # a last question typed without its question mark ("any tips?? also do i need oil") still asks
    if not asked or (asked[-1] != last and pats.asks.match(sentences[last].strip())):
        asked.append(last)
    # "Is that a bad idea?" or "Is it ok to use that...?" asks about the sentence before it
    if len(asked) == 1 and asked[0] > 0:
        sentence = sentences[asked[0]]
        words = len(sentence.split())
        if ((words <= config.message_refers_back_max_words and pats.refers_back.search(sentence))
                or (words <= config.message_points_back_max_words and pats.points_back.search(sentence))):
            asked.insert(0, asked[0] - 1)
    return " ".join(sentences[i] for i in asked)


def question_parts(question: str, config: Config) -> list[str]:
    """The questions a message asks one after another: "what oil should I use and how long
    should it last?" -> ["what oil should I use", "how long should it last?"]."""
    pats = patterns()
    # a part keeps its own question, not the statement before it ("I'm a beginner. How long...")
    parts = [[s for s in pats.sentence_end.split(p.strip()) if s.strip()][-1:] for p in pats.part_break.split(question)]
    return [part[0].strip() for part in parts if part and len(part[0].split()) >= config.message_part_min_words]


def without_areas(text: str) -> str:
    """The text with the body areas it names taken out: what a follow-up asks besides the area it
    names ("what about the lower back?" asks nothing of its own)."""
    pattern = patterns().areas.pattern
    return " ".join(pattern.sub(" ", text).split()) if pattern is not None else text


_DROPPED_G = re.compile(r"\b([A-Za-z]{2,}in)['\u2019]?(?![\w'\u2019])")


def restore_dropped_g(text: str) -> str:
    """Words typed with their final g dropped ("achin", "rubbin", "goin'") given it back, where the word
    with it is an everyday word and the word without it is none ("skin", "begin", "cabin" stay): read
    as typed, spelling correction made "goin" a groin and the patterns missed "achin for 4 months"."""
    if "in" not in text:
        return text

    def restore(m: re.Match) -> str:
        word = m.group(1)
        lower = word.lower()
        known = everyday_words()
        return word + "g" if lower not in known and lower + "g" in known else m.group(0)

    return _DROPPED_G.sub(restore, text)


# "4" typed for "for" where the number cannot stand: before a determiner, a pronoun or a hedge ("4 the past
# 6 wks", "4 like 5 months", "4 a back massage", "4 u", "fix it 4 good"); "4 months", "4 times" stay numbers
_TEXTED_FOR = re.compile(r"(?<![\w.,])4(?= (?:the|a|an|like|about|around|roughly|over|nearly|almost|more than|ages|yonks|"
                         r"donkeys|good|ever|life|u|you|ur|your|her|him|me|my|us|them|his|their|our)\b)", re.IGNORECASE)


def restore_texted_for(text: str) -> str:
    return _TEXTED_FOR.sub("for", text) if "4" in text else text


def read_message(text: str, config: Config) -> Message:
    """The message stage: check the text, then find what it asks."""
    question = restore_texted_for(restore_dropped_g(check_question(text)))
    focus = question_focus(question, config)
    asked = focus if focus != question else question
    parts = question_parts(asked, config)
    pats = patterns()
    sentences = tuple(s for s in pats.sentence_end.split(question) if s.strip())
    return Message(question, focus if focus != question else "", tuple(parts) if len(parts) >= 2 else (),
                   bool(pats.follow_up.match(question)), bool(pats.pronoun.search(question)), sentences,
                   tuple(pats.people.find(question)), tuple(pats.areas.find(question)),
                   corrects(question), asks_anything(question), receives_massage(asked, question))
