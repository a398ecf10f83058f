"""Evaluation on labelled questions: retrieval (ir-measures, trec_eval semantics), routing,
safety, abstention, answers and latency; tables for people, JSON and TREC files for tools.

Question set: JSON Lines of {"id", "question", "intent", "safety", "evidence": [{"quote", "guide"?}],
"key_facts"}. A passage is relevant to a question when it covers at least half of the characters
of one of its gold quotes (by offsets in the original guide files), so labels survive re-chunking.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.corpus import load_guides
from assistant.pipeline import Assistant
from assistant.router import tune_half
from assistant.sentence_eval import SentenceJudge, judge_answers, load_sentence_labels
from assistant.text import find_loose, loose_with_offsets

SENTENCE_LABEL_FILE = "sentence-labels.jsonl"  # beside the question sets in the shipped corpus
# questions-typos.jsonl: typed the way people type on a phone, written blind (without the assistant)
QUESTION_SETS = ("questions.jsonl", "questions-second.jsonl", "questions-lay.jsonl", "questions-lay2.jsonl",
                 "questions-lay3.jsonl", "questions-typos.jsonl", "questions-duration.jsonl")
DIALOGUE_SET = "dialogues.jsonl"
# the later ones written blind, after tuning began
DIALOGUE_SETS = (DIALOGUE_SET, "dialogues-extra.jsonl", "dialogues-third.jsonl", "dialogues-fourth.jsonl",
                 "dialogues-fifth.jsonl", "dialogues-sixth.jsonl", "dialogues-seventh.jsonl", "dialogues-eighth.jsonl",
                 "dialogues-ninth.jsonl", "dialogues-tenth.jsonl", "dialogues-eleventh.jsonl",
                 "dialogues-twelfth.jsonl", "dialogues-thirteenth.jsonl",
                 "dialogues-fourteenth.jsonl")
MEASURES = ("recall@1", "recall@3", "recall@5", "recall@10", "success@5", "mrr@10", "ndcg@10")
RUNS = ("bm25", "tfidf", "hybrid", "hybrid+intent")


class QuestionSetError(Exception):
    """A question set that cannot be used, with every problem listed."""


@dataclass
class Labelled:
    id: str
    question: str
    intent: str
    safety: bool
    evidence: list[tuple[str, int, int]]  # (guide, start, end) in the original file
    key_facts: list[str] = field(default_factory=list)
    conditions: frozenset[str] | None = None  # the safety rules it states, where the set labels them

    @property
    def split(self) -> str:
        """A stable half of the set by id: 'tune' (used to set thresholds) or 'held' (reported apart)."""
        return "tune" if tune_half(self.id) else "held"


def locate_quote(quote: str, guides: dict[str, tuple[str, list[int]]], guide: str | None) -> tuple[str, int, int] | None:
    """Where a quote stands in the original guide files, whitespace- and quote-style-insensitively.

    `guides` maps each guide file name to its text's `loose_with_offsets` form.
    """
    for name, prepared in guides.items():
        if guide and name != guide:
            continue
        found = find_loose(quote, prepared)
        if found:
            return name, found[0], found[1]
    return None


def labelled_lines(path: Path, corpus_dir: Path) -> tuple[dict[str, tuple[str, list[int]]], list[tuple[int, str]]]:
    """The guides (in the form quotes are found in) and the numbered non-blank lines of a labelled set."""
    guides = {g.name: loose_with_offsets(g.text) for g in load_guides(corpus_dir)}
    try:
        lines = Path(path).read_text("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"{path}: cannot read ({exc})") from None
    return guides, [(n, line) for n, line in enumerate(lines, 1) if line.strip()]


def load_questions(path: Path, corpus_dir: Path) -> list[Labelled]:
    guides, lines = labelled_lines(path, corpus_dir)
    problems, questions, seen = [], [], set()
    for n, line in lines:
        try:
            raw = json.loads(line)
            qid, question = str(raw.get("id") or f"line{n}"), str(raw["question"])
        except (ValueError, KeyError, AttributeError, TypeError):
            problems.append(f"line {n}: not a JSON object with a 'question'")
            continue
        if qid in seen:
            problems.append(f"line {n}: duplicate id {qid}")
        seen.add(qid)
        evidence = []
        for ev in raw.get("evidence") or []:
            found = locate_quote(str(ev.get("quote", "")), guides, ev.get("guide"))
            if found is None:
                problems.append(f"line {n} ({qid}): quote not found in the guides: {str(ev.get('quote'))[:60]!r}")
            else:
                evidence.append(found)
        conditions = frozenset(str(c) for c in raw["conditions"]) if isinstance(raw.get("conditions"), list) else None
        # a set labelling only conditions (corpus/conditions.jsonl) says a question is a safety one by them
        safety = bool(raw["safety"]) if "safety" in raw else bool(conditions)
        questions.append(Labelled(qid, question, str(raw.get("intent", "")), safety,
                                  evidence, [str(f) for f in raw.get("key_facts") or []], conditions))
    if problems:  # the first few, each on its own line; the count says how many more
        more = f"\n  ... and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise QuestionSetError(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems[:5]) + more)
    if not questions:
        raise QuestionSetError(f"{path}: no questions")
    return questions


def relevant_passages(assistant: Assistant, q: Labelled) -> set[str]:
    out = set()
    for guide, start, end in q.evidence:
        need = (end - start) / 2
        for p in assistant.index.passages:
            if p.guide == guide and min(p.end, end) - max(p.start, start) >= need:
                out.add(p.id)
    return out


# -- retrieval -----------------------------------------------------------------------------
def rankings(assistant: Assistant, questions: list[Labelled], k: int) -> tuple[dict, dict, dict]:
    """Runs per retriever setup ({run: {qid: {pid: score}}}), per-question latencies and routes."""
    runs: dict[str, dict] = {name: {} for name in RUNS}
    latency: dict[str, list[float]] = {name: [] for name in ("bm25", "tfidf", "hybrid")}
    routes = {}  # qid -> (route, hits)
    for q in questions:
        for mode in ("bm25", "tfidf", "hybrid"):
            started = time.perf_counter()
            hits = assistant.index.search(q.question, mode, k)
            latency[mode].append((time.perf_counter() - started) * 1000)
            runs[mode][q.id] = {h.passage.id: h.score for h in hits}
        route, hits = assistant.route(q.question, k=k)
        routes[q.id] = (route, hits)
        if route.route in ("retrieval", "safety"):
            runs["hybrid+intent"][q.id] = {h.passage.id: h.score for h in hits}
        else:
            runs["hybrid+intent"][q.id] = runs["hybrid"][q.id]
    return runs, latency, routes


def ir_scores(qrels: dict, run: dict) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Aggregate and per-query values of MEASURES, computed by ir-measures (trec_eval semantics)."""
    import ir_measures
    from ir_measures import RR, Success, nDCG, R

    names = {R @ 1: "recall@1", R @ 3: "recall@3", R @ 5: "recall@5", R @ 10: "recall@10",
             Success @ 5: "success@5", RR @ 10: "mrr@10", nDCG @ 10: "ndcg@10"}
    # a query the run leaves empty still counts (as zero), as trec_eval -c does
    full_run = {qid: (run.get(qid) or {"__none__": 0.0}) for qid in qrels}
    per_query: dict[str, dict[str, float]] = {}
    for m in ir_measures.iter_calc(list(names), qrels, full_run):
        per_query.setdefault(m.query_id, {})[names[m.measure]] = m.value
    aggregate = {name: float(np.mean([per_query.get(qid, {}).get(name, 0.0) for qid in qrels])) for name in MEASURES}
    return aggregate, per_query


