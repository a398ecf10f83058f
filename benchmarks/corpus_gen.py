"""A reproducible synthetic corpus of markdown guides, and generated questions, for the benchmarks.

Each guide is a markdown file: a `# Title`, sections (`## Heading` + one paragraph) and a
`## Frequently Asked Questions` part (`### Question?` + an answer paragraph). Every paragraph
stays under the index's 120-word passage limit, so one section or FAQ answer is one passage and
a corpus of N passages is N paragraphs (the index's manifest "passages" is the count to trust).

Words come from a Zipf distribution over a vocabulary whose most frequent ranks are the real
guides' words (corpus/*.txt, by frequency) followed by pronounceable pseudo-words, so the
vocabulary keeps growing with the corpus as real text does. Everything is drawn from one seed:
the same (size, seed) always writes the same files.

    python benchmarks/corpus_gen.py 10000 /tmp/bench-10k        # writes guides + ../questions
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GENERATOR_VERSION = 1
PSEUDO_WORDS = 300_000
ZIPF_EXPONENT = 1.05
PASSAGES_PER_GUIDE = (20, 60)
WORDS_PER_PARAGRAPH = (25, 95)
STAMP = ".generated.json"

QUESTION_TEMPLATES = (
    "how do I {a} the {b}?",
    "what is the best {a} for {b}?",
    "is it safe to use {a} on the {b}?",
    "how long should a {a} {b} last?",
    "can you {a} with {b} and {c}?",
    "why does my {a} feel {b} after a massage?",
    "what should I do about {a} in my {b}?",
    "{a} {b} {c}",
    "how often can I do {a} {b}?",
    "which {a} helps with {b} {c}?",
)


def real_words() -> list[str]:
    """The shipped guides' words, most frequent first (ties alphabetical)."""
    counts: Counter[str] = Counter()
    for path in sorted((ROOT / "corpus").glob("*.txt")):
        counts.update(re.findall(r"[a-z]+", path.read_text(encoding="utf-8").lower()))
    return sorted(counts, key=lambda w: (-counts[w], w))


def pseudo_words(n: int, rng: np.random.Generator, taken: set[str]) -> list[str]:
    """n distinct pronounceable lowercase words (consonant-vowel syllables) not already taken."""
    onsets = np.array(list("bcdfghjklmnprstvwz") + ["br", "ch", "cl", "dr", "fl", "gr", "pl", "sh", "st", "th", "tr"])
    vowels = np.array(["a", "e", "i", "o", "u", "ai", "ea", "ou"])
    codas = np.array(["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st"])
    out: list[str] = []
    seen = set(taken)
    while len(out) < n:
        batch = 4 * (n - len(out))
        syllables = rng.integers(2, 5, size=batch)
        parts = [onsets[rng.integers(0, len(onsets), size=(batch, 4))], vowels[rng.integers(0, len(vowels), size=(batch, 4))]]
        ends = codas[rng.integers(0, len(codas), size=batch)]
        for i in range(batch):
            word = "".join(parts[0][i, j] + parts[1][i, j] for j in range(syllables[i])) + ends[i]
            if word not in seen:
                seen.add(word)
                out.append(word)
                if len(out) == n:
                    break
    return out


class Vocabulary:
    """Zipf-distributed words: rank r has weight 1 / r**s."""

    def __init__(self, rng: np.random.Generator):
        real = real_words()
        self.words = np.array(real + pseudo_words(PSEUDO_WORDS, rng, set(real)), dtype=object)
        weights = 1.0 / np.arange(1, len(self.words) + 1) ** ZIPF_EXPONENT
        self.cdf = np.cumsum(weights) / weights.sum()
        # content words for headings and questions: past the function words, not too rare
        self.content = self.words[60:20_000]

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.words[np.minimum(np.searchsorted(self.cdf, rng.random(n)), len(self.words) - 1)]

    def content_words(self, rng: np.random.Generator, n: int) -> list[str]:
        ranks = np.minimum((rng.pareto(0.8, n) * 40).astype(int), len(self.content) - 1)
        return [str(w) for w in self.content[ranks]]


def sentence(words: list[str], end: str = ".") -> str:
    text = " ".join(words)
    return text[:1].upper() + text[1:] + end


