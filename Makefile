# Two commands for a fresh machine: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint typecheck format bench dist clean

$(VENV)/.run-installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,dist]'
	touch $(VENV)/.run-installed $(VENV)/.dist-installed $@

$(VENV)/.dist-installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dist]'
	touch $(VENV)/.run-installed $@

# What the browser tests inject into pages (axe-core), pinned by tests/e2e/package-lock.json.
E2E_NODE := tests/e2e/node_modules/.installed

$(E2E_NODE): tests/e2e/package.json tests/e2e/package-lock.json
	npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
	touch $@

run: $(VENV)/.run-installed
	$(PY) run.py

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.test-installed
	$(VENV)/bin/mypy

format: $(VENV)/.test-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint typecheck $(E2E_NODE)
	$(PY) -m pytest -q

bench: $(VENV)/.test-installed
	$(PY) bench/engine_bench.py
	$(PY) bench/admin_bench.py
	$(PY) bench/admin_read_bench.py
	$(PY) bench/http_bench.py
	$(PY) bench/persist_bench.py
	$(PY) bench/ws_load.py
	$(PY) bench/admin_ws_bench.py
	$(PY) bench/bus_bench.py --drain 200000
	$(PY) bench/bus_bench.py
	$(PY) bench/cluster_bench.py
	$(PY) bench/library_bench.py

# The wheel and the one-file zipapp with every dependency inside, for this platform's Python
# (docs/operations.md). `make dist DIST=somewhere` builds them there instead of dist/.
DIST ?= dist

dist: $(VENV)/.dist-installed
	rm -f $(DIST)/click_the_button-*.whl $(DIST)/click_the_button-*.tar.gz $(DIST)/click-the-button.pyz
	$(PY) -m build --outdir $(DIST) .
	$(VENV)/bin/shiv --console-script click-the-button --python '/usr/bin/env python3' \
		--output-file $(DIST)/click-the-button.pyz $(DIST)/click_the_button-*.whl

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis tests/e2e/node_modules dist build *.egg-info
