# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv if missing and refreshes it when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make bench` has its own venv, with Apprise pinned (the comparison) and httpx-aiohttp.
# Apprise is also the optional `apprise` extra (the Apprise bridge), which the dev extra
# installs so the bridge's tests run; the demo leaves the bridge out when it is missing.
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

# The reference implementations the tests compare counts with (tests/js_oracle.py): X's
# twitter-text and Twilio's segment calculator, from npm. Without npm (or offline), those
# tests skip and say why; nothing else needs node.
JS_STAMP := tests/js/node_modules/.installed

# What a venv made before the rename may still hold: the project under its old
# distribution name (now broadcast-crisis), and phonenumbers, whose files the
# phonenumberslite that replaced it shares (removing it later would delete them).
STALE := broadcast phonenumbers

.PHONY: demo test lint typecheck unit docs bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "broadcast needs Python >= 3.11; set PYTHON=python3.11 (or newer)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip uninstall --quiet --yes $(STALE) 2>/dev/null || true
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

$(BENCH_STAMP): pyproject.toml benchmarks/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "broadcast needs Python >= 3.11; set PYTHON=python3.11 (or newer)")'
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -m pip uninstall --quiet --yes $(STALE) 2>/dev/null || true
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' -r benchmarks/requirements.txt
	@touch $(BENCH_STAMP)

demo: $(STAMP)
	$(BIN)/broadcast demo

test: lint typecheck unit docs

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy --strict src examples tests/typing

# On every core: the tests use their own ports, directories and journals; a module
# fixture that is costly to repeat keeps its tests on one worker (xdist_group).
unit: $(STAMP) $(JS_STAMP)
	$(BIN)/pytest -n auto --dist loadgroup

$(JS_STAMP): tests/js/package.json
	@if command -v npm >/dev/null && command -v node >/dev/null; then \
		npm install --prefix tests/js --no-package-lock --no-audit --no-fund --ignore-scripts \
			--loglevel=error && touch $@ \
		|| echo "note: npm install failed; the comparisons with the JavaScript references will skip"; \
	else \
		echo "note: no node/npm; the comparisons with the JavaScript references will skip"; \
	fi

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

# Every script in benchmarks/, about 11 minutes; writes benchmarks/RESULTS.md.
# `make bench BENCH_ARGS=--quick` is a smoke run of a couple of minutes (report in /tmp).
bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) site .pytest_cache .mypy_cache .ruff_cache .coverage tests/js/node_modules
