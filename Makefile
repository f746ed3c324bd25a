# Two commands matter: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench migrate seed clean asyncapi

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Parley needs Python 3.11+"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/parley serve --workers $${WORKERS:-2}

migrate: $(STAMP)
	$(BIN)/parley migrate

seed: $(STAMP)
	$(BIN)/parley seed

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.fanout $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info .mypy_cache .ruff_cache .pytest_cache

asyncapi: $(STAMP)
	$(BIN)/python -m realtime.asyncapi > docs/asyncapi.json
