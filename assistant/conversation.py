"""What a chat remembers between turns, as slots: the person spoken of, the topic (what was asked,
its intent and body area) and, for each person, the conditions stated with their status.

A follow-up replaces the slots it names and keeps the rest: "what about her neck?" keeps the
person and replaces the area; "and for how long?" keeps the area and replaces the intent.
Conditions are held per person: a new person starts with none, and the earlier person's come
back when the talk returns to them. A condition is active, past (over: "had flu, fine now"),
withdrawn (said to be over or not so, after it was held), negated ("no fever"), or hypothetical
("what if she were pregnant": warned about once, never held). A caution about what is asked
(pressing on the spine) holds for that question only.

Understanding reads a Conversation and works out the next State without changing it;
the assistant adopts that State once the question is answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from assistant.config import Config
from assistant.message import (Message, areas_in, cleft_person, denied_people, givers_in, givers_to_typist, names_own_body,
                               people_in, sources_in, speaks_in_third_person, speaks_of_someone_else,
                               who_the_pronoun_can_be)
from assistant.schema import RuleMatch

IN_FORCE = "active"


@dataclass(frozen=True)
class Condition:
    """A condition stated for someone: the rule, its status and the words that set it."""

    rule: RuleMatch
    status: str  # active, past, withdrawn, negated
    words: str  # the message that set the status
    turn: int = 0  # the conversation's turn that set it (State.turns)
    sentence: str = ""  # the sentence of that message that said it (where its body areas are read)


@dataclass(frozen=True)
class Topic:
    """What the conversation is about: the question asked (with anything it carried), its intent, its area."""

    question: str = ""
    intent: str = ""
    area: str = ""


@dataclass(frozen=True)
class State:
    """The slots after a turn."""

    person: str = ""
    topic: Topic = Topic()
    conditions: tuple[tuple[str, tuple[Condition, ...]], ...] = ()  # (person, conditions), in order of mention
    asked_now: tuple[RuleMatch, ...] = ()  # cautions about what was asked ("request" rules, hypotheticals): this turn only
    turns: int = 0  # messages read

    def of(self, person: str) -> tuple[Condition, ...]:
        return next((conds for who, conds in self.conditions if who == person), ())

    def in_force(self) -> list[RuleMatch]:
        """The conditions in force for the person spoken of (a caution about what was just asked,
        such as pressing on the spine, is no condition of theirs: see asked_now)."""
        return [c.rule for c in self.of(self.person) if c.status == IN_FORCE]


@dataclass
class Conversation:
    """The state of a chat (or of a conversation in a batch file)."""

    state: State = field(default_factory=State)

    def clear(self) -> None:
        self.state = State()

    def in_force(self) -> set[str]:
        """The ids of the conditions in force now."""
        return {r.id for r in self.state.in_force()}

    def adopt(self, state: State) -> None:
        self.state = state

    # -- reading a new message ----------------------------------------------------------------
    def person_of(self, message: Message) -> str:
        """Who a message is about: the last person its question names, else the last it names at
        all, else the one spoken of before; a source of what is said ("mum says...") only when no
        one else is named or was spoken of."""
        if message.receives:
            return "self"
        asked = people_in(message.asked)
        told = people_in(message.text)
        if (message.corrects and self.state.person and not asked and message.asked != message.text
                and not speaks_of_someone_else(message.asked, self.state.person)
                and not (self.state.person == "self" and speaks_in_third_person(message.asked))):
            # "oh wait no its her sister whos allergic not her. so how much do i use": the condition moves
            # to the sister; the question is still about the one spoken of
            return self.state.person
        named = [p for p in asked if p != "self"] or asked or [p for p in told if p != "self"] or told
        if named:
            # someone named only as the source of what is said ("my aunt swears by it", "mum says i
            # should give him a rub") is not whom the message is about: another named is, or mid-
            # conversation the one spoken of before ("my wife says her back hurts" is the wife's)
            sources = sources_in(message.text) | givers_in(message.text)
            named = ([p for p in named if p not in sources]
                     or [p for p in told if p != "self" and p not in sources]  # "mum says i should give him a rub"
                     or ([] if self.state.person else named))
        pronoun_is = who_the_pronoun_can_be(message.asked)
        if named and pronoun_is and not pronoun_is & set(named):
            # "me mam wants us to give him a rub, is that safe at his age?": the one its pronoun can be
            named = [p for p in told if p in pronoun_is] or named
        elif len(set(named)) > 1:
            named = [p for p in named if p in pronoun_is] or named
        if not named and told and speaks_of_someone_else(message.asked, self.state.person):
            # "my nan also says her shoulders ache, how gentle should i be with her" while talking of a
            # grandad: the source speaks of herself
            named = [p for p in told if p in pronoun_is]
        if named:
            return named[-1]
        if speaks_of_someone_else(message.text, self.state.person):
            return "someone else"  # "she might be pregnant" while the talk was about a boyfriend
        return self.state.person

    def leans_on_topic(self, message: Message, states_condition: bool, config: Config) -> bool:
        """Whether a message is a short follow-up of the topic before ("and for how long?")."""
        words = len(message.text.split())
        return bool(self.state.topic.question) and words <= config.conversation_follow_up_max_words and (
            message.opens_like_follow_up
            or (words <= config.conversation_pronoun_max_words and not states_condition and message.has_pronoun
                and message.asks))  # "is it safe for her?"; "brb she's making tea" asks nothing

    def follow_up_of(self, message: Message, states_condition: bool, own_topic: bool, config: Config) -> str:
        """What a short follow-up takes from the topic ("" when it stands alone): the question
        before, without its area when the follow-up names another ("what about the lower back?"),
        or only the area when the follow-up asks something of its own ("and for how long?"). A
        follow-up naming an area after a question about no area asks about that area itself. A
        message bringing a new condition stands alone unless it opens like a follow-up."""
        topic = self.state.topic
        if not self.leans_on_topic(message, states_condition, config):
            # "how long for", "common mistakes?": too short to name what they are about; they keep the area
            words = len(message.text.split())
            if (topic.question and words <= config.conversation_short_max_words and message.asks
                    and not states_condition and not message.areas and not message.people):
                return topic.area
            return ""
        if message.areas:
            if own_topic or not topic.area:
                return ""
            area_words = set(topic.area.split())
            return " ".join(w for w in topic.question.split() if w.lower().strip("?!.,;:") not in area_words).strip()
        if own_topic:
            return topic.area
        return topic.question

    def next_state(self, message: Message, person: str, said: list[tuple[str, list[RuleMatch]]], recovered: bool,
                   withdraws: bool = False, taken_back: frozenset[str] = frozenset()) -> State:
        """The slots after this message: conditions stated, withdrawn or over, each for the person
        its sentence names (else the person the message is about). `said`: each sentence with the
        conditions it mentions. `withdraws`: the message takes back what was said last of the person
        ("took her temp again, it's normal"), beyond what its own mentions say. `taken_back`: the conditions
        a withdrawing sentence names ("the allergy test was clear"): taken back if held before, not said again.
        A condition sitting on a part of the body said not to be on another area ("his lower back where it's
        not burnt") is not taken back."""
        state = self.state
        turn = state.turns + 1
        if state.person == "" and person and not state.of(person):
            # the first person named is the one "she" meant before
            state = replace(state, conditions=tuple((person if who == "" else who, conds)
                                                    for who, conds in state.conditions))
        table = {who: {c.rule.id: c for c in conds} for who, conds in state.conditions}
        asked_now: list[RuleMatch] = []
        holders: set[str] = set()
        spared = False  # a condition said not to be on one area is still on the one it was said to be
        # "i" is the one typing only in a message about nobody else ("i read that massage cures
        # chronic pain" in a message about dad is about dad)
        others = [p for p in people_in(message.text) if p != "self"]
        for sentence, mentions in said:
            # ...not one it names only to deny ("its me with the nut allergy, not my friend")
            denied = denied_people(sentence)
            named = [p for p in people_in(sentence) if p not in denied]
            if not named and message.corrects and (moved := cleft_person(sentence)):
                named = [moved]
            if message.receives:
                # "i'm pregnant, can my husband give me a back rub": the husband gives it; what a clause says in
                # the third person ("but he has a fever now") is of someone else the message names
                giving = givers_to_typist(sentence)
                named = [p for p in named if p not in giving]
                if not named:
                    named = (others or ["self"]) if speaks_in_third_person(sentence) else ["self"]
            # "i have a fever" is about the one typing; "no fever, i checked" is not
            # ...and so is "a sharp pain in my lower back", whoever else the message names
            about_self = ((not others or names_own_body(sentence))
                          and people_in(sentence, first_person_is_self=True) == ["self"])
            for rule in mentions:
                holder = named[0] if named else ("self" if about_self and rule.status == IN_FORCE else person)
                if rule.scope == "request":
                    if rule.status in (IN_FORCE, "hypothetical"):
                        asked_now.append(rule)
                    continue
                if rule.status == "hypothetical":
                    asked_now.append(rule)  # "what if she had brittle bones?": warned about now, never held
                if withdraws and rule.explained_by and rule.status == IN_FORCE:
                    continue  # a sign named in taking something back is the harmless thing ("it was red paint")
                holders.add(holder)
                held = table.get(holder, {}).get(rule.id)
                here = areas_in(sentence) if rule.status == "negated" and rule.on_area else set()
                if (here and held is not None and held.status == IN_FORCE
                        and not here & areas_in(held.sentence or held.words)):
                    spared = True  # "his lower back where it's not burnt": not there, still where it was said to be
                    continue
                _apply(table.setdefault(holder, {}), rule, message.text, turn, sentence)
                if rule.status == IN_FORCE:
                    _withdraw_signs_explained(table[holder], rule.id, message.text, turn)
                if message.corrects and rule.status == IN_FORCE:
                    for who, conds in table.items():  # "it's my son who has the fever, not my husband"
                        if who != holder and rule.id in conds and conds[rule.id].status == IN_FORCE:
                            # what the corrected words said of that person goes with them ("back's bright
                            # red and peeling" held sunburn and swelling; "it's my brother who's sunburnt")
                            said_then = conds[rule.id].words
                            for rid, cond in list(conds.items()):
                                if cond.status == IN_FORCE and (rid == rule.id or cond.words == said_then):
                                    conds[rid] = Condition(cond.rule, "withdrawn", message.text, turn)
        moved_to = cleft_person(message.text) if message.corrects else ""
        if moved_to and state.person and moved_to != state.person and not any(mentions for _, mentions in said):
            # "oh sorry, it's dad who's had it for two years": what was said last of the one spoken of is the
            # named person's, not theirs
            _move_said_last(table.get(state.person, {}), table.setdefault(moved_to, {}), message.text, turn)
        if recovered and not any(m.status == IN_FORCE for _, mentions in said for m in mentions):
            for rid, cond in list(table.get(person, {}).items()):
                if cond.status == IN_FORCE and cond.rule.can_pass:
                    table[person][rid] = Condition(cond.rule, "past", message.text, turn)
        conds = table.get(person, {})
        # "he isn't" after "what if he was diabetic?" answers that question: nothing held is taken back
        answers_hypothetical = any(r.status == "hypothetical" for r in state.asked_now)
        if taken_back and not answers_hypothetical:
            before = {c.rule.id for c in state.of(person) if c.status == IN_FORCE}
            for rid, cond in list(conds.items()):
                if cond.turn == turn and cond.status == IN_FORCE and rid in taken_back and rid in before:
                    conds[rid] = Condition(cond.rule, "withdrawn", message.text, turn)
        if (withdraws and not answers_hypothetical and not spared
                and not any(c.turn == turn and c.status != IN_FORCE for c in conds.values())):
            # what the message takes back when its own words take back nothing: the conditions said of the
            # person last, of those it does not name ("xray's back, no break! doc says its just bruising": the fracture)
            last = max((c.turn for c in conds.values() if c.status == IN_FORCE and c.turn != turn), default=None)
            for rid, cond in list(conds.items()):
                if cond.status == IN_FORCE and cond.turn == last:
                    conds[rid] = Condition(cond.rule, "withdrawn", message.text, turn)
        if not person and holders == {"self"}:
            person = "self"  # "i react to loads of creams": a message naming no one, about the one typing
        return State(person, state.topic, tuple((who, tuple(conds.values())) for who, conds in table.items()),
                     tuple(asked_now), turn)

    @staticmethod
    def with_topic(state: State, question: str, intent: str, area: str) -> State:
        return replace(state, topic=Topic(question, intent, area))


def _withdraw_signs_explained(conditions: dict[str, Condition], rule_id: str, said: str, turn: int) -> None:
    """Signs held from before that a condition stated now explains were its signs ("a bit red after the
    beach" -> "it's sunburn"): taken back, the condition stays."""
    for rid, cond in list(conditions.items()):
        if cond.turn < turn and cond.status == IN_FORCE and rule_id in cond.rule.explained_by:
            conditions[rid] = Condition(cond.rule, "withdrawn", said, turn)


def _move_said_last(source: dict[str, Condition], target: dict[str, Condition], said: str, turn: int) -> None:
    """The conditions said last of one person are another's (a correction naming only the other)."""
    last = max((c.turn for c in source.values() if c.status == IN_FORCE), default=None)
    for rid, cond in list(source.items()):
        if cond.status == IN_FORCE and cond.turn == last:
            source[rid] = Condition(cond.rule, "withdrawn", said, turn)
            target[rid] = Condition(cond.rule, IN_FORCE, cond.words, turn, cond.sentence)


def _apply(conditions: dict[str, Condition], rule: RuleMatch, said: str, turn: int, sentence: str = "") -> None:
    """One mention's effect on someone's conditions."""
    before = conditions.get(rule.id)
    if rule.status == IN_FORCE:
        conditions[rule.id] = Condition(rule, IN_FORCE, said, turn, sentence)
    elif rule.status == "negated":
        was_held = before is not None and before.status == IN_FORCE
        conditions[rule.id] = Condition(rule, "withdrawn" if was_held else "negated", said, turn)
    elif rule.status == "past":
        conditions[rule.id] = Condition(rule, "past", said, turn)
    # hypothetical: warned about for this question, never held
