"""The intent model: which kind of question this is (oil_choice, frequency, ... out_of_scope, smalltalk).

Fitted with scikit-learn at index build time (TF-IDF over word and character n-grams into a
multinomial LogisticRegression) on data/intents.toml; its arrays are stored with the index and
applied here with numpy, so answering a question never imports scikit-learn and nothing is pickled.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from assistant.text import Analyzer

INTENTS_FILE = "intents.toml"


ROLES = ("not_covered", "small_talk", "safety_question", "vague")


@dataclass(frozen=True)
class Sense:
    """One of the questions an intent covers ("posture": the giver's stance or the receiver's
    posture): the question patterns that pick it and the passage patterns that answer it."""

    name: str
    question: tuple[re.Pattern, ...]
    passages: tuple[re.Pattern, ...]

    def asked_in(self, question: str) -> bool:
        return any(p.search(question) for p in self.question)

    def answered_by(self, text: str) -> bool:
        return any(p.search(text) for p in self.passages)


@dataclass(frozen=True)
class IntentSpec:
    """An intent's training examples, the sections it boosts, its answer cue words, the values
    its answers quote, patterns that decide it outright (out_of_scope only: in what is asked, or of
    the person massaged wherever said), its senses, its role
    and (small talk) its examples grouped by reply."""

    name: str
    examples: tuple[str, ...]
    sections: tuple[re.Pattern, ...] = ()
    cues: tuple[str, ...] = ()
    values: tuple[re.Pattern, ...] = ()
    patterns: tuple[re.Pattern, ...] = ()
    senses: tuple[Sense, ...] = ()
    role: str = ""
    asks_to_avoid: re.Pattern | None = None  # its asks_to_avoid phrases as whole words
    replies: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # (out_of_scope only) what a message says of the person massaged that puts it outside the guides
    # (a child's age, a baby, drink, a period), wherever it says it; `patterns` count in what is asked
    person_patterns: tuple[re.Pattern, ...] = ()
    child_patterns: tuple[re.Pattern, ...] = ()  # a baby or a young child (see named_out_of_scope)

    def sense_of(self, question: str) -> Sense | None:
        """The first sense the question's words pick, if any."""
        return next((s for s in self.senses if s.asked_in(question)), None)

    def asks_to_avoid_in(self, question: str) -> bool:
        return self.asks_to_avoid is not None and bool(self.asks_to_avoid.search(question))


def phrases_pattern(phrases: list[str] | tuple[str, ...]) -> re.Pattern | None:
    """Any of the phrases as whole words, case-insensitively (None for no phrases)."""
    if not phrases:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases) + r")\b", re.IGNORECASE)


class Intents(dict):
    """The intents of data/intents.toml by name, with the ones holding each role."""

    def role(self, role: str) -> str:
        """The name of the intent with this role ("" when none has it)."""
        return next((name for name, spec in self.items() if spec.role == role), "")

    def has_role(self, name: str, *roles: str) -> bool:
        spec = self.get(name)
        return bool(spec) and spec.role in roles


def load_intents() -> Intents:
    from assistant.datafiles import DataFileError, load

    intents = Intents()
    for name, spec in load(INTENTS_FILE).items():
        role = spec.get("role", "")
        if role and role not in ROLES:
            raise DataFileError(f"{INTENTS_FILE}: {name}.role: {role!r} is not one of {', '.join(ROLES)}")
        if role and any(other.role == role for other in intents.values()):
            raise DataFileError(f"{INTENTS_FILE}: {name}.role: another intent already has role {role!r}")
        taught = tuple((kind, tuple(examples)) for kind, examples in spec.get("replies", {}).items())
        # reply_variants: more ways to say each, used to pick the reply only (the intent model is not taught them)
        variants = spec.get("reply_variants", {})
        if set(variants) - {kind for kind, _ in taught}:
            raise DataFileError(f"{INTENTS_FILE}: {name}.reply_variants: {sorted(set(variants) - {k for k, _ in taught})} "
                                f"are not replies of {name}.replies")
        replies = tuple((kind, examples + tuple(variants.get(kind, ()))) for kind, examples in taught)
        intents[name] = IntentSpec(
            name, tuple(spec.get("examples", ())) + tuple(e for _, examples in taught for e in examples),
            tuple(spec.get("sections", ())), tuple(spec.get("cues", ())), tuple(spec.get("values", ())),
            tuple(spec.get("patterns", ())),
            tuple(Sense(sense, tuple(s.get("question", ())), tuple(s.get("passages", ())))
                  for sense, s in spec.get("senses", {}).items()),
            role, phrases_pattern(spec.get("asks_to_avoid", ())), replies, tuple(spec.get("person_patterns", ())),
            tuple(spec.get("child_patterns", ())))
    return intents


