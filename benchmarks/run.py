"""Benchmarks (`make bench`): how massage-qa scales with the corpus, side by side with BM25 peers.

What it measures, for each corpus size (synthetic markdown guides from benchmarks/corpus_gen.py,
seeded; the passage count is the one the index's manifest reports):
  build    `massage-qa index --rebuild --corpus DIR --index-dir DIR2` in a subprocess: wall time,
           peak memory (PSS polled from /proc over the process tree: shared pages count once), time per build stage
           (benchmarks/build_stages.py), index size on disk. A build past --build-timeout is
           killed and recorded as "did not finish in N s" with the stage it was in.
  serve    in a fresh process on the built index: Assistant.open time, index.search(q, mode, 10)
           p50/p95 for bm25, tfidf, hybrid; the first ask; assistant.ask p50/p95 and the batch
           throughput over the 1,000 generated questions (the same timed run).
  peers    rank_bm25, bm25s (numpy, numba) and tantivy on the same tokens (the index analyzer's
           terms) and queries: fit time, top-10 p50/p95 (median of 3 runs per query), ratio to ours,
           and our BM25 scores against rank_bm25's (max abs diff).
When the real build does not finish, serve and peers run on an index built with the LSA stage
swapped for a sparse randomized TruncatedSVD (benchmark-only; marked "sparse-LSA stand-in").
Every loop stops at --budget seconds and says how far it got.

And, once per run, on the shipped guides: rank_bm25 against our BM25 and hybrid search, the same
on a 20k-passage synthetic bag of words, and a cold `massage-qa ask` against `python -c pass`.

Output: a Markdown report on stdout and a JSON file in benchmarks/results/.

    python benchmarks/run.py --quick                 # smoke run, well under a minute
    python benchmarks/run.py                         # 10k passages
    python benchmarks/run.py --sizes 10k,100k,1m --build-timeout 1200 --profile 10k
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from corpus_gen import generate  # noqa: E402

PY = sys.executable
QUICK_PASSAGES = 300
QUERIES = ["what oil should I use", "how often should I give a back massage", "knots in the shoulders",
           "is it safe when pregnant", "how long should a massage last", "drink water after a massage"]


# -- helpers ----------------------------------------------------------------------------------
def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def machine() -> dict:
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                  if l.startswith("model name")), platform.processor())
    mem = next((int(l.split()[1]) // 1024 for l in Path("/proc/meminfo").read_text().splitlines()
                if l.startswith("MemTotal")), None)
    from importlib import metadata

    versions = {}
    for name in ("numpy", "scipy", "scikit-learn", "rank-bm25", "bm25s", "numba", "tantivy", "pyinstrument"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"nproc": os.cpu_count(), "cpu": model, "mem_mb": mem, "python": platform.python_version(),
            "platform": platform.platform(), "load_avg": os.getloadavg(), "packages": versions,
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=ROOT).stdout.strip()}


def tree_rss_kb(pid: int) -> int:
    """Current memory of a process and all its descendants, in kB (0 once it is gone): their
    proportional set sizes, so pages a forked worker shares with its parent count once (their
    RSS summed would count them in every process); RSS where the kernel gives no PSS."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup")
            status = rollup.read_text() if rollup.exists() else Path(f"/proc/{p}/status").read_text()
            key = "Pss:" if rollup.exists() else "VmRSS"
            total += next((int(l.split()[1]) for l in status.splitlines() if l.startswith(key)), 0)
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def run_limited(cmd: list[str], timeout: float, log: Path) -> dict:
    """Run cmd with a wall-clock limit, polling the process tree's RSS; kill the group on timeout."""
    started = time.perf_counter()
    peak = 0
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=err, stderr=subprocess.STDOUT, start_new_session=True)
        while proc.poll() is None:
            peak = max(peak, tree_rss_kb(proc.pid))
            if time.perf_counter() - started > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return {"status": "timeout", "seconds": time.perf_counter() - started, "peak_rss_mb": peak / 1024}
            time.sleep(0.2)
    tail = log.read_text(errors="replace").strip().splitlines()[-3:]
    return {"status": "ok" if proc.returncode == 0 else f"exit {proc.returncode}", "seconds": time.perf_counter() - started,
            "peak_rss_mb": peak / 1024, "tail": tail}


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.is_file() else []


