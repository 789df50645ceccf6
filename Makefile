# Two commands from a fresh clone: `make chat` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHAT_STAMP := $(VENV)/.installed-chat
DEV_STAMP := $(VENV)/.installed-dev
LOG := $(VENV)/install.log
# pip's own output (and any warnings of the machine's pip configuration) goes to $(LOG); one line is
# printed instead, and the log's end when something fails
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

$(BIN)/python:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
		{ $(PYTHON) -m pip install --quiet --user virtualenv && $(PYTHON) -m virtualenv $(VENV); }

# what `make chat` (and validate, eval) need: posbot and its runtime dependencies, about 200 MB
$(CHAT_STAMP): pyproject.toml | $(BIN)/python
	@echo "正在安装 posbot（对话所需，约 200 MB，首次约半分钟到一分钟）…"
	@$(PIP) -e . > $(LOG) 2>&1 || { tail -n 20 $(LOG); exit 1; }
	@touch $@

# what `make test` and `make bench` need besides: pytest, hypothesis, ruff, mypy, the OCR and
# server extras, scikit-learn for the baseline
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	@echo "正在安装 posbot 和开发依赖（测试、OCR、PostgreSQL/Redis 驱动，约 900 MB，首次几分钟）…"
	@$(PIP) -e '.[dev]' > $(LOG) 2>&1 || { tail -n 20 $(LOG); exit 1; }
	@touch $@ $(CHAT_STAMP)

chat: $(CHAT_STAMP)
	$(BIN)/posbot chat

# lint (real bugs, blocking calls in the bot), types (strict on the core and the stores), then the tests
# on two processes (pytest-xdist; each starts its own PostgreSQL and Redis on 127.0.0.1; loadgroup keeps
# the tests of one evaluation set on one process, so the set is scored once)
test: $(DEV_STAMP)
	$(BIN)/ruff check . && $(BIN)/mypy && $(BIN)/python -m pytest -n 2 --dist loadgroup

validate: $(CHAT_STAMP)
	$(BIN)/posbot validate

eval: $(CHAT_STAMP)
	$(BIN)/posbot eval tests/eval/questions.yaml

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/accuracy.py --file tests/eval/questions.yaml --sweep --scorers
	$(BIN)/python benchmarks/latency.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/telegram.py
	$(BIN)/python benchmarks/ocr.py
	$(BIN)/python benchmarks/workers.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
