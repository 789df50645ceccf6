# Two commands from a fresh clone: `make chat` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat test eval validate bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
		{ $(PYTHON) -m pip install --quiet --user virtualenv && $(PYTHON) -m virtualenv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

chat: $(STAMP)
	$(BIN)/posbot chat

# lint (real bugs, blocking calls in the bot), types (strict on the core and the stores), then the tests
test: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/mypy && $(BIN)/python -m pytest

validate: $(STAMP)
	$(BIN)/posbot validate

eval: $(STAMP)
	$(BIN)/posbot eval tests/eval/questions.yaml

bench: $(STAMP)
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/accuracy.py --file tests/eval/questions.yaml --sweep --scorers
	$(BIN)/python benchmarks/latency.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/telegram.py
	$(BIN)/python benchmarks/ocr.py
	$(BIN)/python benchmarks/workers.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
