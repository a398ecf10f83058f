"""Batch answering of FAQ files: questions in (txt, csv, jsonl, or stdin), one record out per
question, in input order, as jsonl, csv or a Markdown FAQ; streamed (constant memory but for the
answers kept to repeat) on one core, or answered by --jobs forked processes.

A bad row (empty, too long, undecodable, missing column, broken JSON) becomes a record with an
`error` field; nothing is lost or duplicated. `--compare` marks answers that changed since an
earlier jsonl run. The output file is written beside itself and renamed into place at the end,
and is refused before any work when it is the input, or cannot be written.

`answer_rows(assistant, rows)` is the library call; `run_batch` is the command around it.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from assistant import __version__
from assistant.display import clean, csv_cell, source_line, to_json
from assistant.pipeline import MAX_QUESTION_CHARS, Assistant, Conversation, QuestionError

# A longer input line becomes an error record; it is read in bounded chunks, never held whole.
MAX_LINE_BYTES = 1 << 20
# Fields of an output record: an input field with one of these names is kept as input_<name>,
# never mistaken for part of the answer.
OUTPUT_FIELDS = frozenset({"line", "question", "error", "changed", "corpus_fingerprint", "version", "answer", "route",
                           "intent", "intent_confidence", "sentences", "citations", "passages", "safety", "sources",
                           "safety_rules", "other_fields", "held_conditions", "carried"})
CONVERSATION_FIELD = "conversation"  # rows sharing its value are answered in order as one conversation


class BatchError(Exception):
    """A batch that is refused before any work (output onto the input, unwritable output,
    unusable --compare file), with a one-line reason."""


@dataclass
class Row:
    """One input question (or the reason it could not be read) with its line number and extra fields."""

    line: int
    question: str | None
    extra: dict
    error: str | None = None


def bounded_lines(stream) -> Iterator[bytes | None]:
    """Each line of a binary stream (newline kept), or None for one longer than MAX_LINE_BYTES,
    which is skipped in bounded chunks."""
    limit = MAX_LINE_BYTES
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        if len(raw) > limit and not raw.endswith(b"\n"):
            while True:
                chunk = stream.readline(1 << 16)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield None
        else:
            yield raw


def _too_long() -> str:
    return f"line longer than {MAX_LINE_BYTES // 1024} KiB (a question may have {MAX_QUESTION_CHARS} characters)"


def _lines(stream) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, error) for each line of a binary stream; bad bytes spoil one line only."""
    for n, raw in enumerate(bounded_lines(stream), 1):
        if raw is None:
            yield n, None, _too_long()
            continue
        try:
            yield n, raw.decode("utf-8-sig" if n == 1 else "utf-8").rstrip("\r\n"), None
        except UnicodeDecodeError as exc:
            yield n, None, f"undecodable bytes (not UTF-8) at column {exc.start + 1}"


def _rename_reserved(fields: dict) -> dict:
    """Input fields, those named like an output field renamed input_<name>."""
    out = {}
    for key, value in fields.items():
        key = str(key)
        while key in OUTPUT_FIELDS or key in out:
            key = f"input_{key}"
        out[key] = value
    return out


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
            yield Row(n, None, {}, f"broken JSON ({getattr(exc, 'msg', exc)})")
            continue
        if not isinstance(obj, dict):
            yield Row(n, None, {}, "not a JSON object")
        elif "question" not in obj:
            yield Row(n, None, _rename_reserved(obj), "missing field 'question'")
        else:
            extra = _rename_reserved({k: v for k, v in obj.items() if k != "question"})
            ok = isinstance(obj["question"], str)
            yield Row(n, obj["question"] if ok else None, extra, None if ok else "'question' is not text")


class _BadLine(Exception):
    """A CSV line that cannot be read (undecodable, too long)."""


