"""Shared fixtures: isolated user directories, one index built per test session, a CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
TINY = Path(__file__).resolve().parent / "fixtures" / "tiny"  # two short guides: for tests that build indexes of their own


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path, monkeypatch):
    """No test reads or writes the real user's config, cache, data or history."""
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
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


@pytest.fixture
def cli(index_dir):
    """The CLI against the session's index."""
    def run(*args: str, **kw):
        kw.setdefault("index_dir", index_dir)
        return run_cli(*args, **kw)
    return run
