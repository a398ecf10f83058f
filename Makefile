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
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

index: $(VENV)/.installed
	@$(BIN)/massage-qa index

chat: index
	@$(BIN)/massage-qa chat

test: $(VENV)/.installed
	$(BIN)/python -m pytest

eval: index
	$(BIN)/massage-qa eval

bench: index
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) index/*.json index/*.npy index/*.npz
