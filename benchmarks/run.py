"""Benchmarks (`make bench`): query latency of our retrievers against rank_bm25 in the same run,
on the real corpus and on a synthetic 20k-passage corpus, and the cold start of `massage-qa ask`.

Medians of repeated runs; ratios are against the baseline measured in the same process, because
the machines are shared and noisy. Prints a Markdown table.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import load_config  # noqa: E402
from assistant.index import index_text, open_index  # noqa: E402
from assistant.retrieval import Bm25Retriever  # noqa: E402

QUERIES = ["what oil should I use", "how often should I give a back massage", "knots in the shoulders",
           "is it safe when pregnant", "how long should a massage last", "drink water after a massage"]


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def real_corpus(rows: list) -> None:
    from rank_bm25 import BM25Okapi

    index, _, _ = open_index(ROOT / "corpus", None, load_config())
    docs = [index.analyzer.terms(index_text(p)) for p in index.passages]
    reference = BM25Okapi(docs)
    terms = [index.analyzer.terms(q) for q in QUERIES]
    ids = [index.query_ids(q) for q in QUERIES]
    base = median_ms(lambda: [reference.get_scores(t) for t in terms], 200) / len(QUERIES)
    ours = median_ms(lambda: [index.bm25.scores(i) for i in ids], 200) / len(QUERIES)
    hybrid = median_ms(lambda: [index.search(q) for q in QUERIES], 200) / len(QUERIES)
    n = len(index.passages)
    rows.append((f"real corpus ({n} passages)", "rank_bm25 get_scores", base, 1.0))
    rows.append((f"real corpus ({n} passages)", "our BM25 scores", ours, ours / base))
    rows.append((f"real corpus ({n} passages)", "hybrid search incl. analysis, top 10", hybrid, hybrid / base))


def synthetic(rows: list, passages: int = 20000) -> None:
    from rank_bm25 import BM25Okapi

    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(20000)]
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    docs = [list(rng.choice(vocab, size=int(rng.integers(30, 90)), p=weights)) for _ in range(passages)]
    vocabulary = {t: i for i, t in enumerate(sorted({t for d in docs for t in d}))}
    ours = Bm25Retriever().fit(docs, vocabulary)
    reference = BM25Okapi(docs)
    queries = [list(rng.choice(vocab[:2000], size=5)) for _ in range(20)]
    ids = [[vocabulary[t] for t in q if t in vocabulary] for q in queries]
    base = median_ms(lambda: [reference.get_scores(q) for q in queries], 5) / len(queries)
    fast = median_ms(lambda: [ours.scores(i) for i in ids], 20) / len(queries)
    rows.append((f"synthetic Zipf ({passages} passages)", "rank_bm25 get_scores", base, 1.0))
    rows.append((f"synthetic Zipf ({passages} passages)", "our BM25 scores", fast, fast / base))


def cold_start(rows: list) -> None:
    exe = [sys.executable, "-m", "assistant"]
    subprocess.run(exe + ["index"], capture_output=True, cwd=ROOT)
    bare = median_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], capture_output=True), 5)
    ask = median_ms(lambda: subprocess.run(exe + ["ask", "what oil should I use?"], capture_output=True, cwd=ROOT), 5)
    # typos and words the guides lack are in most real questions
    typo = median_ms(lambda: subprocess.run(exe + ["ask", "what oyl shud i use on her bak"], capture_output=True, cwd=ROOT), 5)
    rows.append(("process start", "python -c pass", bare, 1.0))
    rows.append(("process start", "massage-qa ask (cold process)", ask, ask / bare))
    rows.append(("process start", "massage-qa ask with typos (cold process)", typo, typo / bare))


def main() -> int:
    rows: list = []
    real_corpus(rows)
    synthetic(rows)
    cold_start(rows)
    print("| setting | what | median ms | time / baseline |")
    print("|---|---|---|---|")
    for setting, what, ms, ratio in rows:
        print(f"| {setting} | {what} | {ms:.3f} | {ratio:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
