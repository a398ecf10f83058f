"""Collects the intent model's examples from the labelled sets (data/router-examples.json).

    python -m assistant.fit_router

People's own wording of each intent, learned from beside data/intents.toml's examples: the tune
halves of the shipped labelled question sets, and the tune halves' conversation turns long enough
to stand alone (a turn of at most conversation.follow_up_max_words words may be read as a follow-up
such as "what about her neck?", whose intent is the topic's, not its words'). An example worded
like a held question or turn of any set (difflib ratio >= PARAPHRASE on its words) is left out:
the held halves would measure memory, not routing. The index build reads the file.
"""

from __future__ import annotations

import argparse
import difflib
import json
from pathlib import Path

from assistant.config import load_config
from assistant.corpus import shipped_corpus_dir
from assistant.router import EXAMPLES_FILE, LABELLED_DIALOGUES, LABELLED_SETS, load_intents, tune_half
from assistant.text import words

PARAPHRASE = 0.82  # the ratio the intents.toml examples are kept under too (tests/test_router.py)


def labelled_rows(corpus_dir: Path, follow_up_max_words: int) -> tuple[list[tuple[str, str]], list[str]]:
    """(text, intent) of the tune halves, and the texts of the held halves."""
    tune, held = [], []
    for name in LABELLED_SETS:
        for line in (corpus_dir / name).read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if tune_half(str(row["id"])):
                    tune.append((str(row["question"]), str(row["intent"])))
                else:
                    held.append(str(row["question"]))
    for path in (corpus_dir / name for name in sorted(LABELLED_DIALOGUES)):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if tune_half(str(row["id"])):
                    tune += [(str(t["text"]), str(t["intent"])) for t in row["turns"]
                             if t.get("intent") and len(str(t["text"]).split()) > follow_up_max_words]
                else:
                    held += [str(t["text"]) for t in row["turns"]]
    return tune, held


def worded_like(text: str, matchers: list[difflib.SequenceMatcher]) -> bool:
    """Whether a text is a paraphrase of one of the texts the matchers hold (their second sequence)."""
    mine = " ".join(words(text))
    for matcher in matchers:
        matcher.set_seq1(mine)
        # real_quick_ratio and quick_ratio bound ratio from above: most pairs are ruled out cheaply
        if (matcher.real_quick_ratio() >= PARAPHRASE and matcher.quick_ratio() >= PARAPHRASE
                and matcher.ratio() >= PARAPHRASE):
            return True
    return False


def matchers_of(texts: list[str]) -> list[difflib.SequenceMatcher]:
    return [difflib.SequenceMatcher(None, "", " ".join(words(t))) for t in texts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / EXAMPLES_FILE)
    args = parser.parse_args(argv)
    intents = load_intents()
    tune, held = labelled_rows(shipped_corpus_dir(), load_config().conversation_follow_up_max_words)
    unknown = sorted({intent for _, intent in tune if intent not in intents})
    if unknown:
        parser.error(f"labelled with intents data/intents.toml does not have: {', '.join(unknown)}")
    matchers = matchers_of(held)
    kept = [pair for pair in dict.fromkeys(tune) if not worded_like(pair[0], matchers)]
    doc = {"about": "Examples of the intents in people's own words, for the intent model beside data/intents.toml's: "
                    "the tune halves of the labelled sets (conversation turns long enough to stand alone), without "
                    "paraphrases of any held question or turn. Written by assistant/fit_router.py.",
           "left_out_as_paraphrases": len(dict.fromkeys(tune)) - len(kept),
           "examples": [list(pair) for pair in kept]}
    args.out.write_text(json.dumps(doc, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(kept)} examples ({doc['left_out_as_paraphrases']} left out as paraphrases of held ones); wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
