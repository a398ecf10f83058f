"""Batch: every input question gets exactly one record, in order; bad rows become error records."""

from __future__ import annotations

import csv
import io
import json


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