def paired_bootstrap(a: list[float], b: list[float], rounds: int = 2000, seed: int = 7) -> tuple[float, float, float]:
    """Mean difference a - b and its 95% bootstrap interval, resampling questions."""
    diff = np.asarray(a) - np.asarray(b)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(rounds, len(diff)))].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def write_trec(folder: Path, qrels: dict, runs: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "qrels.txt", "w") as fh:
        for qid, rel in qrels.items():
            for pid in sorted(rel):
                fh.write(f"{qid} 0 {pid} 1\n")
    for name, run in runs.items():
        with open(folder / f"run.{name.replace('+', '-')}.txt", "w") as fh:
            for qid, scores in run.items():
                for rank, (pid, score) in enumerate(sorted(scores.items(), key=lambda x: -x[1]), 1):
                    fh.write(f"{qid} Q0 {pid} {rank} {score:.6f} massage-qa-{name}\n")


# -- the whole report ------------------------------------------------------------------------
def evaluate(assistant: Assistant, questions: list[Labelled], k: int = 10) -> dict:
    with_evidence = [q for q in questions if q.evidence]
    qrels = {q.id: {pid: 1 for pid in relevant_passages(assistant, q)} for q in with_evidence}
    runs, latency, routed = rankings(assistant, questions, k)
    routes = {qid: route for qid, (route, _) in routed.items()}
    retrieval, per_query = {}, {}
    for name in RUNS if qrels else ():
        retrieval[name], per_query[name] = ir_scores(qrels, {qid: runs[name].get(qid, {}) for qid in qrels})
    significance = {}
    for other in ("bm25", "tfidf") if qrels else ():
        a = [per_query["hybrid"].get(qid, {}).get("mrr@10", 0.0) for qid in qrels]
        b = [per_query[other].get(qid, {}).get("mrr@10", 0.0) for qid in qrels]
        significance[f"hybrid-{other}"] = dict(zip(("mean", "low", "high"), paired_bootstrap(a, b)))

    not_covered = assistant.intents.role("not_covered")
    router, safety, abstain = _routing_scores(questions, routes, not_covered)

    answers_info, details, answers = _answers(assistant, questions, routed)
    labelled = [q for q in questions if q.conditions is not None]
    conditions = {"exact": sum(frozenset(r.id for r in routes[q.id].rules) == q.conditions for q in labelled)
                  / len(labelled), "questions": len(labelled)} if labelled else None
    from assistant.corpus import shipped_corpus_dir

    sentence_labels = load_sentence_labels(shipped_corpus_dir() / SENTENCE_LABEL_FILE)
    sentences = None
    if any(q.id in sentence_labels for q in questions):
        sentences = judge_answers(SentenceJudge(assistant.index.analyzer),
                                  {qid: [s.text for s in a.sentences] for qid, a in answers.items()}, sentence_labels)
        for qid, d in sentences.pop("details").items():
            details[qid].update(off_topic_sentences=d["off_topic"], missed_key_sentences=d["missed_keys"])
    for q in questions:
        d = details[q.id]
        ranking = list(runs["hybrid+intent"].get(q.id, {}))
        rel = qrels.get(q.id, {})
        d.update(route=routes[q.id].route, intent=routes[q.id].intent, gold_intent=q.intent, split=q.split,
                 relevant_ranks=[i + 1 for i, pid in enumerate(ranking) if pid in rel], relevant=len(rel))
    worst = sorted((q for q in with_evidence), key=lambda q: (per_query["hybrid+intent"].get(q.id, {}).get("mrr@10", 0.0), q.id))[:10]
    lat = {mode: {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95))} for mode, v in latency.items()}
    return {
        "questions": len(questions), "with_evidence": len(with_evidence),
        "retrieval": retrieval, "significance_mrr@10": significance, "router": router, "safety": safety,
        "abstain": abstain, "answers": answers_info, "latency_ms": lat, "conditions": conditions,
        "sentences": sentences,
        "risk_coverage": risk_coverage(assistant, questions, routes, runs, qrels),
        "worst": [{"id": q.id, "question": q.question, "top": list(runs["hybrid+intent"].get(q.id, {}))[:3]} for q in worst],
        "details": details, "qrels": qrels, "runs": runs,
    }