# -- one corpus size ----------------------------------------------------------------------------
def build(corpus: Path, index_dir: Path, work: Path, timeout: float, tag: str, sparse_lsa: bool = False) -> dict:
    """`massage-qa index --rebuild` (through build_stages.py) with its stages, peak memory and size."""
    stages = work / f"stages-{tag}.json"
    stages.unlink(missing_ok=True)
    cmd = [PY, str(BENCH / "build_stages.py"), str(stages), "index", "--rebuild", "--corpus", str(corpus),
           "--index-dir", str(index_dir)] + (["--sparse-lsa"] if sparse_lsa else [])
    result = run_limited(cmd, timeout, work / f"build-{tag}.log")
    result["stages"] = json.loads(stages.read_text()) if stages.is_file() else {}
    manifest = index_dir / "manifest.json"
    if result["status"] == "ok" and manifest.is_file():
        result["manifest_passages"] = json.loads(manifest.read_text()).get("passages")
        result["vocabulary"] = json.loads(manifest.read_text()).get("vocabulary")
        result["index_bytes"] = folder_bytes(index_dir)
    return result


def worker(stage: str, corpus: Path, index_dir: Path, questions: Path, work: Path, budget: float, tag: str) -> dict:
    out = work / f"{stage}-{tag}.jsonl"
    out.unlink(missing_ok=True)
    cmd = [PY, str(BENCH / "worker.py"), stage, str(corpus), str(index_dir), str(questions), str(out), str(budget)]
    # every loop stops itself at the budget; the hard limit covers opening the index and fitting peers
    run = run_limited(cmd, 4 * budget + 600, work / f"{stage}-{tag}.log")
    return {"run": run, "records": read_jsonl(out)}


def profile_build(corpus: Path, work: Path, timeout: float, tag: str, sparse_lsa: bool) -> dict:
    out = work / f"profile-build-{tag}.txt"
    cmd = [PY, "-m", "pyinstrument", "-r", "text", "--no-color", "-o", str(out), str(BENCH / "build_stages.py"),
           str(work / f"stages-profile-{tag}.json"), "index", "--rebuild", "--corpus", str(corpus),
           "--index-dir", str(work / f"index-profile-{tag}")] + (["--sparse-lsa"] if sparse_lsa else [])
    run = run_limited(cmd, timeout, work / f"profile-build-{tag}.log")
    return {"run": run, "file": str(out) if out.is_file() else None, "sparse_lsa": sparse_lsa}


def one_size(n: int, args, work: Path) -> dict:
    tag = label(n)
    corpus = work / f"corpus-{tag}"
    t = time.perf_counter()
    info = generate(n, corpus, seed=args.seed, n_questions=args.questions)
    result: dict = {"target_passages": n, "corpus": info, "generate_s": time.perf_counter() - t}
    log(f"[{tag}] corpus: {info['guides']} guides, {info['bytes'] / 1e6:.1f} MB")
    index_dir = work / f"index-{tag}"
    if "build" in args.stages:
        log(f"[{tag}] building (limit {args.build_timeout:.0f} s)")
        result["build"] = build(corpus, index_dir, work, args.build_timeout, tag)
        log(f"[{tag}] build: {result['build']['status']} in {result['build']['seconds']:.1f} s")
        real = result["build"]["status"] == "ok"
        if not real and args.fallback:
            index_dir = work / f"index-{tag}-sparse-lsa"
            result["fallback_build"] = build(corpus, index_dir, work, args.build_timeout, f"{tag}-sparse-lsa", True)
            log(f"[{tag}] sparse-LSA stand-in build: {result['fallback_build']['status']} in {result['fallback_build']['seconds']:.1f} s")
    else:  # measure on what an earlier run built: the real index if there is one
        real = (index_dir / "manifest.json").is_file()
        index_dir = index_dir if real else work / f"index-{tag}-sparse-lsa"
    result["measured_on"] = "real build" if real else "sparse-LSA stand-in"
    if (index_dir / "manifest.json").is_file():
        questions = Path(info["questions_file"])
        for stage in ("serve", "peers"):
            if stage not in args.stages:
                continue
            log(f"[{tag}] {stage} (budget {args.budget:.0f} s a loop)")
            result[stage] = worker(stage, corpus, index_dir, questions, work, args.budget, tag)
        if tag in args.profile:
            log(f"[{tag}] profiling the ask and the build")
            result["profile_ask"] = worker("profile", corpus, index_dir, questions, work, args.budget, tag)
            result["profile_build"] = profile_build(corpus, work, args.build_timeout, tag,
                                                    result["build"]["status"] != "ok")
    return result