LABELLED_SETS = ("questions.jsonl", "questions-second.jsonl", "questions-lay.jsonl", "questions-lay2.jsonl",
                 "questions-lay3.jsonl")  # in the shipped corpus
# the conversations whose tune halves teach the intent model and the withdrawal decision; the sets
# not named here (questions-typos, questions-duration, dialogues-seventh to -tenth) are evaluated only
LABELLED_DIALOGUES = ("dialogues.jsonl", "dialogues-extra.jsonl", "dialogues-third.jsonl", "dialogues-fourth.jsonl",
                      "dialogues-fifth.jsonl", "dialogues-sixth.jsonl")


EXAMPLES_FILE = "router-examples.json"  # examples in people's own words (assistant/fit_router.py)


def labelled_examples(intents: Intents) -> list[tuple[str, str]]:
    """(text, intent) pairs the intent model learns from beside data/intents.toml's examples: the
    labelled sets' tune halves (data/router-examples.json; none when it is missing). An intent
    data/intents.toml does not have, or a malformed pair, is a DataFileError."""
    import json

    from assistant.datafiles import DATA_DIR, DataFileError

    path = DATA_DIR / EXAMPLES_FILE
    if not path.is_file():
        return []
    try:
        examples = json.loads(path.read_text("utf-8"))["examples"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DataFileError(f"{EXAMPLES_FILE}: not an examples file ({exc}); rewrite it with python -m assistant.fit_router") from None
    out = []
    for n, pair in enumerate(examples, start=1):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise DataFileError(f"{EXAMPLES_FILE}: example {n} should be [text, intent]")
        if pair[1] not in intents:
            raise DataFileError(f"{EXAMPLES_FILE}: example {n}: unknown intent {pair[1]!r}")
        out.append((pair[0], pair[1]))
    return out


def tune_half(question_id: str) -> bool:
    """The half of a labelled set that may be learned from (the held half is only measured);
    the same split as `massage-qa eval`."""
    import hashlib

    return int(hashlib.sha256(question_id.encode()).hexdigest(), 16) % 2 == 0


def features(analyzer: Analyzer, text: str) -> list[str]:
    """Word unigrams and bigrams of the analysed terms, and character 3-5-grams of each word."""
    canonical = analyzer.canonical_words(text)
    return _term_features(analyzer.terms_of(canonical)) + [f for word in canonical for f in _char_grams(word)]


def _term_features(terms: list[str]) -> list[str]:
    return [f"w:{t}" for t in terms] + [f"b:{a} {b}" for a, b in zip(terms, terms[1:])]


def _char_grams(word: str) -> list[str]:
    padded = f" {word} "
    return [f"c:{padded[i:i + n]}" for n in (3, 4, 5) for i in range(max(1, len(padded) - n + 1))]


class IntentRouter:
    """Predicts an intent with a probability; `fit` needs scikit-learn, `predict` only numpy."""

    def __init__(self, C: float = 10.0):
        self.C = C

    def fit(self, analyzer: Analyzer, texts: list[str], labels: list[str]) -> "IntentRouter":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        vectorizer = TfidfVectorizer(analyzer=lambda t: features(analyzer, t), sublinear_tf=True, norm="l2")
        X = vectorizer.fit_transform(texts)
        model = LogisticRegression(C=self.C, solver="newton-cg", max_iter=5000).fit(X, labels)
        self.vocabulary_ = {f: int(i) for f, i in vectorizer.vocabulary_.items()}
        self.idf_ = vectorizer.idf_
        self.coef_ = model.coef_
        self.intercept_ = model.intercept_
        self.classes_ = [str(c) for c in model.classes_]
        self.analyzer_ = analyzer
        return self

    @classmethod
    def from_arrays(cls, analyzer: Analyzer, vocabulary: dict[str, int], classes: list[str],
                    idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray, C: float) -> "IntentRouter":
        router = cls(C=C)
        router.vocabulary_, router.classes_ = vocabulary, classes
        router.idf_, router.coef_, router.intercept_ = idf, coef, intercept
        router.analyzer_ = analyzer
        return router

    def vectors(self, texts: list[str], workers: int = 1):
        """Many texts as the rows of a sparse matrix in the model's feature space (unit rows; at
        build time, the texts split over the workers, each handing back its rows as three arrays)."""
        from scipy import sparse

        from assistant.parallel import map_chunks
        from assistant.retrieval import Columns

        def vectorise(chunk: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            grams: dict[str, list[int]] = {}  # a word's character n-grams, looked up once for the chunk
            made = [self.vector(text, grams) if text else (np.zeros(0, np.int64), np.zeros(0)) for text in chunk]
            lengths = np.fromiter((len(ids) for ids, _ in made), dtype=np.int64, count=len(made))
            return (lengths, np.concatenate([ids for ids, _ in made] or [np.zeros(0, np.int64)]),
                    np.concatenate([weights for _, weights in made] or [np.zeros(0)]))

        parts = map_chunks(vectorise, texts, workers)
        rows = np.repeat(np.arange(len(texts)), np.concatenate([lengths for lengths, _, _ in parts]))
        cols = np.concatenate([ids for _, ids, _ in parts])
        vals = np.concatenate([weights for _, _, weights in parts])
        return Columns.of(sparse.csc_matrix((vals, (rows, cols)), shape=(len(texts), len(self.vocabulary_))))

    def vector(self, text: str, grams: dict[str, list[int]] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A text in the model's TF-IDF feature space, as (feature ids, unit-length weights).
        `grams`: each word's character n-gram ids, kept across the texts of one call (the build's
        200,000 FAQ questions at a million passages share most of their words)."""
        counts = Counter(self._feature_ids(text, {} if grams is None else grams))  # in first-seen order
        ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        x = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf_[ids]
        norm = np.sqrt(np.sum(x ** 2))
        return ids, (x / norm if norm > 0 else x)

    def _feature_ids(self, text: str, grams: dict[str, list[int]]) -> list[int]:
        """The ids of features(text) that the model knows, in the order features gives them."""
        canonical = self.analyzer_.canonical_words(text)
        vocabulary = self.vocabulary_
        ids = [i for f in _term_features(self.analyzer_.terms_of(canonical)) if (i := vocabulary.get(f)) is not None]
        for word in canonical:
            known = grams.get(word)
            if known is None:
                known = grams[word] = [i for f in _char_grams(word) if (i := vocabulary.get(f)) is not None]
            ids += known
        return ids

    def probabilities(self, text: str) -> np.ndarray:
        """What the fitted pipeline's predict_proba gives for one text."""
        ids, x = self.vector(text)
        logits = self.intercept_.copy()
        if ids.size:
            logits = logits + self.coef_[:, ids] @ x
        logits -= logits.max()
        probs = np.exp(logits)
        return probs / probs.sum()

    def predict(self, text: str) -> tuple[str, float]:
        intent, confidence, _ = self.predict_with(text)
        return intent, confidence

    def predict_with(self, text: str, *others: str, also: str = "") -> tuple[str, float, tuple[float, ...]]:
        """The best intent, its probability, and the probability of each of `others` (from one pass;
        0 for an intent the model does not have). With `also` (a part of the text), the mean of the
        probabilities of both."""
        probs = self.probabilities(text)
        if also and also != text:
            # which of the guides' topics: read from the whole text and from the part that asks; whether
            # a topic of theirs at all (`others`): from the whole text, the story included
            kept = [self.classes_.index(o) for o in others if o in self.classes_]
            rest = np.ones(len(probs), dtype=bool)
            rest[kept] = False
            mixed = (probs + self.probabilities(also)) / 2
            share = probs[rest].sum()
            probs = probs.copy()
            probs[rest] = mixed[rest] / max(mixed[rest].sum(), 1e-12) * share
        best = int(np.argmax(probs))
        return self.classes_[best], float(probs[best]), tuple(
            float(probs[self.classes_.index(o)]) if o in self.classes_ else 0.0 for o in others)
