"""Measurements on one built index, run in a fresh process by benchmarks/run.py.

    python benchmarks/worker.py STAGE CORPUS INDEX_DIR QUESTIONS OUT.jsonl BUDGET_S

STAGE is one of:
  serve    load time (Assistant.open), search p50/p95 per mode (index.search(q, mode, 10)),
           the first ask, ask p50/p95 and batch throughput (assistant.ask over the questions)
  peers    BM25 against rank_bm25, bm25s (numpy, numba) and tantivy on the same tokens and
           queries: fit time, top-10 p50/p95, ratios to ours; our scores vs rank_bm25's
  profile  pyinstrument (else cProfile) of the first ask and of 50 warm asks

Each finished measurement is appended to OUT.jsonl at once, so a stage killed for its time
still leaves what it finished. A loop stops early when BUDGET_S would be exceeded, and says how
many questions it got through.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


class Out:
    def __init__(self, path: Path):
        self.path = path

    def __call__(self, kind: str, **data) -> None:
        data["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with self.path.open("a") as f:
            f.write(json.dumps({"kind": kind, **data}) + "\n")


def percentiles(ms: list[float]) -> dict:
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_ms": float(np.mean(ms))}


def timed_loop(fn, items: list, budget: float, repeats: int = 1) -> tuple[list[float], bool]:
    """Per-item ms (median of `repeats` runs) until the items or the budget run out."""
    started = time.perf_counter()
    out: list[float] = []
    for item in items:
        runs = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn(item)
            runs.append((time.perf_counter() - t) * 1000)
        out.append(statistics.median(runs))
        if time.perf_counter() - started > budget:
            return out, True
    return out, False


def open_assistant(corpus: Path, index_dir: Path, out: Out):
    """Assistant.open on the built index, timed. Other engineers edit the data files while a run
    goes on, which makes the index stale, and Assistant.open would then rebuild it (for a large
    corpus, longer than the budget). So when the manifest's fingerprint no longer matches, the index
    is loaded as built (index.load + Assistant(...), what Assistant.open does after its check) and
    the record says so."""
    from assistant import index as ix
    from assistant.config import load_config

    config = load_config()
    manifest = ix.read_manifest(index_dir) or {}
    fresh = manifest.get("fingerprint") == ix.fingerprint(ix.load_guides(corpus), config)
    started = time.perf_counter()
    from assistant.pipeline import Assistant

    imported = time.perf_counter()
    if fresh:
        assistant = Assistant.open(corpus, index_dir)
    else:
        assistant = Assistant(ix.load(index_dir, config), config, index_dir, strict_rules=False)
    done = time.perf_counter()
    out("load", import_s=imported - started, open_s=done - imported, passages=len(assistant.index.passages),
        manifest_passages=assistant.index.manifest.get("passages"), rebuilt=assistant.rebuilt,
        how="Assistant.open" if fresh else "index.load + Assistant() (stale fingerprint: data files changed since the build)")
    return assistant


def serve(assistant, questions: list[str], budget: float, out: Out) -> None:
    for mode in ("bm25", "tfidf", "hybrid"):
        ms, cut = timed_loop(lambda q: assistant.index.search(q, mode, 10), questions[:300], budget, repeats=3)
        out("search", mode=mode, budget_hit=cut, **percentiles(ms))
    t = time.perf_counter()
    assistant.ask(questions[0])
    out("first_ask", seconds=time.perf_counter() - t)
    started = time.perf_counter()
    ms, cut = timed_loop(assistant.ask, questions[1:], budget)
    wall = time.perf_counter() - started
    out("ask", budget_hit=cut, of=len(questions) - 1, **percentiles(ms))
    out("batch", questions=len(ms), of=len(questions) - 1, seconds=wall, per_second=len(ms) / wall if wall else None,
        budget_hit=cut)


def passage_terms(index) -> list[list[str]]:
    try:
        from assistant.index import index_text
    except ImportError:  # the name moved: the passage text alone
        def index_text(p):
            return p.text
    return [index.analyzer.terms(index_text(p)) for p in index.passages]


def check_scores(index, reference, queries: list[list[str]]) -> float:
    """Max abs difference of our BM25 scores and rank_bm25's over the queries."""
    worst = 0.0
    for terms in queries:
        ids = [index.vocabulary[t] for t in terms if t in index.vocabulary]
        worst = max(worst, float(np.max(np.abs(index.bm25.scores(ids) - reference.get_scores(terms)))))
    return worst


def peers(assistant, questions: list[str], budget: float, out: Out) -> None:
    from peers import Missing, RankBm25, available

    index = assistant.index
    t = time.perf_counter()
    docs = passage_terms(index)
    queries = [index.analyzer.terms(q) for q in questions]
    queries = [q for q in queries if q]
    out("tokens", seconds=time.perf_counter() - t, passages=len(docs), queries=len(queries),
        postings=sum(len(d) for d in docs))
    skip = tuple(os.environ.get("MQA_BENCH_SKIP_PEERS", "").split(","))
    for peer in available(index, skip):
        if isinstance(peer, Missing):
            out("peer", name=peer.name, missing=True)
            continue
        try:
            t = time.perf_counter()
            peer.fit(docs)
            fit_s = time.perf_counter() - t
            ms, cut = timed_loop(peer.top10, queries, budget, repeats=3)
            extra = {}
            if isinstance(peer, RankBm25):
                extra["max_abs_diff_vs_ours"] = check_scores(index, peer.model, queries[:50])
            out("peer", name=peer.name, fit_s=fit_s, budget_hit=cut, **percentiles(ms), **extra)
        except Exception as exc:  # one peer failing must not lose the others
            out("peer", name=peer.name, error=f"{type(exc).__name__}: {exc}"[:300])
        del peer


def profile(assistant, questions: list[str], out: Out, prefix: Path) -> None:
    def run(label: str, fn) -> None:
        try:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001)
            profiler.start()
            fn()
            profiler.stop()
            text = profiler.output_text(unicode=False, color=False, show_all=False)
        except ImportError:
            import cProfile
            import io
            import pstats

            prof = cProfile.Profile()
            prof.runcall(fn)
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(40)
            text = buf.getvalue()
        path = prefix.with_name(f"{prefix.stem}-{label}.txt")
        path.write_text(text)
        out("profile", label=label, file=str(path))

    run("first-ask", lambda: assistant.ask(questions[0]))
    run("warm-asks", lambda: [assistant.ask(q) for q in questions[1:51]])


def main(argv: list[str]) -> int:
    stage, corpus, index_dir, question_file, out_file, budget = argv
    out = Out(Path(out_file))
    questions = [l for l in Path(question_file).read_text(encoding="utf-8").splitlines() if l.strip()]
    assistant = open_assistant(Path(corpus), Path(index_dir), out)
    if stage == "serve":
        serve(assistant, questions, float(budget), out)
    elif stage == "peers":
        peers(assistant, questions, float(budget), out)
    elif stage == "profile":
        profile(assistant, questions, out, Path(out_file))
    else:
        raise SystemExit(f"unknown stage {stage}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
