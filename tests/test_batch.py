"""Batch: every input question gets exactly one record, in order; bad rows become error records."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from conftest import ROOT


def _records(text: str) -> list[dict]:
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def test_txt_to_jsonl_keeps_order_skips_comments_and_stamps_version(cli, tmp_path):
    faq = tmp_path / "faq.txt"
    faq.write_text("what oil should I use?\n# comment\n\nhow often should I do it?\nmy wife is pregnant\nhow do I bake bread\n", "utf-8")
    out = cli("batch", str(faq))
    assert out.returncode == 0, out.stderr
    records = _records(out.stdout)
    assert [r["line"] for r in records] == [1, 4, 5, 6]
    assert [r["route"] for r in records] == ["retrieval", "retrieval", "safety", "abstain"]
    assert all(r["version"] and len(r["corpus_fingerprint"]) == 64 for r in records)
    assert {"question", "intent", "intent_confidence", "route", "answer", "sentences", "citations", "passages", "safety"} <= set(records[0])
    assert "4 answered (1 safety, 1 not covered), 0 errors" in out.stderr


def test_bad_rows_become_error_records_and_nothing_is_lost(cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"question": "oil?", "ticket": 7}\n{broken\n{"q": "x"}\n"a string"\n{"question": ""}\n'
                    + b"\xff\xfe bad bytes\n" + json.dumps({"question": "x" * 2001}).encode() + b"\n"
                    + b'{"question": "how long should it last?"}\n')
    out = cli("batch", str(bad))
    assert out.returncode == 0
    records = _records(out.stdout)
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert records[0]["ticket"] == 7 and "error" not in records[0]
    errors = [r.get("error", "") for r in records[1:7]]
    assert [e.split(" ")[0] for e in errors] == ["broken", "missing", "not", "empty", "undecodable", "question"]
    assert "error" not in records[7]
    assert "2 answered" in out.stderr and "6 errors" in out.stderr


def test_csv_carries_columns_and_reports_a_missing_question_column(cli, tmp_path):
    good = tmp_path / "faq.csv"
    good.write_text("ticket,question\nA1,what oil should I use?\nA2,\nA3,how long should a massage last?\n", "utf-8")
    rows = list(csv.DictReader(io.StringIO(cli("batch", str(good), "--format", "csv").stdout)))
    assert [r["ticket"] for r in rows] == ["A1", "A2", "A3"]
    assert rows[0]["route"] == "retrieval" and "[1]" in rows[0]["answer"] and rows[1]["error"] == "empty question"
    missing = tmp_path / "nocol.csv"
    missing.write_text("title\nwhat oil\n", "utf-8")
    record, = _records(cli("batch", str(missing)).stdout)
    assert record["error"] == "missing column 'question'" and record["title"] == "what oil"


def test_markdown_faq_and_compare_flags_changes(cli, tmp_path):
    faq = tmp_path / "faq.txt"
    faq.write_text("what oil should I use?\nhow often should I give a back massage?\n", "utf-8")
    first = tmp_path / "first.jsonl"
    assert cli("batch", str(faq), "-o", str(first)).returncode == 0
    previous = _records(first.read_text("utf-8"))
    previous[1]["answer"] = "something else"
    first.write_text("\n".join(json.dumps(r) for r in previous) + "\n", "utf-8")
    md = tmp_path / "faq.md"
    assert cli("batch", str(faq), "-o", str(md), "--compare", str(first)).returncode == 0
    text = md.read_text("utf-8")
    assert "## what oil should I use?\n" in text and "## how often should I give a back massage? *(changed)*" in text
    assert "Sources:" in text and "[1]" in text


def test_stdin_and_unopenable_input(cli):
    out = cli("batch", "-", input="what oil should I use?\n")
    assert out.returncode == 0 and len(_records(out.stdout)) == 1
    missing = cli("batch", "/nonexistent/faq.txt")
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1


# -- nothing lost: refused before any work ----------------------------------------------
def _one_line_error(out) -> str:
    assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


def test_output_onto_the_input_is_refused_before_any_work(tmp_path):
    from conftest import run_cli

    faq = tmp_path / "q.txt"
    faq.write_text("what oil should I use?\n", "utf-8")
    (tmp_path / "link.txt").symlink_to(faq)
    never_built = tmp_path / "no-index"  # refused before the index is even looked at
    for output in (str(faq), str(tmp_path / "." / "q.txt"), str(tmp_path / "link.txt")):
        out = run_cli("batch", str(faq), "-o", output, index_dir=never_built)
        assert "is the questions file itself" in _one_line_error(out)
        assert faq.read_text("utf-8") == "what oil should I use?\n"
    with open(faq, "rb") as stdin:  # batch - -o q.txt < q.txt
        out = subprocess.run([sys.executable, "-m", "assistant", "batch", "-", "-o", str(faq)], stdin=stdin,
                             capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, MASSAGE_QA_INDEX=str(never_built)))
    assert "is the questions file itself" in _one_line_error(out)
    assert faq.read_text("utf-8") == "what oil should I use?\n" and not never_built.exists()


def test_output_into_a_missing_or_unwritable_folder_is_refused_before_any_work(tmp_path):
    from conftest import run_cli

    faq = tmp_path / "q.txt"
    faq.write_text("what oil should I use?\n", "utf-8")
    never_built = tmp_path / "no-index"
    line = _one_line_error(run_cli("batch", str(faq), "-o", str(tmp_path / "missing" / "a.jsonl"), index_dir=never_built))
    assert "does not exist" in line and "missing" in line
    assert "is a folder" in _one_line_error(run_cli("batch", str(faq), "-o", str(tmp_path), index_dir=never_built))
    assert "is a folder" in _one_line_error(run_cli("batch", str(tmp_path), index_dir=never_built))
    if (p := __import__("pathlib").Path("/proc")).is_dir():  # a folder nobody, not even root, can write
        assert "cannot write" in _one_line_error(run_cli("batch", str(faq), "-o", str(p / "answers.jsonl"),
                                                         index_dir=never_built))
    assert not never_built.exists()


def test_a_file_that_is_not_a_previous_run_is_refused_for_compare(cli, tmp_path):
    faq = tmp_path / "q.txt"
    faq.write_text("what oil should I use?\n", "utf-8")
    cases = {"text.jsonl": "what oil should I use?\n", "empty.jsonl": "", "list.jsonl": "[1, 2]\n",
             "labels.jsonl": '{"id": "q1", "question": "oil?", "intent": "oil_choice"}\n',
             "cites.jsonl": '{"question": "oil?", "route": "retrieval", "answer": "x", "citations": ["p1"]}\n'}
    for name, text in cases.items():
        (tmp_path / name).write_text(text, "utf-8")
        out = cli("batch", str(faq), "-o", str(tmp_path / "out.jsonl"), "--compare", str(tmp_path / name))
        assert "--compare takes the jsonl output of an earlier batch run" in _one_line_error(out) or \
            "no records" in out.stderr
        assert not (tmp_path / "out.jsonl").exists()


def test_input_fields_named_like_output_fields_are_never_taken_for_answers(cli, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"question": "what oil should I use?", "answer": "FAKE", "route": "FAKE", "changed": True,
                               "line": 99, "error": "FAKE"}) + "\n"
                   + json.dumps({"question": "", "answer": "FAKE", "route": "FAKE"}) + "\n", "utf-8")
    answered, failed = _records(cli("batch", str(src)).stdout)
    assert answered["answer"] != "FAKE" and answered["route"] == "retrieval" and "changed" not in answered
    assert answered["line"] == 1 and "error" not in answered
    assert (answered["input_answer"], answered["input_route"], answered["input_changed"], answered["input_line"],
            answered["input_error"]) == ("FAKE", "FAKE", True, 99, "FAKE")
    assert failed["error"] == "empty question" and "answer" not in failed and "route" not in failed
    assert failed["input_answer"] == "FAKE"
    csv_in = tmp_path / "in.csv"
    csv_in.write_text("question,answer,route\nwhat oil should I use?,FAKE,FAKE\n", "utf-8")
    row, = csv.DictReader(io.StringIO(cli("batch", str(csv_in), "--format", "csv").stdout))
    assert row["answer"] != "FAKE" and row["route"] == "retrieval" and row["input_answer"] == "FAKE"


def test_csv_rows_report_the_line_they_start_on_and_bad_lines_spoil_one_row(cli, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b'\xef\xbb\xbfid,question\n1,"what oil\nshould I use?"\n2,caf\xe9?\n3,"how long should it last?"\n'
                    b'4,"unterminated')
    records = _records(cli("batch", str(src)).stdout)
    assert [(r["line"], r["id"] if "id" in r else None) for r in records][:3] == [(2, "1"), (4, None), (5, "3")]
    assert "question" in records[0] and "error" not in records[0]
    assert records[1]["error"].startswith("undecodable bytes")
    assert records[3]["line"] == 6


def test_a_line_over_the_bound_is_an_error_record_read_in_bounded_memory(tmp_path, monkeypatch):
    from assistant import batch

    monkeypatch.setattr(batch, "MAX_LINE_BYTES", 1000)
    data = b"what oil?\n" + b"x" * 5000 + b"\nhow long?\n" + b"y" * 3000
    rows = list(batch.read_txt(io.BytesIO(data)))
    assert [(r.line, r.question, r.error is not None) for r in rows] == [(1, "what oil?", False), (2, None, True),
                                                                           (3, "how long?", False), (4, None, True)]
    assert "longer than" in rows[1].error
    rows = list(batch.read_csv(io.BytesIO(b"question\n" + b"z" * 5000 + b"\nok?\n")))
    assert [(r.line, r.question) for r in rows] == [(2, None), (3, "ok?")]


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(assistant, tmp_path):
    from assistant.batch import CsvWriter, Row, answer_rows

    rows = [Row(1, "=HYPERLINK(\"http://x\")", {"note": "+1+1", "who": "@cmd", "t": "\tx", "ok": "-", "esc": "\x1b[31mred\u202e"}),
            Row(2, None, {"note": "=1"}, "broken JSON (x)")]
    out = io.StringIO()
    writer = CsvWriter(out, {"corpus_fingerprint": "f", "version": "v"})
    for record in answer_rows(assistant, rows):
        writer.write(record)
    writer.close({})
    text = out.getvalue()
    assert "\x1b" not in text and "\u202e" not in text
    first, second = list(csv.DictReader(io.StringIO(text)))
    assert first["note"] == "'+1+1" and first["who"] == "'@cmd" and first["t"] == "'\tx" and first["ok"] == "'-"
    assert first["esc"] == "red" and second["note"] == "'=1"
    for row in (first, second):
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values() if v), row


def test_a_question_asked_again_is_answered_once_and_alike(cli, tmp_path, monkeypatch):
    from assistant.pipeline import Assistant

    asked = []
    real_ask = Assistant.ask
    monkeypatch.setattr(Assistant, "ask", lambda self, q, *a, **kw: asked.append(q) or real_ask(self, q, *a, **kw))
    faq = tmp_path / "faq.txt"
    faq.write_text("what oil should I use?\nhow often?\nwhat  oil should I use? \nwhat oil should I use?\n", "utf-8")
    out = cli("batch", str(faq))
    assert out.returncode == 0, out.stderr
    records = _records(out.stdout)
    assert [r["line"] for r in records] == [1, 2, 3, 4]
    assert records[0]["answer"] == records[2]["answer"] == records[3]["answer"]
    assert len(asked) == 2


def test_jobs_answer_in_processes_exactly_as_one_process_does(cli, tmp_path):
    """Conversations stay whole and in order, repeats and bad rows keep their place."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps(r) for r in [
        {"question": "my wife is pregnant, what oil should i use", "conversation": "a"},
        {"question": "what oil should i use"},
        {"question": "and how long?", "conversation": "a"},
        {"question": ""},
        {"question": "what oil should i use"},
        {"question": "how often can i do it", "conversation": "b"},
        {"question": "what about her neck?", "conversation": "b"}]) + "\n", "utf-8")
    one, two = cli("batch", str(rows)), cli("batch", str(rows), "--jobs", "2")
    assert one.returncode == two.returncode == 0, two.stderr
    assert _records(two.stdout) == _records(one.stdout)
    answered = [r for r in _records(two.stdout) if "line" in r]
    assert len(answered) == 7 and "error" in answered[3]
    assert [r["held_conditions"] for r in answered[:3]] == [["pregnancy"], [], ["pregnancy"]]


def test_a_bad_jobs_value_is_a_one_line_error(cli, tmp_path):
    faq = tmp_path / "faq.txt"
    faq.write_text("what oil should I use?\n", "utf-8")
    out = cli("batch", str(faq), "--jobs", "many")
    assert out.returncode == 2 and "--jobs" in out.stderr and "Traceback" not in out.stderr