class _DecodedLines:
    """The lines of a binary stream as text for csv.reader, counted; an undecodable or overlong
    line raises _BadLine once, and the reader goes on with the next line."""

    def __init__(self, stream):
        self.raw = bounded_lines(stream)
        self.n = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        raw = next(self.raw)
        self.n += 1
        if raw is None:
            raise _BadLine(_too_long())
        try:
            return raw.decode("utf-8-sig" if self.n == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise _BadLine(f"undecodable bytes (not UTF-8) at column {exc.start + 1}") from None


def read_csv(stream) -> Iterator[Row]:
    """Rows of a CSV file with a 'question' column; each row reports the line it starts on."""
    lines = _DecodedLines(stream)
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except _BadLine as exc:
        yield Row(1, None, {}, f"{exc} in the header")
        return
    except csv.Error as exc:
        yield Row(1, None, {}, f"broken CSV header ({exc})")
        return
    if header is None:
        return
    names: list[str] = []
    for i, h in enumerate(header):
        name = h.strip()
        names.append(name if name and name not in names else f"column{i + 1}")
    column = next((i for i, h in enumerate(names) if h.lower() == "question"), None)
    start = lines.n + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except _BadLine as exc:
            yield Row(lines.n, None, {}, str(exc))
            start = lines.n + 1
            continue
        except csv.Error as exc:
            yield Row(start, None, {}, f"broken CSV ({exc})")
            start = lines.n + 1
            continue
        line, start = start, lines.n + 1
        if not any(v.strip() for v in values):
            continue
        extra = _rename_reserved({names[i] if i < len(names) else f"column{i + 1}": v
                                  for i, v in enumerate(values) if i != column})
        if column is None:
            yield Row(line, None, extra, "missing column 'question'")
        elif column >= len(values):
            yield Row(line, None, extra, "row has no 'question' value")
        else:
            yield Row(line, values[column], extra)


READERS = {"txt": read_txt, "csv": read_csv, "jsonl": read_jsonl}


def answer_row(assistant: Assistant, row: Row, mode: str | None, k: int | None,
               conversation: Conversation | None = None) -> dict:
    """The one output record of an input row; never raises (but for Ctrl-C). With a conversation
    (rows sharing a `conversation` value), the row is a turn of it: the record says which
    conditions are held after it and what it carried from earlier turns."""
    if row.error:
        return {"line": row.line, **row.extra, "question": row.question, "error": row.error}
    return record_of(row, answer_of(assistant, row.question or "", mode, k, conversation))


def answer_of(assistant: Assistant, question: str, mode: str | None, k: int | None,
              conversation: Conversation | None = None) -> dict:
    """The answer fields of a record (or its question and error); never raises (but for Ctrl-C)."""
    try:
        answer = assistant.ask(question, conversation, mode=mode, k=k)
    except QuestionError as exc:  # empty or too long: pipeline.check_question says which
        shown = question[:80] + "..." if len(question) > MAX_QUESTION_CHARS else question
        return {"question": shown, "error": str(exc)}
    except Exception as exc:  # a bug costs this row, not the batch
        if os.environ.get("MASSAGE_QA_DEBUG"):
            raise
        return {"question": question[:200], "error": f"internal error: {type(exc).__name__}: {exc}"}
    answered = answer.to_dict()
    held = conversation.in_force() if conversation is not None else {r.id for r in answer.route.rules}
    answered.update(held_conditions=sorted(held), carried=answer.route.carried)
    return answered


def record_of(row: Row, answered: dict) -> dict:
    """A row's record: its line, its own fields, then the answer's."""
    # an answer field the program adds later must not meet an input field of the same name
    extra = {("input_" + key if key in answered else key): value for key, value in row.extra.items() if key != "line"}
    return {"line": row.line, **extra, **answered}


def _talk(row: Row) -> str | None:
    """The conversation a readable row is a turn of (None: it stands alone)."""
    talk = row.extra.get(CONVERSATION_FIELD)
    return None if row.error or talk in (None, "") else str(talk)


def _same_question(row: Row) -> str:
    """A row's question with its white space normalised, as the assistant reads it (check_question)."""
    return " ".join((row.question or "").split())


def answer_rows(assistant: Assistant, rows: Iterable[Row], mode: str | None = None, k: int | None = None,
                previous: dict[str, tuple] | None = None, jobs: int = 1) -> Iterator[dict]:
    """One record per row, in order. A question asked again outside a conversation (white space
    aside) is answered once; `jobs` > 1 answers in that many forked processes (the rows are read
    first). With `previous` (from load_previous) each answered record says whether it `changed`."""
    records = _records_in_processes(assistant, list(rows), mode, k, jobs) if jobs > 1 else _records(assistant, rows, mode, k)
    for record in records:
        record.setdefault(CONVERSATION_FIELD, None)
        if previous is not None and "error" not in record:
            record["changed"] = previous.get(str(record.get("question"))) != fingerprint_of(record)
        yield record


# How many distinct answers a one-process batch keeps to repeat (the oldest go first).
REMEMBERED_ANSWERS = 10_000


def _records(assistant: Assistant, rows: Iterable[Row], mode: str | None, k: int | None) -> Iterator[dict]:
    conversations: dict[str, Conversation] = {}
    answered: dict[str, dict] = {}
    for row in rows:
        talk = _talk(row)
        if row.error or talk is not None:
            yield answer_row(assistant, row, mode, k, conversations.setdefault(talk, Conversation()) if talk else None)
            continue
        key = _same_question(row)
        if key not in answered:
            if len(answered) >= REMEMBERED_ANSWERS:
                del answered[next(iter(answered))]
            answered[key] = answer_of(assistant, row.question or "", mode, k)
        yield record_of(row, dict(answered[key]))


# What forked workers answer from: set in the parent just before the pool forks (never sent).
_WORK: tuple | None = None


def _answer_unit(unit: list[int]) -> list[tuple[int, dict]]:
    """The answers of one unit of rows: one question, or every turn of one conversation in order."""
    assistant, rows, mode, k = _WORK
    conversation = Conversation() if _talk(rows[unit[0]]) is not None else None
    return [(i, answer_of(assistant, rows[i].question or "", mode, k, conversation)) for i in unit]


def _records_in_processes(assistant: Assistant, rows: list[Row], mode: str | None, k: int | None,
                          jobs: int) -> Iterator[dict]:
    """The records of `rows` answered by `jobs` forked processes: each distinct question outside
    a conversation and each conversation is one unit of work; records come back in input order."""
    import multiprocessing

    global _WORK
    units: dict[str, list[int]] = {}
    first_of: dict[int, int] = {}  # row -> the row whose answer it shares
    for i, row in enumerate(rows):
        if row.error:
            continue
        talk = _talk(row)
        unit = units.setdefault(f"talk:{talk}" if talk is not None else f"question:{_same_question(row)}", [])
        if talk is not None or not unit:
            unit.append(i)
        first_of[i] = i if talk is not None else unit[0]
    _WORK = (assistant, rows, mode, k)
    answers: dict[int, dict] = {}
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            work = list(units.values())
            for done in _progress(pool.imap_unordered(_answer_unit, work, chunksize=max(1, len(work) // (jobs * 8))),
                                  len(work)):
                answers.update(done)
    finally:
        _WORK = None
    for i, row in enumerate(rows):
        if row.error:
            yield answer_row(assistant, row, mode, k)
        else:
            yield record_of(row, dict(answers[first_of[i]]))


def fingerprint_of(record: dict) -> tuple:
    return (record.get("route"), record.get("answer"), tuple(c.get("passage_id") for c in record.get("citations") or []))


def load_previous(path: Path) -> dict[str, tuple]:
    """Question -> answer fingerprint of an earlier jsonl run; BatchError for a file that is not one."""
    hint = "--compare takes the jsonl output of an earlier batch run"
    previous: dict[str, tuple] = {}
    records = 0
    try:
        with open(path, "rb") as fh:
            for n, text, error in _lines(fh):
                if error:
                    raise BatchError(f"{path}, line {n}: {error}; {hint}")
                if not text.strip():
                    continue
                try:
                    rec = json.loads(text)
                except ValueError:
                    raise BatchError(f"{path}, line {n}: not JSON; {hint}") from None
                citations = rec.get("citations") if isinstance(rec, dict) else None
                if (not isinstance(rec, dict) or "question" not in rec
                        or not ("error" in rec or ("answer" in rec and "route" in rec))
                        or not isinstance(citations or [], list) or not all(isinstance(c, dict) for c in citations or [])):
                    raise BatchError(f"{path}, line {n}: not a record of a batch run; {hint}")
                records += 1
                if "error" not in rec:
                    previous[str(rec["question"])] = fingerprint_of(rec)
    except IsADirectoryError:
        raise BatchError(f"{path} is a folder; {hint}") from None
    except OSError as exc:
        raise BatchError(f"cannot open {path}: {exc.strerror or exc}") from None
    if not records:
        raise BatchError(f"{path} holds no records; {hint}")
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
    """CSV with a fixed header: the answer's fields, then the input's own columns (taken from the
    first record; with jsonl input, fields first seen later go to `other_fields` as JSON). Every
    cell is cleaned of control characters, and one a spreadsheet would run gets a leading '."""

    FIELDS = ["line", "question", "route", "intent", "intent_confidence", "answer", "sources", "safety_rules", "changed", "error"]
    NESTED = ("sentences", "citations", "passages", "safety")

    def __init__(self, out, meta: dict, varying: bool = False):
        self.out = out
        self.meta = meta
        self.varying = varying
        self.writer = None
        self.extra: list[str] = []

    def write(self, record: dict) -> None:
        extra = [k for k in record if k not in self.FIELDS and k not in self.NESTED]
        if self.writer is None:
            self.extra = extra
            fields = self.FIELDS + extra + (["other_fields"] if self.varying else []) + ["corpus_fingerprint", "version"]
            self.writer = csv.DictWriter(self.out, fieldnames=fields, extrasaction="ignore")
            self.writer.writeheader()
        row = dict(record)
        row["sources"] = " | ".join(source_line(c["n"], c["title"], c["section"]) for c in record.get("citations") or [])
        row["safety_rules"] = ",".join(r["id"] for r in (record.get("safety") or {}).get("rules", []))
        others = {k: record[k] for k in extra if k not in self.extra}
        if self.varying and others:
            row["other_fields"] = json.dumps(others, ensure_ascii=False)
        row["corpus_fingerprint"], row["version"] = self.meta["corpus_fingerprint"], self.meta["version"]
        self.writer.writerow({k: csv_cell(json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
                              for k, v in row.items()})

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


def _progress(items: Iterable, total: int | None = None):
    """Items with prompt-toolkit's progress bar on stderr when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield from items
        return
    from prompt_toolkit.output import create_output
    from prompt_toolkit.shortcuts import ProgressBar

    with ProgressBar(title="answering", output=create_output(stdout=sys.stderr)) as bar:
        yield from bar(items, total=total)


# -- the command ----------------------------------------------------------------------
def check_output(output: Path, inputs: Iterable[tuple[str, object]] = ()) -> None:
    """Refuse, before any work, an output path that would overwrite an input or cannot be written.

    `inputs` are (argument name, path or open file) pairs: an output that is the same file as
    one of them (by device and inode, so links and other spellings count too) is refused.
    """
    output = Path(output)
    if output.is_dir():
        raise BatchError(f"output {output} is a folder; give a file name")
    folder = output.parent
    if not folder.is_dir():
        raise BatchError(f"cannot write {output}: folder {folder} does not exist (create it first)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BatchError(f"cannot write {output}: folder {folder} is not writable")
    try:
        out_stat = os.stat(output)
    except OSError:
        return
    if not os.access(output, os.W_OK):
        raise BatchError(f"cannot write {output}: the file is read-only")
    for name, source in inputs:
        try:
            in_stat = os.fstat(source.fileno()) if hasattr(source, "fileno") else os.stat(source)
        except (OSError, ValueError):
            continue
        if os.path.samestat(in_stat, out_stat):
            raise BatchError(f"output {output} is the {name} itself: writing it would lose it; choose another -o")


class AtomicOutput:
    """A text file written beside `path` and renamed onto it by `commit`; `discard` leaves `path` as it was."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self.file = open(self.tmp, "w", encoding="utf-8", newline="")

    def commit(self) -> None:
        self.file.close()
        try:
            os.chmod(self.tmp, os.stat(self.path).st_mode & 0o7777)
        except OSError:
            pass
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.file.close()
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


def _error(message: str) -> None:
    print(clean(f"massage-qa: error: {message}"), file=sys.stderr)


def _write_records(assistant: Assistant, args, stream, kind: str, out_format: str, out, previous, counts: dict) -> None:
    """Answer every row of the input into the writer, counting what happened."""
    meta = {"corpus_fingerprint": assistant.index.manifest["fingerprint"], "version": __version__}
    writer = CsvWriter(out, meta, varying=kind == "jsonl") if out_format == "csv" else WRITERS[out_format](out, meta)
    jobs = args.jobs or os.cpu_count() or 1
    rows = READERS[kind](stream)
    for record in answer_rows(assistant, rows if jobs > 1 else _progress(rows), args.mode, args.k, previous, jobs):
        if "error" in record:
            counts["errors"] += 1
        else:
            counts["answered"] += 1
            counts["safety"] += record["route"] == "safety"
            counts["abstained"] += record["route"] == "abstain"
        writer.write(record)
    writer.close(counts)


def run_batch(args, open_assistant) -> int:
    source = args.file
    if source != "-" and Path(source).is_dir():
        _error(f"{source} is a folder; give a questions file (txt, csv or jsonl)")
        return 1
    kind = args.input_format or (Path(source).suffix.lower().lstrip(".") if source != "-" else "txt")
    if kind not in READERS:
        _error(f"cannot tell the format of {source!r}; use --input-format txt|csv|jsonl")
        return 2
    output = None if args.output in (None, "-") else Path(args.output)
    suffix = output.suffix.lower().lstrip(".") if output else ""
    out_format = args.format or (suffix if suffix in WRITERS else "jsonl")
    try:
        stream = sys.stdin.buffer if source == "-" else open(source, "rb")
    except OSError as exc:
        _error(f"cannot open {source}: {exc.strerror or exc}")
        return 1
    target = None
    try:
        if output:
            check_output(output, [("questions file", stream)])
        previous = load_previous(Path(args.compare)) if args.compare else None
        if output:
            try:  # created now, so an output that cannot be written is refused before any work
                target = AtomicOutput(output)
            except OSError as exc:
                raise BatchError(f"cannot write {output}: {exc.strerror or exc}") from None
    except BatchError as exc:
        stream.close()
        _error(str(exc))
        return 1
    counts = {"answered": 0, "safety": 0, "abstained": 0, "errors": 0}
    try:
        with stream:
            assistant = open_assistant(args)
            started = time.perf_counter()
            out = target.file if target else sys.stdout
            _write_records(assistant, args, stream, kind, out_format, out, previous, counts)
        if target:
            target.commit()
        else:
            out.flush()
    except BaseException as exc:
        if target:
            target.discard()
            if isinstance(exc, KeyboardInterrupt):
                print(clean(f"massage-qa: interrupted; {output} left as it was"), file=sys.stderr)
        raise
    seconds = time.perf_counter() - started
    total = counts["answered"] + counts["errors"]
    print(f"massage-qa: {counts['answered']} answered ({counts['safety']} safety, {counts['abstained']} not covered), "
          f"{counts['errors']} errors, {total / seconds if seconds else 0:.0f} questions/s", file=sys.stderr)
    return 0
