"""Robustness (issue 20): bad input, hostile text, broken files give one clear line; nothing is
lost, nothing is run. Cases that belong to one front end live in its own test file; these cut across."""

from __future__ import annotations

import json
import shutil

from conftest import CORPUS, run_cli


def one_line_error(out) -> str:
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


# -- eval: inputs and outputs ------------------------------------------------------------
def test_eval_refuses_details_onto_its_question_set_before_any_work(tmp_path):
    questions = tmp_path / "qs.jsonl"
    shutil.copy(CORPUS / "questions.jsonl", questions)
    before = questions.read_bytes()
    never_built = tmp_path / "no-index"
    for args in (["--details", str(questions)], ["--details", str(tmp_path / "missing" / "d.jsonl")],
                 ["--trec-dir", str(questions)]):
        out = run_cli("eval", "--questions", str(questions), *args, index_dir=never_built)
        line = one_line_error(out)
        assert any(w in line for w in ("question set", "does not exist", "is a file")), line
    assert questions.read_bytes() == before and not never_built.exists()


def test_eval_on_another_corpus_with_the_shipped_labels_says_to_give_questions(tmp_path):
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "towels.txt").write_text("Towel Tips\n\nWarm the towels first. Fold one under the ankles.\n", "utf-8")
    line = one_line_error(run_cli("eval", "--corpus", str(tmp_path / "guides"), index_dir=tmp_path / "ix"))
    assert "--questions" in line and not (tmp_path / "ix").exists()


def test_eval_split_with_no_questions_is_one_line(tmp_path):
    questions = tmp_path / "one.jsonl"
    first = json.loads((CORPUS / "questions.jsonl").read_text("utf-8").splitlines()[0])
    questions.write_text("\ufeff" + json.dumps(first) + "\n", "utf-8")  # a BOM is fine too
    from assistant.evaluate import load_questions

    q, = load_questions(questions, CORPUS)
    other = "held" if q.split == "tune" else "tune"
    line = one_line_error(run_cli("eval", "--questions", str(questions), "--split", other, index_dir=tmp_path / "ix"))
    assert f"no questions in the '{other}' split" in line


# -- config ------------------------------------------------------------------------------------
import pytest  # noqa: E402


@pytest.mark.parametrize("toml, message", [
    ("[passages]\nmax_words = 0\n", "[passages] max_words = 0 is out of range"),
    ("[analysis]\nspell_cutoff = 5\n", "[analysis] spell_cutoff = 5 is out of range"),
    ("[router]\nC = 0\n", "[router] C = 0 is out of range"),
    ("[retrieval]\nk = -1\n", "[retrieval] k = -1 is out of range"),
    ("[retrieval]\nk = 1000000000\n", "[retrieval] k = 1000000000 is out of range"),
    ("[retrieval]\nbm25_weight = nan\n", "[retrieval] bm25_weight = nan: must be a number"),
    ("[retrieval]\nmode = \"fast\"\n", "choose one of hybrid, bm25, tfidf"),
    ("[retrieval]\nk = \"ten\"\n", "[retrieval] k = 'ten' should be int"),
    ("[retrieval\nk = 3\n", "not valid TOML"),
    ("k = 3\n", "'k' must be a [section]"),
])
def test_bad_config_values_are_one_line_naming_file_and_setting(tmp_path, toml, message):
    config = tmp_path / "config.toml"
    config.write_text(toml, "utf-8")
    line = one_line_error(run_cli("search", "oil", env={"MASSAGE_QA_CONFIG": str(config)}, index_dir=tmp_path / "ix"))
    assert message in line and str(config) in line
    assert not (tmp_path / "ix").exists()


def test_config_with_a_bom_and_an_unknown_key_is_used_with_a_warning(tmp_path):
    from assistant.config import ConfigWarning, load_config

    config = tmp_path / "config.toml"
    config.write_bytes("\ufeff[retrieval]\nk = 3\ncolour = \"blue\"\n".encode("utf-8"))
    with pytest.warns(ConfigWarning, match=r"unknown setting \[retrieval\] colour"):
        assert load_config(config).retrieval_k == 3
    with pytest.raises(Exception, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(Exception, match="is not a file"):
        load_config(tmp_path)


# -- nothing runs: no pickle, joblib, eval or exec in the package ---------------------------------
def test_the_package_never_unpickles_or_runs_text_as_code():
    import ast

    from conftest import ROOT

    unsafe_modules = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}
    found = []
    for path in sorted((ROOT / "assistant").rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                found += [f"{where} import {a.name}" for a in node.names if a.name.split(".")[0] in unsafe_modules]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in unsafe_modules:
                found.append(f"{where} from {node.module}")
            elif isinstance(node, ast.Call):
                if isinstance(node.func, ast.Name) and node.func.id in ("eval", "exec", "compile", "__import__"):
                    found.append(f"{where} {node.func.id}()")
                safe = any(kw.arg == "allow_pickle" and isinstance(kw.value, ast.Constant) and kw.value.value is False
                           for kw in node.keywords)
                if any(kw.arg == "allow_pickle" for kw in node.keywords) and not safe:
                    found.append(f"{where} allow_pickle other than False")
                func = node.func
                if (isinstance(func, ast.Attribute) and func.attr == "load" and isinstance(func.value, ast.Name)
                        and func.value.id in ("np", "numpy") and not safe):
                    found.append(f"{where} np.load without allow_pickle=False")
    assert not found, found


# -- any text, any rows (hypothesis) ---------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FAST = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
HOSTILE = ["", " ", "\t\n", "a", "?", "\x00\x01\x7f", "\x1b[31mred\x1b[0m oil", "\x1b]0;title\x07", "\x1b]52;c;ZXZpbA==\x07",
           "\x1b[2J\x1b[H", "\u202eesu I dluohs lio tahw", "\u2066oil\u2069", "🙂🙂🙂", "мой массаж спины", "按摩油",
           "'; DROP TABLE passages; --", "$(rm -rf ~)", "`reboot`", "%s%s%n", "{{7*7}}", "../../etc/passwd",
           "what oil should I use?" * 90, "oil " * 499, "\ud800 lone surrogate", "\ufeffoil", "\u2028oil\u2029"]
questions = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300),
                      st.text(st.characters(blacklist_categories=()), max_size=50),
                      st.lists(st.sampled_from(HOSTILE + ["oil", "pregnant", "knots", "how long", "and"]), max_size=8).map(" ".join))