def _routing_scores(questions: list[Labelled], routes: dict, not_covered: str) -> tuple[dict, dict, dict]:
    """Router accuracy and per-intent scores (scikit-learn), safety recall and false alarms, abstention."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    with_intent = [q for q in questions if q.intent]
    gold = [q.intent for q in with_intent]
    pred = [routes[q.id].intent if routes[q.id].route != "abstain" else not_covered for q in with_intent]
    router = None  # a set labelling no intents (corpus/conditions.jsonl) has no router figures
    if with_intent:
        labels = sorted(set(gold) | set(pred))
        precision, recall, _, support = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
        router = {"accuracy": accuracy_score(gold, pred),
                  "macro_f1": f1_score(gold, pred, labels=sorted(set(gold)), average="macro", zero_division=0),
                  "labels": labels, "confusion": confusion_matrix(gold, pred, labels=labels).tolist(),
                  "per_intent": {l: {"precision": float(p), "recall": float(r), "support": int(s)}
                                 for l, p, r, s in zip(labels, precision, recall, support)}}

    flagged = {q.id: routes[q.id].route == "safety" for q in questions}
    unsafe = [q for q in questions if q.safety]
    safe = [q for q in questions if not q.safety]
    safety = {"recall": sum(flagged[q.id] for q in unsafe) / max(1, len(unsafe)),
              "false_alarm_rate": sum(flagged[q.id] for q in safe) / max(1, len(safe)),
              "misses": [q.question for q in unsafe if not flagged[q.id]],
              "false_alarms": [q.question for q in safe if flagged[q.id]]}

    refused = {q.id: routes[q.id].route == "abstain" for q in questions}
    oos = [q for q in questions if q.intent == not_covered]
    in_scope = [q for q in questions if q.intent != not_covered]
    n_refused = sum(refused.values())
    abstain = {"precision": sum(refused[q.id] for q in oos) / n_refused if n_refused else 1.0,
               "recall": sum(refused[q.id] for q in oos) / max(1, len(oos)),
               "not_covered_questions": len(oos),
               "false_refusals": sum(refused[q.id] for q in in_scope) / max(1, len(in_scope)),
               "refused_in_scope": [q.question for q in in_scope if refused[q.id]],
               "answered_out_of_scope": [q.question for q in oos if not refused[q.id]]}

    return router, safety, abstain


def _answers(assistant: Assistant, questions: list[Labelled], routed: dict) -> tuple[dict, dict, dict]:
    analyzer = assistant.index.analyzer
    found_facts = total_facts = 0
    valid = cited = 0
    lengths = []
    details: dict[str, dict] = {}
    answers = {}
    for q in questions:
        route, hits = routed[q.id]
        answer = assistant.answer(route, hits)
        answers[q.id] = answer
        answer_terms = set(analyzer.terms(answer.text))
        facts = {f: set(analyzer.terms(f)) <= answer_terms for f in q.key_facts}
        if route.route != "abstain":
            found_facts += sum(facts.values())
            total_facts += len(facts)
        by_n = {c.n: c.passage for c in answer.citations}
        for s in answer.sentences:
            for n in s.citations:
                cited += 1
                p = by_n.get(n)
                valid += bool(p and s.text in p.text)
        if answer.sentences:
            lengths.append(len(answer.text.split()))
        details[q.id] = {"id": q.id, "question": q.question, "key_facts_found": [f for f, ok in facts.items() if ok],
                         "key_facts_missed": [f for f, ok in facts.items() if not ok]}
    # a set labelling no key facts has no key-fact recall (None, shown as "-"), not a recall of 0
    return {"key_fact_recall": found_facts / total_facts if total_facts else None, "citation_validity": valid / max(1, cited),
            "citations_checked": cited, "mean_answer_words": statistics.mean(lengths) if lengths else 0.0}, details, answers


def risk_coverage(assistant: Assistant, questions: list[Labelled], routes: dict, runs: dict, qrels: dict) -> dict:
    """For abstain thresholds: share of in-scope questions answered and, of those, share with a relevant
    passage in the top 5; plus the share of out-of-scope questions refused."""
    current = assistant.config.router_abstain_score
    rows = []
    for t in sorted({0.0, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, current}):
        answered = [q for q in questions if q.id in qrels and routes[q.id].top_score >= t]
        good = [q for q in answered if set(list(runs["hybrid+intent"].get(q.id, {}))[:5]) & set(qrels[q.id])]
        oos = [q for q in questions if q.intent == assistant.intents.role("not_covered")]
        rows.append({"threshold": t, "coverage": len(answered) / max(1, len(qrels)),
                     "top5_relevant": len(good) / max(1, len(answered)),
                     "oos_refused_by_score": sum(routes[q.id].top_score < t for q in oos) / max(1, len(oos)),
                     "in_use": t == current})
    return {"rows": rows}


# -- presentation --------------------------------------------------------------------------
def format_report(r: dict, title: str) -> str:
    out = [f"== {title}: {r['questions']} questions ({r['with_evidence']} with evidence)", ""]
    if r["with_evidence"]:
        out.append("Retrieval      " + "".join(f"{m:>10}" for m in MEASURES))
        for name, scores in r["retrieval"].items():
            out.append(f"  {name:<13}" + "".join(f"{scores[m]:>10.3f}" for m in MEASURES))
        out.append("  (hybrid+intent is the assistant's own ranking: intent boost, FAQ wording lift, and on the safety route the warnings' passages first)")
        for pair, s in r["significance_mrr@10"].items():
            out.append(f"  MRR@10 {pair}: {s['mean']:+.3f} (95% bootstrap CI {s['low']:+.3f} .. {s['high']:+.3f})")
    else:
        out.append("Retrieval      (no relevant passages labelled in this set)")
    ro = r["router"]
    if ro is None:
        out += ["", "Router         (no intents labelled in this set)"]
    else:
        out += ["", f"Router         accuracy {ro['accuracy']:.3f}   macro-F1 {ro['macro_f1']:.3f}"]
        for label, v in ro["per_intent"].items():
            out.append(f"  {label:<14} precision {v['precision']:.2f}  recall {v['recall']:.2f}  n={v['support']}")
    s = r["safety"]
    out += ["", f"Safety         recall {s['recall']:.3f}   false alarms {s['false_alarm_rate']:.3f}"]
    out += [f"  missed: {m}" for m in s["misses"]] + [f"  false alarm: {m}" for m in s["false_alarms"]]
    a = r["abstain"]
    out += ["", f"Abstention     precision {a['precision']:.3f}   recall {a['recall']:.3f}   in-scope refused {a['false_refusals']:.3f}"]
    out += [f"  refused: {m}" for m in a["refused_in_scope"]] + [f"  answered: {m}" for m in a["answered_out_of_scope"]]
    an = r["answers"]
    facts = "-" if an["key_fact_recall"] is None else f"{an['key_fact_recall']:.3f}"
    out += ["", f"Answers        key-fact recall {facts}   citation validity {an['citation_validity']:.3f} "
                f"({an['citations_checked']} citations)   mean length {an['mean_answer_words']:.0f} words"]
    if r.get("conditions"):
        out.append(f"Conditions     exactly the labelled ones {r['conditions']['exact']:.3f} ({r['conditions']['questions']} questions)")
    if r.get("sentences"):
        se = r["sentences"]
        out.append(f"Sentences      precision {se['sentence_precision']:.3f}   key recall {se['key_recall']:.3f}   "
                   f"first acceptable {se['first_acceptable']:.3f}   per answer {se['sentences_per_answer']:.1f} "
                   f"({se['questions']} labelled questions)")
    out += ["", "Latency (ms)   " + "   ".join(f"{m} p50 {v['p50']:.2f} p95 {v['p95']:.2f}" for m, v in r["latency_ms"].items())]
    if not r["with_evidence"]:
        return "\n".join(out)
    out += ["", "Risk-coverage  threshold  answered  top5-relevant  oos-refused"]
    for row in r["risk_coverage"]["rows"]:
        mark = "  <- in use" if row["in_use"] else ""
        out.append(f"               {row['threshold']:>9.2f}  {row['coverage']:>8.3f}  {row['top5_relevant']:>13.3f}  {row['oos_refused_by_score']:>11.3f}{mark}")
    out += ["", "Worst 10 (lowest reciprocal rank, hybrid+intent)"]
    out += [f"  {w['id']} {w['question']!r} -> {', '.join(w['top'])}" for w in r["worst"]]
    return "\n".join(out)


def summary(r: dict) -> dict:
    """The documented --json shape."""
    return {"retrieval": r["retrieval"],
            "router": {k: r["router"][k] for k in ("accuracy", "macro_f1", "confusion", "labels", "per_intent")}
            if r["router"] else None,
            "safety": {k: r["safety"][k] for k in ("recall", "false_alarm_rate", "misses")},
            "abstain": {k: r["abstain"][k] for k in ("precision", "recall", "false_refusals")},
            "answers": r["answers"], "latency_ms": r["latency_ms"], "significance_mrr@10": r["significance_mrr@10"],
            "conditions": r["conditions"], "sentences": r["sentences"],
            "risk_coverage": r["risk_coverage"], "questions": r["questions"]}


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _check_outputs(args, questions: Path) -> None:
    """Refuse, before any work, a --details or --trec-dir that would overwrite the question set
    or cannot be written."""
    from assistant.batch import check_output

    if args.details:
        check_output(Path(args.details), [("question set", questions)])
    if args.trec_dir:
        folder = Path(args.trec_dir)
        if folder.exists() and not folder.is_dir():
            raise QuestionSetError(f"--trec-dir {folder} is a file; give a folder")
        if _same_file(folder / "qrels.txt", questions) or any(_same_file(folder / f"run.{n.replace('+', '-')}.txt", questions)
                                                               for n in RUNS):
            raise QuestionSetError(f"--trec-dir {folder} would overwrite the question set {questions}; choose another folder")


def run_eval(args, open_assistant) -> int:
    from assistant.batch import AtomicOutput, BatchError
    from assistant.corpus import shipped_corpus_dir
    from assistant.display import clean, to_json
    from assistant.index import default_corpus_dir

    def error(message: str) -> int:
        print(clean(f"massage-qa: error: {message}"), file=sys.stderr)
        return 1

    corpus = Path(args.corpus) if args.corpus else default_corpus_dir()
    if (args.summary or args.dialogues) and not _same_file(corpus, shipped_corpus_dir()) and not args.questions:
        if args.summary or args.dialogues is True:
            return error(f"the shipped sets are labelled on the shipped guides, not on {corpus}")
    if args.summary:
        return print_summary(open_assistant(args), corpus, args.json)
    if args.answers:
        return score_answer_file(args, open_assistant, error)
    if args.dialogues:
        return run_dialogues(args, open_assistant, corpus, error)
    if args.questions:
        path = Path(args.questions)
    else:
        path = shipped_corpus_dir() / QUESTION_SETS[0]
        if not _same_file(corpus, shipped_corpus_dir()):
            return error(f"the shipped questions are labelled on the shipped guides, not on {corpus}; "
                         f"give questions labelled on these guides with --questions FILE")
    if path.is_dir():
        return error(f"--questions {path} is a folder; give a question set file (jsonl)")
    try:
        _check_outputs(args, path)
        questions = load_questions(path, corpus)
    except (QuestionSetError, BatchError) as exc:
        return error(str(exc))
    if args.split != "all":
        questions = [q for q in questions if q.split == args.split]
        if not questions:
            return error(f"{path}: no questions in the {args.split!r} split; try --split all")
    assistant = open_assistant(args)
    report = evaluate(assistant, questions, args.k)
    if args.trec_dir:
        write_trec(Path(args.trec_dir), report["qrels"], report["runs"])
    if args.details:
        details = AtomicOutput(Path(args.details))
        try:
            for d in report["details"].values():
                details.file.write(json.dumps(d, ensure_ascii=False) + "\n")
        except BaseException:
            details.discard()
            raise
        details.commit()
    print(to_json(summary(report)) if args.json else clean(format_report(report, f"{path.name} ({args.split})")))
    return 0


def score_answer_file(args, open_assistant, error) -> int:
    """Answers written elsewhere (an expert's, another system's), scored against the sentence labels
    as the assistant's own are: sentence precision, key recall, first sentence acceptable, per half."""
    from assistant.corpus import shipped_corpus_dir
    from assistant.display import clean, to_json
    from assistant.sentence_eval import AnswerFileError, load_answer_file

    labels = load_sentence_labels(shipped_corpus_dir() / SENTENCE_LABEL_FILE)
    try:
        answers = load_answer_file(Path(args.answers), labels)
    except AnswerFileError as exc:
        return error(str(exc))
    judge = SentenceJudge(open_assistant(args).index.analyzer)
    rows = []
    for split in ("held", "tune"):
        if args.split not in ("all", split):
            continue
        half = {qid: a for qid, a in answers.items() if ("tune" if tune_half(qid) else "held") == split}
        if half:
            r = judge_answers(judge, half, labels)
            rows.append({"half": split, "questions": r["questions"], "sentence_precision": r["sentence_precision"],
                         "key_recall": r["key_recall"], "first_acceptable": r["first_acceptable"],
                         "sentences_per_answer": r["sentences_per_answer"]})
    if not rows:
        return error(f"{args.answers}: no answers in the {args.split!r} split; try --split all")
    if args.json:
        print(to_json(rows))
        return 0
    print(clean(f"{Path(args.answers).name}: answers scored against {SENTENCE_LABEL_FILE}"))
    print(f"{'half':<6}{'n':>5}{'s.prec':>9}{'key rec':>9}{'1st ok':>9}{'sent/ans':>10}")
    for r in rows:
        print(f"{r['half']:<6}{r['questions']:>5}{r['sentence_precision']:>9.3f}{r['key_recall']:>9.3f}"
              f"{r['first_acceptable']:>9.3f}{r['sentences_per_answer']:>10.2f}")
    return 0


