"""Batch answering of FAQ files: questions in (txt, csv, jsonl, or stdin), one record out per
question, in input order, streamed (constant memory), as jsonl, csv or a Markdown FAQ.

A bad row (empty, too long, undecodable, missing column, broken JSON) becomes a record with an
`error` field; nothing is lost or duplicated. `--compare` marks answers that changed since an
earlier jsonl run.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from assistant import __version__
from assistant.display import clean, source_line, to_json
from assistant.pipeline import MAX_QUESTION_CHARS, Assistant, QuestionError


@dataclass
class Row:
    """One input question (or the reason it could not be read) with its line number and extra fields."""

    line: int
    question: str | None
    extra: dict
    error: str | None = None


def _lines(stream) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, error) for each line of a binary stream; bad bytes spoil one line only."""
    for n, raw in enumerate(stream, 1):
        try:
            yield n, raw.decode("utf-8-sig" if n == 1 else "utf-8").rstrip("\r\n"), None
        except UnicodeDecodeError as exc:
            yield n, None, f"undecodable bytes (not UTF-8) at column {exc.start + 1}"


def read_txt(stream) -> Iterator[Row]:
    for n, text, error in _lines(stream):
        if error:
            yield Row(n, None, {}, error)
        elif text.strip() and not text.lstrip().startswith("#"):
            yield Row(n, text.strip(), {})


def read_jsonl(stream) -> Iterator[Row]:
    for n, text, error in _lines(stream):
        if error:
            yield Row(n, None, {}, error)
            continue
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield Row(n, None, {}, f"broken JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            yield Row(n, None, {}, "not a JSON object")
        elif "question" not in obj:
            yield Row(n, None, obj, "missing field 'question'")
        else:
            extra = {k: v for k, v in obj.items() if k != "question"}
            yield Row(n, obj["question"] if isinstance(obj["question"], str) else None, extra,
                      None if isinstance(obj["question"], str) else "'question' is not text")


def read_csv(stream) -> Iterator[Row]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
        reader = csv.reader(text)
        header = next(reader, None)
    except UnicodeDecodeError:
        yield Row(1, None, {}, "undecodable bytes (not UTF-8) in the header")
        return
    if header is None:
        return
    names = [h.strip() for h in header]
    column = next((i for i, h in enumerate(names) if h.lower() == "question"), None)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            yield Row(reader.line_num + 1, None, {}, "undecodable bytes (not UTF-8); the rest of the file is unreadable")
            return
        except csv.Error as exc:
            yield Row(reader.line_num, None, {}, f"broken CSV ({exc})")
            continue
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        extra = {names[i] if i < len(names) else f"column{i + 1}": v for i, v in enumerate(values) if i != column}
        if column is None:
            yield Row(line, None, extra, "missing column 'question'")
        elif column >= len(values):
            yield Row(line, None, extra, "row has no 'question' value")
        else:
            yield Row(line, values[column], extra)


READERS = {"txt": read_txt, "csv": read_csv, "jsonl": read_jsonl}


def answer_row(assistant: Assistant, row: Row, mode: str | None, k: int | None) -> dict:
    record = {"line": row.line, **{k_: v for k_, v in row.extra.items() if k_ not in ("line", "error")}}
    if row.error:
        return {**record, "question": row.question, "error": row.error}
    question = row.question or ""
    try:
        answer = assistant.ask(question, mode=mode, k=k)
    except QuestionError as exc:  # empty or too long: pipeline.check_question says which
        shown = question[:80] + "..." if len(question) > MAX_QUESTION_CHARS else question
        return {**record, "question": shown, "error": str(exc)}
    return {**record, **answer.to_dict()}


def fingerprint_of(record: dict) -> tuple:
    return (record.get("route"), record.get("answer"), tuple(c.get("passage_id") for c in record.get("citations") or []))


def load_previous(path: Path) -> dict[str, tuple]:
    previous = {}
    with open(path, "rb") as fh:
        for _, text, error in _lines(fh):
            try:
                rec = json.loads(text) if text else None
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("question") is not None:
                previous[str(rec["question"])] = fingerprint_of(rec)
    return previous


# -- writers --------------------------------------------------------------------------
class JsonlWriter:
    def __init__(self, out, meta: dict):
        self.out = out
        self.stamp = {"corpus_fingerprint": meta["corpus_fingerprint"], "version": meta["version"]}

    def write(self, record: dict) -> None:
        self.out.write(to_json({**record, **self.stamp}) + "\n")

    def close(self, summary: dict) -> None:
        pass


class CsvWriter:
    FIELDS = ["line", "question", "route", "intent", "intent_confidence", "answer", "sources", "safety_rules", "changed", "error"]

    def __init__(self, out, meta: dict):
        self.out = out
        self.meta = meta
        self.writer = None

    def write(self, record: dict) -> None:
        extra = [k for k in record if k not in self.FIELDS and k not in ("sentences", "citations", "passages", "safety")]
        if self.writer is None:
            self.writer = csv.DictWriter(self.out, fieldnames=self.FIELDS + extra + ["corpus_fingerprint", "version"],
                                         extrasaction="ignore")
            self.writer.writeheader()
        row = dict(record)
        row["sources"] = " | ".join(source_line(c["n"], c["title"], c["section"]) for c in record.get("citations") or [])
        row["safety_rules"] = ",".join(r["id"] for r in (record.get("safety") or {}).get("rules", []))
        row["corpus_fingerprint"], row["version"] = self.meta["corpus_fingerprint"], self.meta["version"]
        self.writer.writerow({k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v) for k, v in row.items()})

    def close(self, summary: dict) -> None:
        if self.writer is None:
            csv.writer(self.out).writerow(self.FIELDS)


