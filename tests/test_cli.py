"""The real entry point: output shapes, one-line errors with no traceback, corpus and index options."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile

import pytest

from conftest import TINY, CORPUS, ROOT, run_cli


def test_search_json_has_exactly_the_documented_fields(cli):
    out = cli("search", "what oil should I use", "--json", "--k", "3")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert list(data) == ["query", "mode", "passages"] and data["mode"] == "hybrid"
    assert len(data["passages"]) == 3
    first = data["passages"][0]
    assert list(first) == ["rank", "id", "guide", "title", "section", "score", "text", "start", "end"]
    assert "oil" in (first["section"] + first["text"]).lower()
    original = (CORPUS / first["guide"]).read_text("utf-8")
    assert " ".join(original[first["start"]:first["end"]].split()) == first["text"]


def test_search_text_output_and_modes(cli):
    for mode in ("bm25", "tfidf", "hybrid"):
        out = cli("search", "knots in the shoulders", "--mode", mode, "--k", "2")
        assert out.returncode == 0 and out.stdout.startswith(" 1. ")


@pytest.mark.parametrize("args, message", [
    (["search", "oil", "--k", "0"], "must be at least 1"),
    (["search", "oil", "--mode", "fuzzy"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
    (["ask", "x" * 2001], "longer than 2000"),
    (["ask", "   "], "empty question"),
])
def test_bad_arguments_give_one_line_and_a_nonzero_exit(cli, args, message):
    out = cli(*args)
    assert out.returncode != 0
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_an_unquoted_question_is_read_as_one_question(cli):
    unquoted = cli("ask", "--json", "what", "oil", "should", "i", "use")
    quoted = cli("ask", "--json", "what oil should i use")
    assert unquoted.returncode == 0, unquoted.stderr
    assert json.loads(unquoted.stdout) == json.loads(quoted.stdout)
    assert cli("search", "coconut", "oil").returncode == 0


def test_unreadable_corpus_is_a_one_line_error(tmp_path):
    (tmp_path / "broken.txt").write_bytes(b"\xff\xfe\x00oops")
    for corpus in (tmp_path, tmp_path / "missing"):
        out = run_cli("search", "oil", "--corpus", str(corpus), "--index-dir", str(tmp_path / "ix"))
        assert out.returncode == 1
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_corpus_option_and_environment_point_at_another_folder(tmp_path):
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "towels.txt").write_text(
        "Towel Tips\n\nWarm towels\n\nWarm the towels on a radiator before the massage so the person stays cosy. "
        "Fold one under the ankles and keep another over the legs while you work on the back.\n", "utf-8")
    out = run_cli("search", "towels radiator", "--corpus", str(tmp_path / "guides"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["passages"][0]["guide"] == "towels.txt"
    assert "building it" in out.stderr  # first use builds its own index (in the user cache), with a notice
    again = run_cli("search", "towels", env={"MASSAGE_QA_CORPUS": str(tmp_path / "guides")}, cwd=tmp_path)
    assert again.returncode == 0 and "(towels-001)" in again.stdout and again.stderr == ""


def test_index_command_reports_statistics(tmp_path):
    tiny = ["--corpus", str(TINY), "--index-dir", str(tmp_path / "ix")]
    out = run_cli("index", *tiny)
    assert out.returncode == 0, out.stderr
    for label in ("guides      2", "passages", "vocabulary", "seconds"):
        assert label in out.stdout
    assert "index built" in out.stdout
    assert "up to date" in run_cli("index", *tiny).stdout


def test_a_large_corpus_build_says_each_stage_as_it_starts_and_a_small_one_keeps_quiet(tmp_path):
    """A build split over processes (minutes at a million passages) tells the user where it is; the
    shipped guides' few seconds do not. "Large" here by setting the size it starts at below the tiny corpus."""
    tiny = ["--corpus", str(TINY), "--index-dir", str(tmp_path / "ix")]
    quiet = run_cli("index", "--rebuild", *tiny)
    assert quiet.returncode == 0 and "[" not in quiet.stderr and "saving" not in quiet.stderr, quiet.stderr
    settings = tmp_path / "large.toml"
    settings.write_text("[passages]\nparallel_min_chars = 1\n")
    out = run_cli("index", "--rebuild", *tiny, env={"MASSAGE_QA_CONFIG": str(settings)})
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("massage-qa: [")]
    assert [line.split("] ")[1].split(" ")[0] for line in lines] == ["splitting", "analysing", "fitting", "placing"]
    assert "splitting 2 guides" in lines[0] and out.stderr.index(lines[-1]) < out.stderr.index("saving the index")
    assert "passages    " in out.stdout


def test_help_teaches_with_examples():
    out = run_cli("--help")
    assert out.returncode == 0 and "examples:" in out.stdout and "massage-qa ask" in out.stdout
    out = run_cli("eval", "--help")
    assert out.returncode == 0 and "examples:" in out.stdout and "--split held" in out.stdout