def run_dialogues(args, open_assistant, corpus: Path, error) -> int:
    from assistant.corpus import shipped_corpus_dir
    from assistant.dialogues import evaluate_dialogues, format_dialogue_report, load_dialogues
    from assistant.display import clean, to_json

    path = shipped_corpus_dir() / DIALOGUE_SET if args.dialogues is True else Path(args.dialogues)
    try:
        dialogues = load_dialogues(path, corpus)
    except QuestionSetError as exc:
        return error(str(exc))
    if args.split != "all":
        dialogues = [d for d in dialogues if d.split == args.split]
        if not dialogues:
            return error(f"{path}: no conversations in the {args.split!r} split; try --split all")
    report = evaluate_dialogues(open_assistant(args), dialogues)
    if args.json:
        print(to_json(report))
    else:
        print(clean(format_dialogue_report(report, f"{path.name} ({args.split})")))
        for miss in report["misses"]:
            print(clean(f"  {miss['dialogue']} turn {miss['turn']}: route {miss['route'][0]} -> {miss['route'][1]}, "
                        f"conditions {miss['conditions'][0]} -> {miss['conditions'][1]}: {miss['text'][:80]}"))
    return 0


def summary_rows(assistant: Assistant, corpus: Path) -> list[dict]:
    """One row per shipped set and half (held first): the figures each issue is judged on."""
    from assistant.corpus import shipped_corpus_dir
    from assistant.dialogues import evaluate_dialogues, load_dialogues

    folder = shipped_corpus_dir()
    rows = []
    for name in QUESTION_SETS:
        if not (folder / name).is_file():
            continue
        questions = load_questions(folder / name, corpus)
        for split in ("held", "tune"):
            r = evaluate(assistant, [q for q in questions if q.split == split])
            h = r["retrieval"]["hybrid+intent"]
            rows.append({"set": name, "split": split, "n": r["questions"], "success@5": h["success@5"],
                         "mrr@10": h["mrr@10"], "router": r["router"]["accuracy"], "safety_recall": r["safety"]["recall"],
                         "false_alarms": r["safety"]["false_alarm_rate"],
                         "oos_refused": r["abstain"]["recall"] if r["abstain"]["not_covered_questions"] else None,
                         "in_scope_refused": r["abstain"]["false_refusals"], "key_facts": r["answers"]["key_fact_recall"],
                         "sentence_precision": (r["sentences"] or {}).get("sentence_precision"),
                         "key_recall": (r["sentences"] or {}).get("key_recall"),
                         "first_acceptable": (r["sentences"] or {}).get("first_acceptable")})
    for name in DIALOGUE_SETS:
        if not (folder / name).is_file():
            continue
        dialogues = load_dialogues(folder / name, corpus)
        for split in ("held", "tune"):
            r = evaluate_dialogues(assistant, [d for d in dialogues if d.split == split])
            rows.append({"set": name, "split": split, "n": r["turns"], "success@5": r["top5_relevant"],
                         "route_accuracy": r["route_accuracy"], "conditions_exact": r["conditions_exact"],
                         "person": r["person_accuracy"]})
    return rows


def print_summary(assistant: Assistant, corpus: Path, as_json: bool) -> int:
    from assistant.display import to_json

    rows = summary_rows(assistant, corpus)
    if as_json:
        print(to_json(rows))
        return 0
    cols = ("success@5", "mrr@10", "router", "safety_recall", "false_alarms", "oos_refused", "in_scope_refused",
            "key_facts", "sentence_precision", "key_recall", "first_acceptable", "route_accuracy", "conditions_exact",
            "person")
    heads = ("S@5", "MRR", "router", "safety", "f.alarm", "oos ref", "in ref", "facts", "s.prec", "key rec",
             "1st ok", "route", "cond", "person")
    width = max([24] + [len(row["set"]) + 2 for row in rows])
    print(f"{'set':<{width}}{'half':<6}{'n':>5}" + "".join(f"{h:>9}" for h in heads))
    for row in rows:
        cells = "".join(f"{row[c]:>9.3f}" if isinstance(row.get(c), float) else f"{'-':>9}" for c in cols)
        print(f"{row['set']:<{width}}{row['split']:<6}{row['n']:>5}" + cells)
    print("(held halves first: they are the estimates; tune halves have been looked at while improving the assistant)")
    return 0