@FAST
@given(question=questions)
def test_any_text_through_ask_is_an_answer_or_a_question_error(assistant, question):
    from assistant.display import clean, to_json
    from assistant.pipeline import QuestionError

    try:
        answer = assistant.ask(question)
    except QuestionError as exc:
        assert "\n" not in str(exc)
        return
    shown = clean(answer.text)
    assert "\x1b" not in shown and "\u202e" not in shown
    assert json.loads(to_json(answer.to_dict()))["route"] == answer.route.route


class _StubAssistant:
    """Answers instantly; an empty question is a QuestionError, one with 'boom' a bug."""

    def ask(self, question, mode=None, k=None):
        from types import SimpleNamespace

        from assistant.pipeline import check_question

        question = check_question(question)
        if "boom" in question:
            raise RuntimeError("a bug")
        return SimpleNamespace(to_dict=lambda: {"question": question, "intent": "general", "intent_confidence": 0.5,
                                                "route": "retrieval", "answer": f"=answer to {question}",
                                                "sentences": [], "citations": [], "passages": [], "safety": None})


row_text = st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE + ["boom", "# comment", "", "  "]))


@FAST
@given(lines=st.lists(row_text.map(lambda t: t.replace("\n", " ").replace("\r", " ")), max_size=12))
def test_any_txt_rows_give_one_record_each_in_order(lines):
    import io

    from assistant.batch import answer_rows, read_txt

    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    records = list(answer_rows(_StubAssistant(), read_txt(io.BytesIO(data))))
    expected = [n for n, line in enumerate(lines, 1)
                if line.strip() and not line.lstrip().startswith("#") or _undecodable(line)]
    assert [r["line"] for r in records] == expected


def _undecodable(line: str) -> bool:
    try:
        line.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                          lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
                          max_leaves=6)


@FAST
@given(rows=st.lists(st.one_of(st.fixed_dictionaries({"question": row_text}, optional={"answer": json_value, "id": json_value}),
                               json_value, st.just("{broken")), max_size=10))
def test_any_jsonl_rows_give_one_record_each_in_order(rows):
    import io

    from assistant.batch import answer_rows, read_jsonl

    lines = [r if r == "{broken" else json.dumps(r) for r in rows]
    records = list(answer_rows(_StubAssistant(), read_jsonl(io.BytesIO("\n".join(lines).encode("utf-8", "surrogatepass")))))
    assert [r["line"] for r in records] == list(range(1, len(lines) + 1))
    for row, record in zip(rows, records):
        if isinstance(row, dict) and "answer" in row:
            assert record["input_answer"] == row["answer"]
        assert record.get("answer", "=answer").startswith("=answer")


@FAST
@given(rows=st.lists(st.lists(row_text, min_size=2, max_size=2), max_size=10))
def test_any_csv_rows_give_one_record_each_in_order(rows):
    import csv
    import io

    from assistant.batch import answer_rows, read_csv

    out = io.StringIO()
    csv.writer(out).writerows([["question", "note"]] + rows)
    data = out.getvalue().encode("utf-8", "surrogatepass")
    records = list(answer_rows(_StubAssistant(), read_csv(io.BytesIO(data))))
    kept = [r for r in rows if any(v.strip() for v in r) or any(_undecodable(v) for v in r)]
    assert len(records) == len(kept)
    assert [r["line"] for r in records] == sorted(r["line"] for r in records)
    for row, record in zip(kept, records):
        if not any(_undecodable(v) for v in row):
            assert record["note"] == row[1]


