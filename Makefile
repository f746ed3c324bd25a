# Two commands matter: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench bench-board bench-stream migrate seed clean asyncapi lock screenshots

# Installs come only from the lock file, every package pinned and hash-checked, so two
# installs on two days get the same versions (docs/decisions/0009-locked-dependencies.md).
$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Parley needs Python 3.11+"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# The one deliberate upgrade: re-resolve to the newest versions pyproject.toml's ranges
# allow, for Linux and macOS on Python 3.11+, then run `make test` before committing.
# The runtime lock is constrained by the dev lock, so the image runs what the suite tested.
# `make lock UPGRADE=` re-locks after a change to pyproject.toml keeping every other pin.
LOCK_FLAGS := --quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command 'make lock'
UPGRADE ?= --upgrade
lock: $(STAMP)
	$(BIN)/uv pip compile $(LOCK_FLAGS) $(UPGRADE) --extra dev -o requirements-dev.lock pyproject.toml
	$(BIN)/uv pip compile $(LOCK_FLAGS) -c requirements-dev.lock -o requirements.lock pyproject.toml
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
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

bench-board: $(STAMP)
	$(BIN)/python -m bench.leaderboard $(BENCH_ARGS)

bench-stream: $(STAMP)
	$(BIN)/python -m bench.streaming $(BENCH_ARGS)

# docs/screenshots/*.png, shown in the README: the web client's browser tests (tests/web)
# save each main screen as they pass through it. Needs Chromium (apt-get install chromium).
screenshots: $(STAMP)
	PARLEY_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/web -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info .mypy_cache .ruff_cache .pytest_cache

asyncapi: $(STAMP)
	$(BIN)/python -m realtime.asyncapi > docs/asyncapi.json