def paragraph(vocab: Vocabulary, rng: np.random.Generator) -> str:
    """One line of 2-6 sentences, WORDS_PER_PARAGRAPH words in all."""
    total = int(rng.integers(*WORDS_PER_PARAGRAPH))
    words = [str(w) for w in vocab.draw(rng, total)]
    cuts = sorted(set(int(c) for c in rng.integers(6, max(7, total - 5), size=int(rng.integers(1, 6)))))
    pieces = [words[a:b] for a, b in zip([0] + cuts, cuts + [total]) if b > a]
    return " ".join(sentence(p) for p in pieces)


def heading(vocab: Vocabulary, rng: np.random.Generator) -> str:
    return " ".join(w.capitalize() for w in vocab.content_words(rng, int(rng.integers(2, 6))))


def faq_question(vocab: Vocabulary, rng: np.random.Generator) -> str:
    a, b, c = vocab.content_words(rng, 3)
    template = QUESTION_TEMPLATES[int(rng.integers(0, len(QUESTION_TEMPLATES) - 1))]  # not the bare-words one
    return sentence(template.format(a=a, b=b, c=c).rstrip("?").split(), "?")


def guide(vocab: Vocabulary, rng: np.random.Generator, passages: int) -> str:
    """Markdown of one guide with `passages` paragraphs: about 3/4 sections, 1/4 FAQ answers."""
    faqs = passages // 4
    lines = [f"# {heading(vocab, rng)} Guide", "", paragraph(vocab, rng), ""]
    for _ in range(passages - faqs - 1):
        lines += [f"## {heading(vocab, rng)}", "", paragraph(vocab, rng), ""]
    if faqs:
        lines += ["## Frequently Asked Questions", ""]
        for _ in range(faqs):
            lines += [f"### {faq_question(vocab, rng)}", "", paragraph(vocab, rng), ""]
    return "\n".join(lines)


def questions(vocab: Vocabulary, rng: np.random.Generator, n: int, typo_share: float = 0.05) -> list[str]:
    """n questions from the templates with content words; a few carry one typo (letters swapped)."""
    out = []
    for _ in range(n):
        a, b, c = vocab.content_words(rng, 3)
        q = QUESTION_TEMPLATES[int(rng.integers(0, len(QUESTION_TEMPLATES)))].format(a=a, b=b, c=c)
        if rng.random() < typo_share:
            words = q.split()
            i = int(np.argmax([len(w) for w in words]))
            w = words[i]
            if len(w) > 4:
                j = int(rng.integers(1, len(w) - 2))
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            q = " ".join(words)
        out.append(q)
    return out


def generate(passages: int, folder: Path, seed: int = 7, n_questions: int = 1000) -> dict:
    """Write about `passages` passages of guides into folder (reused when already generated with
    the same parameters) and n_questions questions into folder/../<name>-questions.txt."""
    folder = Path(folder)
    params = {"version": GENERATOR_VERSION, "passages": passages, "seed": seed, "questions": n_questions}
    question_file = folder.parent / f"{folder.name}-questions.txt"
    stamp = folder / STAMP
    if stamp.is_file() and question_file.is_file() and json.loads(stamp.read_text()).get("params") == params:
        return json.loads(stamp.read_text())
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    vocab = Vocabulary(rng)
    written, files, size = 0, 0, 0
    while written < passages:
        n = min(int(rng.integers(*PASSAGES_PER_GUIDE)), passages - written)
        text = guide(vocab, rng, max(n, 1))
        (folder / f"guide-{files:06d}.md").write_text(text, encoding="utf-8")
        written += max(n, 1)
        files += 1
        size += len(text.encode("utf-8"))
    question_file.write_text("\n".join(questions(vocab, np.random.default_rng(seed + 1), n_questions)) + "\n",
                             encoding="utf-8")
    info = {"params": params, "guides": files, "paragraphs": written, "bytes": size,
            "questions_file": str(question_file)}
    stamp.write_text(json.dumps(info))
    return info


if __name__ == "__main__":
    print(json.dumps(generate(int(sys.argv[1]), Path(sys.argv[2]), *(int(a) for a in sys.argv[3:])), indent=1))
