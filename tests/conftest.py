"""Shared fixtures: isolated user directories, one index built per test session, a CLI runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY = FIXTURES / "tiny"  # two short guides: for tests that build indexes of their own


def fixture_rows(name: str) -> list[dict]:
    """The rows of a JSON Lines set in tests/fixtures (the sets written blind, each row with its labels)."""
    return [json.loads(line) for line in (FIXTURES / name).read_text("utf-8").splitlines()]


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One cache folder for the session (the everyday-word stems every build reuses); indexes
    kept there are named by their corpus folder, which is each test's own."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path, monkeypatch, shared_cache):
    """No test reads or writes the real user's config, cache, data or history."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_cache))
    for var in ("MASSAGE_QA_CORPUS", "MASSAGE_QA_INDEX", "MASSAGE_QA_CONFIG", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def assistant(index_dir):
    from assistant.pipeline import Assistant

    return Assistant.open(CORPUS, index_dir)


@pytest.fixture(scope="session")
def index(assistant):
    return assistant.index


@pytest.fixture(scope="session")
def guides():
    from assistant.corpus import load_guides

    return {g.name: g for g in load_guides(CORPUS)}


@pytest.fixture
def tiny_copy(tmp_path) -> Path:
    """A writable copy of the two-guide fixture corpus (cheap to index)."""
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    return folder


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder


def run_cli(*args: str, input: str | None = None, env: dict | None = None, cwd: Path | None = None,
            index_dir: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real entry point (python -m assistant) in a subprocess."""
    full_env = dict(os.environ, **(env or {}))
    if index_dir is not None:
        full_env["MASSAGE_QA_INDEX"] = str(index_dir)
    return subprocess.run([sys.executable, "-m", "assistant", *args], input=input, capture_output=True,
                          text=True, env=full_env, cwd=cwd or ROOT, timeout=120)


def run_main(*args: str, input: str | None = None, env: dict | None = None, cwd: Path | None = None,
             index_dir: Path | None = None) -> subprocess.CompletedProcess:
    """The entry point's main() in this process, with its own stdin, stdout, stderr, environment
    and folder (what `python -m assistant` runs, without starting Python again)."""
    import io

    from assistant.cli import main

    mp = pytest.MonkeyPatch()
    try:
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        if index_dir is not None:
            mp.setenv("MASSAGE_QA_INDEX", str(index_dir))
        mp.chdir(cwd or ROOT)
        out, err = io.BytesIO(), io.BytesIO()
        streams = {name: io.TextIOWrapper(buffer, encoding="utf-8", write_through=True)
                   for name, buffer in (("stdout", out), ("stderr", err))}
        mp.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((input or "").encode("utf-8")), encoding="utf-8"))
        for name, stream in streams.items():
            mp.setattr(sys, name, stream)
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        mp.undo()
    return subprocess.CompletedProcess(args, code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8"))


@pytest.fixture
def cli(index_dir):
    """The CLI against the session's index, run in this process (tests of the process itself,
    a terminal or an installed wheel, use run_cli)."""
    def run(*args: str, **kw):
        kw.setdefault("index_dir", index_dir)
        return run_main(*args, **kw)
    return run


def assert_refused_by_name(tmp_path, monkeypatch, name: str, doc: dict, cached, load) -> None:
    """A data file `name` holding `doc` makes `load` raise a DataFileError naming the file (`cached`:
    the functools.cache that would otherwise keep the shipped file's contents)."""
    import json

    import assistant.datafiles as datafiles

    (tmp_path / name).write_text(json.dumps(doc), "utf-8")
    monkeypatch.setattr(datafiles, "DATA_DIR", tmp_path)
    cached.cache_clear()
    try:
        with pytest.raises(datafiles.DataFileError, match=name):
            load()
    finally:
        cached.cache_clear()
