# The two commands of the README quickstart: `make chat` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: chat test index bench eval clean help

help:
	@echo "make chat   set up .venv, build the index if needed, open the chat"
	@echo "make test   set up .venv with the test extra and run the test suite"
	@echo "make eval   evaluate on the shipped question set"
	@echo "make bench  run the benchmarks"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "massage-qa needs Python 3.11 or newer (set PYTHON=...)")'
	@echo "[1/3] creating $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "[2/3] installing massage-qa and its dependencies into $(VENV) (numpy, scipy, scikit-learn, nltk, prompt-toolkit; about a minute the first time)"
	@$(BIN)/python -m pip install -q --progress-bar on -e '.[test]'
	@touch $@

index: $(VENV)/.installed
	@echo "[3/3] checking the index (built from corpus/ when missing or stale: a few seconds)"
	@$(BIN)/massage-qa index

chat: index
	@$(BIN)/massage-qa chat

test: $(VENV)/.installed
	$(BIN)/python -m pytest

eval: index
	$(BIN)/massage-qa eval --summary

$(VENV)/.bench-installed: pyproject.toml $(VENV)/.installed
	@echo "installing the bench extra (rank-bm25, bm25s, numba, tantivy, pyinstrument) into $(VENV)"
	@$(BIN)/python -m pip install -q -e '.[test,bench]'
	@touch $@

# BENCH_ARGS="--sizes 10k,100k,1m --profile 10k" for the full run; --quick for a smoke run
bench: index $(VENV)/.bench-installed
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) index/*.json index/*.npy index/*.npz