# -- the shipped guides (what run.py measured before) ----------------------------------------------
def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def real_corpus(repeat: int) -> list:
    from rank_bm25 import BM25Okapi

    from assistant.config import load_config
    from assistant.index import index_text, open_index

    index, _, _ = open_index(ROOT / "corpus", None, load_config())
    docs = [index.analyzer.terms(index_text(p)) for p in index.passages]
    reference = BM25Okapi(docs)
    terms = [index.analyzer.terms(q) for q in QUERIES]
    ids = [index.query_ids(q) for q in QUERIES]
    base = median_ms(lambda: [reference.get_scores(t) for t in terms], repeat) / len(QUERIES)
    ours = median_ms(lambda: [index.bm25.scores(i) for i in ids], repeat) / len(QUERIES)
    hybrid = median_ms(lambda: [index.search(q) for q in QUERIES], repeat) / len(QUERIES)
    where = f"real corpus ({len(index.passages)} passages)"
    return [(where, "rank_bm25 get_scores", base, 1.0), (where, "our BM25 scores", ours, ours / base),
            (where, "hybrid search incl. analysis, top 10", hybrid, hybrid / base)]


def synthetic_bag(passages: int, repeat: int) -> list:
    from rank_bm25 import BM25Okapi

    from assistant.retrieval import Bm25Retriever

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
    base = median_ms(lambda: [reference.get_scores(q) for q in queries], max(1, repeat // 40)) / len(queries)
    fast = median_ms(lambda: [ours.scores(i) for i in ids], max(1, repeat // 10)) / len(queries)
    where = f"synthetic Zipf bag of words ({passages} passages)"
    return [(where, "rank_bm25 get_scores", base, 1.0), (where, "our BM25 scores", fast, fast / base)]


def cold_start(repeat: int) -> list:
    exe = [PY, "-m", "assistant"]
    # as an installed package starts: with its bytecode cached (PYTHONDONTWRITEBYTECODE, set in some
    # shells and CI images, would compile every module from source on every run)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "assistant")], capture_output=True, env=env)
    subprocess.run(exe + ["index"], capture_output=True, cwd=ROOT, env=env)
    commands = {"bare": [PY, "-c", "pass"], "ask": exe + ["ask", "what oil should I use?"],
                # typos and words the guides lack are in most real questions
                "typo": exe + ["ask", "what oyl shud i use on her bak"]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):  # round robin: a busy spell on the shared machine slows all three alike
        for name, cmd in commands.items():
            started = time.perf_counter()
            subprocess.run(cmd, capture_output=True, cwd=ROOT, env=env)
            times[name].append((time.perf_counter() - started) * 1000)
    bare, ask, typo = (statistics.median(times[name]) for name in commands)
    return [("process start", "python -c pass", bare, 1.0), ("process start", "massage-qa ask (cold process)", ask, ask / bare),
            ("process start", "massage-qa ask with typos (cold process)", typo, typo / bare)]


# -- report -----------------------------------------------------------------------------------
def records(result: dict, stage: str, kind: str) -> list[dict]:
    return [r for r in result.get(stage, {}).get("records", []) if r["kind"] == kind]


def fmt(x, unit: str = "", digits: int = 2) -> str:
    return "-" if x is None else f"{x:,.{digits}f}{unit}"


def build_cell(b: dict, timeout: float) -> str:
    if b["status"] in ("ok", "not run"):
        return f"{b['seconds']:,.1f} s" if b["status"] == "ok" else "not run"
    st = b.get("stages", {})
    if b["status"] == "timeout":
        done = list(st.get("stages", {}))
        running = ", ".join(st.get("running", [])) or f"the stage after {done[-1] if done else 'start-up'}"
        return f"did not finish in {b['seconds']:.0f} s (in: {running})"
    last = (b.get("tail") or [""])[-1]
    return f"{b['status']} after {b['seconds']:,.0f} s in {failed_stage(b) or '?'}: {last[last.find(':', 12) + 1:].split(' (run with')[0].strip()[:110]}"


def failed_stage(b: dict) -> str:
    """The stage a failed build died in (older result files: the last one recorded)."""
    if b["status"] in ("ok", "timeout", "not run"):
        return ""
    st = b.get("stages", {})
    return st.get("failed") or (list(st.get("stages", {})) or [""])[-1]


def stand_in_cell(b: dict | None, timeout: float) -> str:
    return "-" if not b else f"{build_cell(b, timeout)}, {b['peak_rss_mb']:,.0f} MB"


def worker_failure(r: dict, stage: str) -> str:
    run = r.get(stage, {}).get("run")
    if not run or run["status"] == "ok":
        return ""
    return f"; {stage} worker {run['status']} after {run['seconds']:.0f} s: {(run.get('tail') or [''])[-1][:120]}"


def size_rows(results: dict, timeout: float) -> list[str]:
    head = ("| passages (target / manifest) | guides | `index --rebuild` | peak memory (PSS) | sparse-LSA stand-in build, peak memory | index on disk | open | "
            "bm25 p50/p95 | tfidf p50/p95 | hybrid p50/p95 | first ask | ask p50/p95 | batch | measured on |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for tag, r in results.items():
        b = r.get("build") or {"status": "not run", "seconds": 0, "peak_rss_mb": 0}
        manifest = b.get("manifest_passages") or r.get("fallback_build", {}).get("manifest_passages")
        size = b.get("index_bytes") or r.get("fallback_build", {}).get("index_bytes")
        load = next(iter(records(r, "serve", "load")), {})
        search = {s["mode"]: s for s in records(r, "serve", "search")}
        first = next(iter(records(r, "serve", "first_ask")), {})
        ask = next(iter(records(r, "serve", "ask")), {})
        batch = next(iter(records(r, "serve", "batch")), {})

        def pp(rec):
            return "-" if not rec.get("n") else f"{rec['p50_ms']:,.2f} / {rec['p95_ms']:,.2f} ms" + (" (budget)" if rec.get("budget_hit") else "")

        batch_cell = "-" if not batch else f"{batch['per_second']:,.1f} q/s ({batch['questions']}/{batch['of']})"
        rows.append(" | ".join([
            f"| {r['target_passages']:,} / {fmt(manifest, digits=0)}", f"{r['corpus']['guides']:,}", build_cell(b, timeout),
            f"{b['peak_rss_mb']:,.0f} MB", stand_in_cell(r.get("fallback_build"), timeout), fmt(size and size / 1e6, " MB", 1),
            fmt(load.get("open_s"), " s"), pp(search.get("bm25", {})), pp(search.get("tfidf", {})),
            pp(search.get("hybrid", {})), fmt(first.get("seconds"), " s"), pp(ask), batch_cell,
            r.get("measured_on", "-") + worker_failure(r, "serve")]) + " |")
    return rows


def stage_rows(results: dict) -> list[str]:
    builds = {f"{tag}{' (sparse-LSA stand-in)' if key == 'fallback_build' else ''}": r[key]
              for tag, r in results.items() for key in ("build", "fallback_build") if key in r}
    names = list(dict.fromkeys(n for b in builds.values() for n in b.get("stages", {}).get("stages", {})))
    rows = ["| build stage (s) | " + " | ".join(builds) + " |", "|---|" + "---|" * len(builds)]
    for name in names + ["(imports)", "(total wall)"]:
        cells = []
        for b in builds.values():
            st = b.get("stages", {})
            value = {"(imports)": st.get("imports"), "(total wall)": b["seconds"]}.get(name, st.get("stages", {}).get(name))
            running = name in st.get("running", [])
            if running and b["status"] == "timeout":
                cells.append("still running at kill")
            elif name == failed_stage(b):
                cells.append(f"failed after {fmt(value, ' s')}")
            else:
                cells.append(fmt(value, digits=2))
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def peer_rows(results: dict) -> list[str]:
    rows = ["| passages | system | fit s | top-10 p50 ms | p95 ms | p50 / ours | notes |", "|---|---|---|---|---|---|---|"]
    for tag, r in results.items():
        peers = records(r, "peers", "peer")
        ours = next((p for p in peers if p["name"].startswith("massage-qa")), None)
        if worker_failure(r, "peers"):
            rows.append(f"| {tag} | (all) | - | - | - | - | {worker_failure(r, 'peers')[2:]} |")
        for p in peers:
            if p.get("missing") or p.get("error"):
                rows.append(f"| {tag} | {p['name']} | - | - | - | - | {p.get('error') or 'not installed'} |")
                continue
            ratio = p["p50_ms"] / ours["p50_ms"] if ours and p.get("n") and ours.get("p50_ms") else None
            notes = []
            if p.get("budget_hit"):
                notes.append(f"budget: {p['n']} queries")
            if "max_abs_diff_vs_ours" in p:
                notes.append(f"max abs diff of scores vs ours {p['max_abs_diff_vs_ours']:.2e}")
            rows.append(f"| {tag} | {p['name']} | {fmt(p['fit_s'])} | {fmt(p.get('p50_ms'), digits=3)} | "
                        f"{fmt(p.get('p95_ms'), digits=3)} | {fmt(ratio, 'x')} | {'; '.join(notes)} |")
    return rows


def report(data: dict) -> str:
    m = data["machine"]
    lines = [f"## massage-qa benchmark ({data['started']}, commit {m['commit']}, working tree as found)", "",
             f"Machine: {m['nproc']} cores, {m['cpu']}, {m['mem_mb']:,} MB, Python {m['python']}, load average at start "
             f"{', '.join(f'{x:.2f}' for x in m['load_avg'])}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v), ""]
    if data["sizes"]:
        lines += ["### Scale (synthetic guides)", ""] + size_rows(data["sizes"], data["args"]["build_timeout"]) + [""]
        lines += ["### Build stages", ""] + stage_rows(data["sizes"]) + [""]
        lines += ["### BM25 against the peers (same tokens and queries)", ""] + peer_rows(data["sizes"]) + [""]
    if data.get("shipped"):
        lines += ["### Shipped guides and process start", "", "| setting | what | median ms | time / baseline |",
                  "|---|---|---|---|"] + [f"| {s} | {w} | {ms:.3f} | {ratio:.3f} |" for s, w, ms, ratio in data["shipped"]]
    profiles = [(tag, r[k]) for tag, r in data["sizes"].items() for k in ("profile_build", "profile_ask") if k in r]
    if profiles:
        lines += ["", "Profiles: " + "; ".join(
            f"{tag} {p.get('file') or ', '.join(x.get('file', '') for x in p.get('records', []) if x['kind'] == 'profile')}"
            for tag, p in profiles)]
    return "\n".join(lines)


def merged_report(files: list[Path]) -> str:
    """One report from several runs: the first file's machine, every file's sizes and shipped rows."""
    runs = [json.loads(f.read_text()) for f in files]
    data = dict(runs[0])
    data["sizes"] = {}
    for run in runs:  # a later run's stages of a size join (or replace) the earlier run's
        for tag, r in run["sizes"].items():
            data["sizes"][tag] = {**data["sizes"].get(tag, {}), **r}
    data["shipped"] = next((run["shipped"] for run in runs if run.get("shipped")), None)
    return report(data) + "\n\nFrom: " + ", ".join(str(f) for f in files)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k", help="comma-separated passage counts, e.g. 10k,100k,1m (default 10k)")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_PASSAGES} passages, short loops")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds for each timed loop (default 120)")
    parser.add_argument("--build-timeout", type=float, default=1200.0, help="seconds before a build is killed (default 1200)")
    parser.add_argument("--questions", type=int, default=1000, help="generated questions (default 1000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path("/tmp/massage-qa-bench"), help="corpora and indexes (reused)")
    parser.add_argument("--profile", default="", help="sizes to profile (build and ask), e.g. 10k")
    parser.add_argument("--no-fallback", dest="fallback", action="store_false",
                        help="when a build fails, do not measure on a sparse-LSA stand-in index")
    parser.add_argument("--stages", default="build,serve,peers",
                        help="of build,serve,peers (default all); without build, the index an earlier run built is used")
    parser.add_argument("--no-shipped", dest="shipped", action="store_false", help="skip the shipped-guides rows")
    parser.add_argument("--report", nargs="+", type=Path, metavar="JSON",
                        help="only print the report of earlier result files (their sizes merged)")
    args = parser.parse_args(argv)
    if args.report:
        print(merged_report(args.report))
        return 0
    if args.quick:  # no numba compile (about 9 s), no 20k bag of words, fewer cold starts
        os.environ["MQA_BENCH_SKIP_PEERS"] = "numba"
        args.sizes, args.budget, args.questions = str(QUICK_PASSAGES), min(args.budget, 3.0), 100
        args.build_timeout = min(args.build_timeout, 60.0)
    args.stages = set(args.stages.split(","))
    args.profile = {label(parse_size(s)) for s in args.profile.split(",") if s.strip()}
    args.work.mkdir(parents=True, exist_ok=True)
    data = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
            "args": {k: (sorted(v) if isinstance(v, set) else str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "sizes": {}}
    for n in (parse_size(s) for s in args.sizes.split(",")):
        data["sizes"][label(n)] = one_size(n, args, args.work)
    if args.shipped:
        log("shipped guides and cold start")
        repeat = 3 if args.quick else 21  # cold starts are short and the machines noisy
        data["shipped"] = real_corpus(20 if args.quick else 200) + (
            [] if args.quick else synthetic_bag(20000, 200)) + cold_start(repeat)
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    out = results / f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{'quick' if args.quick else args.sizes.replace(',', '-')}.json"
    out.write_text(json.dumps(data, indent=1, default=str))
    print(report(data))
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