# -- the terminal and --json ---------------------------------------------------------------------
def test_json_escapes_controls_drops_bidi_and_survives_invalid_utf8_in_argv(cli, index_dir):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    question = b"what oil \x1b]0;pwned\x07\xe2\x80\xae\xff\xfe should I use?"
    out = subprocess.run([sys.executable, "-m", "assistant", "ask", "--json", question], capture_output=True, cwd=ROOT,
                         env=dict(os.environ, MASSAGE_QA_INDEX=str(index_dir)), timeout=120)
    assert out.returncode == 0, out.stderr
    assert b"\x1b" not in out.stdout and b"\xe2\x80\xae" not in out.stdout and b"\x07" not in out.stdout
    data = json.loads(out.stdout.decode("utf-8"))
    assert "\ufffd" in data["question"] and "oil" in data["question"] and data["citations"]
    shown = subprocess.run([sys.executable, "-m", "assistant", "route", question], capture_output=True, cwd=ROOT,
                           env=dict(os.environ, MASSAGE_QA_INDEX=str(index_dir)), timeout=120)
    assert shown.returncode == 0 and b"\x1b" not in shown.stdout + shown.stderr


def test_a_very_long_search_is_cut_with_a_notice(cli):
    import time

    started = time.perf_counter()
    out = cli("search", "knots in the shoulders " * 5000, "--k", "3")  # 115 KB of words
    assert out.returncode == 0 and out.stdout.startswith(" 1. ")
    assert out.stderr.count("\n") == 1 and "query cut to its first" in out.stderr
    assert time.perf_counter() - started < 20


def test_k_beyond_any_ranking_is_refused(cli):
    assert "at most 100" in one_line_error(cli("search", "oil", "--k", "1000000000"))


# -- corpus files --------------------------------------------------------------------------------
GOOD = ("Warm Towels\n\nWarm the towels on a radiator before the massage so the person stays cosy. "
        "Fold one under the ankles and keep another over the legs while you work on the back.\n")


def test_guides_that_can_be_read_are_indexed_and_each_other_file_costs_one_line(tmp_path, monkeypatch):
    import os

    from assistant import corpus
    from assistant.corpus import build_passages, load_guides

    monkeypatch.setattr(corpus, "MAX_GUIDE_BYTES", 10_000)
    folder = tmp_path / "guides"
    folder.mkdir()
    (folder / "plain guide é.txt").write_text(GOOD, "utf-8")
    (folder / "latin1.txt").write_bytes(GOOD.replace("cosy", "cos\xe9").encode("latin-1"))
    (folder / "utf16.md").write_text("Oils\n\nJojoba oil soaks in quickly and suits most skin types well.\n", "utf-16")
    (folder / "crlf.txt").write_bytes(b"Pressure\r\n\r\nStart light and ask before you press harder on the muscles.\r\n")
    (folder / "zz-copy.txt").write_text(GOOD, "utf-8")  # a copy of an earlier guide
    (folder / "empty.txt").write_text("", "utf-8")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (folder / "huge.txt").write_text(GOOD * 100, "utf-8")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "dangling.md").symlink_to(folder / "gone.md")
    (folder / "folder.txt").mkdir()
    os.mkfifo(folder / "pipe.txt")
    (folder / "notes.csv").write_text("not a guide", "utf-8")
    notices = []
    guides = {g.name: g for g in load_guides(folder, notify=notices.append)}
    assert sorted(guides) == ["crlf.txt", "latin1.txt", "plain guide é.txt", "utf16.md"]
    assert "cosé" in guides["latin1.txt"].text and guides["utf16.md"].title == "Oils"
    skipped = sorted(n.split(": ")[0].rsplit("/", 1)[-1] for n in notices if n.startswith("skipped"))
    assert skipped == ["binary.txt", "dangling.md", "empty.txt", "folder.txt", "huge.txt", "loop.txt", "pipe.txt", "zz-copy.txt"]
    assert len(notices) == 9 and any("latin1.txt: not UTF-8" in n for n in notices)
    assert all("\n" not in n for n in notices)
    passages = build_passages(list(guides.values()))
    assert passages and not any("\r" in p.text for p in passages)
    crlf = guides["crlf.txt"]
    p = next(p for p in passages if p.guide == "crlf.txt")
    assert " ".join(crlf.text[p.start:p.end].split()) == p.text


def test_a_corpus_with_nothing_usable_fails_in_one_line_naming_a_file(tmp_path):
    from assistant.corpus import CorpusError, load_guides

    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02")
    with pytest.raises(CorpusError, match=r"no usable guide in .*: binary.md: binary, not text \(and 1 more skipped\)"):
        load_guides(tmp_path)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.symlink_to(p), "symbolic link that loops"),
    (lambda p: p.write_text("a file"), "is a file"),
    (lambda p: (p.mkdir(), (p / "a.txt").write_text(GOOD), (p / "manifest.json").write_text('{"guides": {"a.txt": {"title": 5}}}')),
     "'title' must be text"),
    (lambda p: (p.mkdir(), (p / "a.txt").write_text(GOOD), (p / "manifest.json").write_text('{"guides": [1]')),
     "not valid JSON"),
])
def test_a_bad_corpus_path_or_manifest_is_one_line(tmp_path, make, message):
    corpus = tmp_path / "guides"
    make(corpus)
    line = one_line_error(run_cli("search", "oil", "--corpus", str(corpus)))
    assert message in line and "guides" in line
