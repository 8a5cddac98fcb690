# Two entry points that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := test,plan,web,postgres,bench

.PHONY: demo check test test-fast bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

# Debian packages the tests drive for real (nmap as a peer scanner, chromium for the browser tests).
system-deps:
	@bash scripts/system-deps.sh

demo: $(STAMP)
	$(BIN)/clearsite demo --out demo-out

# The code checks CI runs before the tests: style (ruff), types (mypy: strict on core and store) and
# the layer rules (import-linter; its contracts are in pyproject.toml).
check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: check system-deps
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow and not browser"

bench: $(STAMP)
	$(BIN)/python bench/register_scale.py

clean:
	rm -rf $(VENV) demo-out clearsite.db clearsite.db-wal clearsite.db-shm .pytest_cache
