"""Run a `massage-qa` command (e.g. `index --rebuild ...`) with a timer around each build stage.

    python benchmarks/build_stages.py STAGES.json index --rebuild --corpus DIR --index-dir DIR2

The command is the package's own CLI entry point (assistant.cli.main), unchanged; only the
functions the build calls are wrapped so their wall time adds up per stage. A stage the code no
longer has is skipped, so this keeps working while the build is reorganised. STAGES.json is
rewritten as each stage starts and ends (naming the one running), so a build killed for taking
too long still says where it was. Only the process that runs the command records (a stage run
in forked workers counts as the parent's wait for them). Stages do not overlap: a stage called
inside another (the intent model analysing its examples) counts in the outer one.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (module, attribute[.method], stage name): patched where the build looks them up
STAGES = (
    ("assistant.index", "load_guides", "read guides"),
    ("assistant.index", "build_passages", "clean + split passages"),
    ("assistant.index", "stop_words", "stop words (imports scikit-learn)"),
    ("assistant.index", "_known_words", "spelling dictionary / known words"),
    ("assistant.index", "_stem_table", "stem tables"),
    ("assistant.index", "stem_table", "stem tables"),
    ("assistant.index", "everyday_stems", "everyday words' stems"),
    ("assistant.index", "_analyse_passages", "analyse passages + count terms"),
    ("assistant.index", "Analyzer.terms", "analyse passages + count terms"),
    ("assistant.retrieval", "Bm25Retriever.fit", "BM25 fit"),
    ("assistant.retrieval", "Bm25Retriever.fit_counts", "BM25 fit"),
    ("assistant.retrieval", "TfidfRetriever.fit", "TF-IDF fit"),
    ("assistant.retrieval", "TfidfRetriever.fit_counts", "TF-IDF fit"),
    ("assistant.retrieval", "LsaRetriever.fit", "LSA fit"),
    ("assistant.parallel", "Background.result", "LSA fit (waiting for the process fitting it)"),
    ("assistant.router", "IntentRouter.fit", "intent model fit"),
    ("assistant.index", "faq_vectors", "FAQ questions in the intent model's space"),
    ("assistant.index", "intent_masks", "intent lifts (pattern search over the passages)"),
    ("assistant.index", "lift_matches", "intent lifts (pattern search over the passages)"),
    ("assistant.index", "_quote_places", "safety rules' quotes placed"),
    ("assistant.index", "fingerprint", "fingerprint"),
    ("assistant.index", "save", "save files"),
    ("assistant.pipeline", "Assistant.__init__", "assistant set-up after the build (safety rules, wiring)"),
)


class Recorder:
    def __init__(self, out: Path):
        self.out = out
        self.started = time.perf_counter()
        self.pid = os.getpid()
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.running: list[str] = []
        self.failed = ""  # the stage an exception left
        self.memory: dict[str, list[float]] = {}  # stage -> [resident MB at its end, peak MB so far] (this process)

    def write(self, **extra) -> None:
        data = {"stages": self.seconds, "calls": self.calls, "memory_mb": self.memory, "running": list(self.running),
                "failed": self.failed,
                "elapsed": time.perf_counter() - self.started,
                "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.out)

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            if os.getpid() != self.pid:  # a worker or background process of the build: its time is the parent's wait
                return fn(*args, **kwargs)
            if self.running:  # inside another stage (e.g. the intent model analysing its examples): counted there
                return fn(*args, **kwargs)
            self.running.append(name)
            noisy = fn.__name__ == "terms"  # once per passage: too often to write
            if not noisy:
                self.write()
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            except BaseException:
                self.failed = self.failed or name
                raise
            finally:
                self.running.remove(name)
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
                self.calls[name] = self.calls.get(name, 0) + 1
                self.memory[name] = [round(_resident_mb(), 1),
                                     round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)]
                if not noisy:
                    self.write()
        return timed


def _resident_mb() -> float:
    """This process's resident memory now (Linux; 0 elsewhere)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def install(recorder: Recorder) -> list[str]:
    """Wrap every stage that exists; return the names of those that do not."""
    missing = []
    for module_name, attr, name in STAGES:
        try:
            owner = importlib.import_module(module_name)
            *path, last = attr.split(".")
            for part in path:
                owner = getattr(owner, part)
            setattr(owner, last, recorder.wrap(name, getattr(owner, last)))
        except (ImportError, AttributeError):
            missing.append(name)
    return missing


def sparse_lsa_fit(self, tfidf):
    """Benchmark-only stand-in for LsaRetriever.fit: scikit-learn's randomized TruncatedSVD of the
    sparse TF-IDF matrix (seeded) instead of an exact SVD of it made dense. Used (with --sparse-lsa)
    only to get an index to measure queries on when the real build cannot finish; the results say so."""
    from sklearn.decomposition import TruncatedSVD

    from assistant.retrieval import _unit_rows

    matrix = tfidf.weights_.tocsr()
    n = max(1, min(self.components, min(matrix.shape) - 1))
    svd = TruncatedSVD(n_components=n, algorithm="randomized", random_state=0).fit(matrix)
    self.components_ = svd.components_
    self.docs_ = _unit_rows(matrix @ self.components_.T)
    return self


def main(argv: list[str]) -> int:
    sparse_lsa = "--sparse-lsa" in argv
    argv = [a for a in argv if a != "--sparse-lsa"]
    recorder = Recorder(Path(argv[0]))
    started = time.perf_counter()
    from assistant import cli

    imports = time.perf_counter() - started
    if sparse_lsa:
        from assistant.retrieval import LsaRetriever

        LsaRetriever.fit = sparse_lsa_fit
    missing = install(recorder)
    recorder.write(imports=imports, missing=missing)
    code = 1
    try:
        code = cli.main(argv[1:]) or 0
    finally:
        recorder.write(imports=imports, missing=missing, exit=code, done=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