def test_installed_wheel_finds_the_shipped_guides_without_the_checkout(tmp_path):
    """Built as a wheel and run from elsewhere, massage-qa still answers from its own copy of the guides."""
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    wheel, = (tmp_path / "dist").glob("*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        assert "assistant/shipped_corpus/relaxing-back-massage.txt" in z.namelist()
        z.extractall(site)
    env = {"PYTHONPATH": str(site), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-S", "-c", "import sys; sys.path[:0] = [p for p in __import__('os').environ['PYTHONPATH'].split(':')]; "
                          "import site; site.main(); from assistant.cli import main; sys.exit(main(['search', 'what oil', '--k', '1', '--json']))"],
                         capture_output=True, text=True, env=dict(__import__("os").environ, **env), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["passages"] and "oil" in data["passages"][0]["text"].lower()
    assert str(tmp_path / "cache") in out.stderr  # the index went to the user's cache directory


def test_answering_questions_imports_neither_nltk_nor_scikit_learn(assistant, index_dir):
    """The cold start stays fast: stems and the intent model are precomputed into the index, and
    nltk (about a second to import) is not needed even for typos and words the index never saw;
    nor numpy.ma (np.unique and the set functions import it: 15 ms)."""
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from assistant.pipeline import Assistant
        a = Assistant.open(Path({str(CORPUS)!r}), Path({str(index_dir)!r}))
        for q in ["what oil should I use?", "he doesnt have a fever, how long should it last?", "how offen",
                  "what oyl shud i use on her bak", "my grandad has a wonky hip and kneadings hurt him", "hello",
                  "thanks!"]:
            a.ask(q)
        print(sorted(m for m in ("nltk", "sklearn", "numpy.ma") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_garbage_is_collected_again_once_the_assistant_is_open(index_dir):
    """The collector is off while the assistant opens (a faster cold start) and back on for
    everything after it: a long chat or batch must not keep every cycle of garbage it makes."""
    script = textwrap.dedent(f"""
        import gc, sys
        from argparse import Namespace
        from pathlib import Path
        from assistant import cli
        gc.disable()
        a = cli.open_assistant(Namespace(corpus=Path({str(CORPUS)!r}), index_dir=Path({str(index_dir)!r})))
        after_open = gc.isenabled()
        status = cli.main(["search", "oil", "--corpus", "/no/such/folder"])
        print(after_open, status, gc.isenabled())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "1", "True"]


def test_eval_of_a_set_labelling_only_conditions_reports_what_it_labels(cli, tmp_path):
    """A set of phrases with their conditions (like corpus/conditions.jsonl) has no passages or intents
    labelled: the report says so rather than printing nan, and still scores safety and conditions."""
    path = tmp_path / "conditions.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in [
        {"id": "a", "question": "my wife is pregnant", "conditions": ["pregnancy"]},
        {"id": "b", "question": "she is not pregnant", "conditions": []}]) + "\n", encoding="utf-8")
    result = cli("eval", "--questions", str(path))
    assert result.returncode == 0, result.stderr
    assert "nan" not in result.stdout and "warning" not in result.stderr
    assert "no relevant passages labelled" in result.stdout and "no intents labelled" in result.stdout
    assert "Safety         recall 1.000   false alarms 0.000" in result.stdout
    assert "Conditions     exactly the labelled ones 1.000 (2 questions)" in result.stdout


def test_eval_scores_answers_written_elsewhere_against_the_sentence_labels(cli, tmp_path):
    """`eval --answers` scores someone else's answers (an expert's, another system's) as the assistant's
    own are scored: a labelled sentence first and alone is precise; an off-topic one lowers precision."""
    labels = [json.loads(line) for line in (ROOT / "corpus" / "sentence-labels.jsonl").read_text("utf-8").splitlines()]
    label = next(r for r in labels if r["id"] == "q001")
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(json.dumps({"id": "q001", "answer": label["key"]}) + "\n", encoding="utf-8")
    bad.write_text(json.dumps({"id": "q001", "answer": ["The person receiving the massage should lie face down, with a pillow under the ankles or chest for support."] + label["key"][:1]}) + "\n",
                   encoding="utf-8")
    scores = {}
    for path in (good, bad):
        result = cli("eval", "--answers", str(path), "--json")
        assert result.returncode == 0, result.stderr
        (row,) = json.loads(result.stdout)
        scores[path.stem] = row
    assert scores["good"]["sentence_precision"] == 1.0 and scores["good"]["key_recall"] == 1.0
    assert scores["bad"]["sentence_precision"] == 0.5 and scores["bad"]["first_acceptable"] == 0.0
    assert scores["bad"]["key_recall"] < 1.0
    # a question with no labels is one clear line, not a traceback
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "nope", "answer": ["x"]}) + "\n", encoding="utf-8")
    result = cli("eval", "--answers", str(other))
    assert result.returncode == 1 and "no sentence labels for question 'nope'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
