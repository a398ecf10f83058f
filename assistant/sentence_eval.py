"""Answer quality against hand-labelled sentences (corpus/sentence-labels.jsonl): for each question,
the guide sentences that belong in a good answer ("acceptable") and the 1-4 it must contain ("key").

A sentence of an answer counts as a labelled one when it is that sentence, or says the same thing
in another guide: at least `SAME_THING` of the content words (analysed terms) of the shorter of
the two are in the other. Measures: sentence precision (answer sentences that are acceptable),
key recall, first sentence acceptable, sentences per answer.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from assistant.text import Analyzer

SAME_THING = 0.8  # share of the shorter sentence's content words the other must have


@dataclass(frozen=True)
class SentenceLabels:
    id: str
    question: str
    acceptable: tuple[str, ...]
    key: tuple[str, ...]


def load_sentence_labels(path: Path) -> dict[str, SentenceLabels]:
    """Labels by question id (a missing file gives none)."""
    if not Path(path).is_file():
        return {}
    out = {}
    for line in Path(path).read_text("utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            out[raw["id"]] = SentenceLabels(raw["id"], raw["question"], tuple(raw["acceptable"]), tuple(raw["key"]))
    return out


class SentenceJudge:
    """Compares answer sentences with labelled ones, exactly or by content words."""

    def __init__(self, analyzer: Analyzer):
        self.analyzer = analyzer
        self._terms: dict[str, frozenset[str]] = {}

    def terms(self, text: str) -> frozenset[str]:
        if text not in self._terms:
            self._terms[text] = frozenset(self.analyzer.terms(text))
        return self._terms[text]

    def same(self, a: str, b: str) -> bool:
        if a == b:
            return True
        ta, tb = self.terms(a), self.terms(b)
        shorter = min(len(ta), len(tb))
        return shorter > 0 and len(ta & tb) / shorter >= SAME_THING

    def among(self, sentence: str, labelled: tuple[str, ...]) -> bool:
        return any(self.same(sentence, other) for other in labelled)


def judge_answers(judge: SentenceJudge, answers: dict[str, Sequence[str]], labels: dict[str, SentenceLabels]) -> dict:
    """Sentence precision, key recall, first sentence acceptable and sentences per answer over the
    questions that have labels and an answer made of guide sentences (each answer: its sentences'
    texts, in order); with per-question details."""
    shown = good = keys = found = firsts = first_ok = 0
    lengths, details = [], {}
    for qid, sentences in answers.items():
        label = labels.get(qid)
        if label is None or not label.acceptable:
            continue
        body = list(sentences)
        off_topic = [s for s in body if not judge.among(s, label.acceptable)]
        missed = [k for k in label.key if not any(judge.same(s, k) for s in body)]
        shown += len(body)
        good += len(body) - len(off_topic)
        keys += len(label.key)
        found += len(label.key) - len(missed)
        if body:
            firsts += 1
            first_ok += body[0] not in off_topic
            lengths.append(len(body))
        details[qid] = {"off_topic": off_topic, "missed_keys": missed}
    return {"sentence_precision": good / max(1, shown), "key_recall": found / max(1, keys),
            "first_acceptable": first_ok / max(1, firsts), "sentences_per_answer": statistics.mean(lengths) if lengths else 0.0,
            "questions": len(details), "details": details}


class AnswerFileError(Exception):
    """An answers file that cannot be scored, with the first problem found."""


def load_answer_file(path: Path, labels: dict[str, SentenceLabels]) -> dict[str, list[str]]:
    """Answers written elsewhere (by hand, by another system) to score against the labels: JSON Lines of
    {"id": a labelled question's id, "answer": [sentence, ...]}."""
    answers: dict[str, list[str]] = {}
    try:
        lines = Path(path).read_text("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AnswerFileError(f"{path}: cannot read it ({exc.__class__.__name__})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise AnswerFileError(f"{path}:{n}: not JSON") from None
        if not isinstance(row, dict) or not isinstance(row.get("answer"), list) or not all(
                isinstance(x, str) for x in row["answer"]):
            raise AnswerFileError(f'{path}:{n}: expected {{"id": ..., "answer": [sentence, ...]}}')
        qid = str(row.get("id"))
        if qid not in labels:
            raise AnswerFileError(f"{path}:{n}: no sentence labels for question {qid!r}")
        if qid in answers:
            raise AnswerFileError(f"{path}:{n}: question {qid!r} answered twice")
        answers[qid] = row["answer"]
    if not answers:
        raise AnswerFileError(f"{path}: no answers in it")
    return answers