class MarkdownWriter:
    def __init__(self, out, meta: dict):
        self.out = out
        out.write(f"# Frequently asked questions\n\nAnswered by massage-qa {meta['version']} from the guides "
                  f"(corpus {meta['corpus_fingerprint'][:12]}); every answer sentence is quoted from a guide.\n\n")

    def write(self, record: dict) -> None:
        question = clean(str(record.get("question") or "(unreadable question)")).replace("\n", " ")
        flag = " *(changed)*" if record.get("changed") else ""
        self.out.write(f"## {question}{flag}\n\n")
        if record.get("error"):
            self.out.write(f"> Not answered (line {record['line']}): {clean(record['error'])}\n\n")
            return
        for line in clean(record["answer"]).split("\n"):
            self.out.write((line.strip() + "  \n") if line.strip() else "\n")
        if record.get("citations"):
            self.out.write("\nSources:\n\n")
            for c in record["citations"]:
                self.out.write(f"- {source_line(c['n'], c['title'], c['section'])}\n")
        self.out.write("\n")

    def close(self, summary: dict) -> None:
        self.out.write(f"---\n\n{summary['answered']} answered, {summary['safety']} with safety warnings, "
                       f"{summary['abstained']} not covered by the guides, {summary['errors']} unreadable.\n")


WRITERS = {"jsonl": JsonlWriter, "csv": CsvWriter, "md": MarkdownWriter}


def _progress_rows(rows: Iterator[Row]):
    """Rows with prompt-toolkit's progress bar on stderr when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield from rows
        return
    from prompt_toolkit.output import create_output
    from prompt_toolkit.shortcuts import ProgressBar

    with ProgressBar(title="answering", output=create_output(stdout=sys.stderr)) as bar:
        yield from bar(rows)


def run_batch(args, open_assistant) -> int:
    source = args.file
    kind = args.input_format or (Path(source).suffix.lower().lstrip(".") if source != "-" else "txt")
    if kind not in READERS:
        print(f"massage-qa: error: cannot tell the format of {source!r}; use --input-format txt|csv|jsonl", file=sys.stderr)
        return 2
    out_format = args.format or (Path(args.output).suffix.lstrip(".") if args.output and
                                 Path(args.output).suffix.lstrip(".") in WRITERS else "jsonl")
    try:
        stream = sys.stdin.buffer if source == "-" else open(source, "rb")
    except OSError as exc:
        print(f"massage-qa: error: cannot open {source}: {exc.strerror}", file=sys.stderr)
        return 1
    previous = {}
    if args.compare:
        try:
            previous = load_previous(Path(args.compare))
        except OSError as exc:
            print(f"massage-qa: error: cannot open {args.compare}: {exc.strerror}", file=sys.stderr)
            return 1
    assistant = open_assistant(args)
    meta = {"corpus_fingerprint": assistant.index.manifest["fingerprint"], "version": __version__}
    try:
        out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    except OSError as exc:
        print(f"massage-qa: error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 1
    counts = {"answered": 0, "safety": 0, "abstained": 0, "errors": 0}
    started = time.perf_counter()
    writer = WRITERS[out_format](out, meta)
    with stream:
        for row in _progress_rows(READERS[kind](stream)):
            record = answer_row(assistant, row, args.mode, args.k)
            if args.compare and "error" not in record:
                record["changed"] = previous.get(str(record.get("question"))) != fingerprint_of(record)
            if "error" in record:
                counts["errors"] += 1
            else:
                counts["answered"] += 1
                counts["safety"] += record["route"] == "safety"
                counts["abstained"] += record["route"] == "abstain"
            writer.write(record)
    writer.close(counts)
    if out is not sys.stdout:
        out.close()
    else:
        out.flush()
    seconds = time.perf_counter() - started
    total = counts["answered"] + counts["errors"]
    print(f"massage-qa: {counts['answered']} answered ({counts['safety']} safety, {counts['abstained']} not covered), "
          f"{counts['errors']} errors, {total / seconds if seconds else 0:.0f} questions/s", file=sys.stderr)
    return 0
