"""Evaluation on labelled conversations (corpus/dialogues*.jsonl): each conversation is asked turn
by turn in one Conversation, and every turn is scored on its route, the person it is about (turns
labelled with one), the conditions in force for that person, and whether a relevant passage is in
the top five.

Set format: JSON Lines of {"id", "turns": [{"text", "route", "intent", "person", "conditions": [rule
ids], "topic": {...}, "evidence": [{"quote", "guide"}]}]}. Split tune/held by conversation id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.conversation import Conversation
from assistant.evaluate import Labelled, QuestionSetError, labelled_lines, locate_quote, relevant_passages
from assistant.message import people_in
from assistant.pipeline import Assistant
from assistant.router import tune_half


def _person(label: str) -> str:
    """A labelled person by the name the assistant gives them ("roommate" is a flatmate, "gran" a nan:
    the people lexicon's canonical names), so that a label's wording is not scored as a mistake."""
    named = people_in(f"my {label}")  # "my": a bare "mate" would be read as said to the reader
    return named[0] if len(named) == 1 else label


@dataclass(frozen=True)
class Turn:
    text: str
    route: str
    intent: str
    person: str
    conditions: frozenset[str]
    evidence: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: tuple[Turn, ...]

    @property
    def split(self) -> str:
        return "tune" if tune_half(self.id) else "held"


def load_dialogues(path: Path, corpus_dir: Path) -> list[Dialogue]:
    """The labelled conversations of a file, every quote located in the guides (or one error listing the problems)."""
    guides, lines = labelled_lines(path, corpus_dir)
    out, problems = [], []
    for n, line in lines:
        try:
            raw = json.loads(line)
            turns = []
            for t in raw["turns"]:
                evidence = []
                for ev in t.get("evidence") or []:
                    found = locate_quote(str(ev["quote"]), guides, ev.get("guide"))
                    if found is None:
                        problems.append(f"line {n}: quote not found in the guides: {str(ev['quote'])[:60]!r}")
                    else:
                        evidence.append(found)
                turns.append(Turn(str(t["text"]), str(t["route"]), str(t.get("intent", "")), _person(str(t.get("person", ""))),
                                  frozenset(t.get("conditions") or ()), tuple(evidence)))
            out.append(Dialogue(str(raw["id"]), tuple(turns)))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"line {n}: not a conversation ({exc})")
    if problems:
        raise QuestionSetError(f"{path}: {len(problems)} problem(s); first: {problems[0]}")
    if not out:
        raise QuestionSetError(f"{path}: no conversations")
    return out


def evaluate_dialogues(assistant: Assistant, dialogues: list[Dialogue]) -> dict:
    """Per-turn route accuracy, conditions exactly right, and a relevant passage in the top five."""
    turns = route_ok = conditions_ok = top5 = with_evidence = with_person = person_ok = 0
    misses: list[dict] = []
    for dialogue in dialogues:
        conversation = Conversation()
        for i, turn in enumerate(dialogue.turns):
            answer = assistant.ask(turn.text, conversation)
            # a caution about what the turn asks (pressing on the spine) counts on that turn, as labelled
            held = frozenset(conversation.in_force()) | {r.id for r in conversation.state.asked_now}
            turns += 1
            route_ok += answer.route.route == turn.route
            conditions_ok += held == turn.conditions
            if turn.person:
                with_person += 1
                person_ok += conversation.state.person == turn.person
            found = False
            if turn.evidence:
                with_evidence += 1
                relevant = relevant_passages(assistant, Labelled(f"{dialogue.id}/{i}", turn.text, turn.intent,
                                                                 bool(turn.conditions), list(turn.evidence)))
                found = any(h.passage.id in relevant for h in answer.hits[:5])
                top5 += found
            if answer.route.route != turn.route or held != turn.conditions or (turn.evidence and not found):
                misses.append({"dialogue": dialogue.id, "turn": i + 1, "text": turn.text,
                               "route": [turn.route, answer.route.route],
                               "conditions": [sorted(turn.conditions), sorted(held)],
                               "top5_relevant": found if turn.evidence else None})
    return {"conversations": len(dialogues), "turns": turns,
            "route_accuracy": route_ok / max(1, turns), "conditions_exact": conditions_ok / max(1, turns),
            # None when no turn quotes its evidence (a set labelled for routes and conditions only)
            "top5_relevant": top5 / with_evidence if with_evidence else None,
            "person_accuracy": person_ok / max(1, with_person),
            "misses": misses}


def format_dialogue_report(r: dict, title: str) -> str:
    return "\n".join([
        f"== {title}: {r['conversations']} conversations, {r['turns']} turns",
        f"Turns          route accuracy {r['route_accuracy']:.3f}   conditions exactly right {r['conditions_exact']:.3f}"
        + (f"   relevant passage in top 5 {r['top5_relevant']:.3f}" if r['top5_relevant'] is not None else "")
        + f"   person {r['person_accuracy']:.3f}",
    ])
