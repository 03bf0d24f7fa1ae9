# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: what running needs (the package and its dependencies), and the
# test tools on top of it, installed only for the targets that use them.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# And the documentation site's tools (MkDocs, Material), for `make docs`.
DOCS_STAMP := $(VENV)/.installed-docs
FLASK := $(BIN)/flask --app practice_app

.PHONY: run test test-fast lint typecheck pytest pytest-sqlite pytest-postgres-redis system-deps bench bench-growth bench-search load docs clean

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/pip install -q --group test
	touch $(TEST_STAMP)

$(DOCS_STAMP): $(RUN_STAMP)
	$(BIN)/pip install -q --group docs
	touch $(DOCS_STAMP)

## run: install (no test tools), migrate, seed an empty catalogue, store the static routes (flask cache warm), serve on http://127.0.0.1:8000
run: $(RUN_STAMP)
	$(FLASK) db upgrade
	$(FLASK) seed --if-empty
	$(FLASK) cache warm
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## system-deps: Debian's chromium, redis-server and postgresql for the tests (apt, when missing and root)
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "The tests need Debian packages:$$missing (apt-get install$$missing)" >&2; exit 1; fi; \
	fi

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# The whole suite runs twice, side by side: on the embedded defaults (SQLite, the
# file cache) and on PostgreSQL + Redis (PRACTICE_TEST_BACKEND, tests/support/backends.py:
# one cluster and one redis-server per xdist worker, started by the tests). Each
# run on two xdist workers; loadscope keeps a module's tests, and so its gunicorn,
# on one worker. Each run's output is printed whole when it ends.
PYTEST_ARGS ?= -n 2 --dist loadscope

## pytest: the whole suite on SQLite + files and on PostgreSQL + Redis, the two runs at once
pytest: $(TEST_STAMP) system-deps
	$(MAKE) --no-print-directory -j2 --output-sync=target pytest-sqlite pytest-postgres-redis

pytest-sqlite: $(TEST_STAMP) system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

pytest-postgres-redis: $(TEST_STAMP) system-deps
	PRACTICE_TEST_BACKEND=postgres-redis $(BIN)/pytest $(PYTEST_ARGS)

## docs: the documentation site (docs/, mkdocs.yml) built into site/; --strict fails on a broken link
# (not --quiet: it hides the warnings --strict counts, and a broken link would pass)
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## test: ruff, mypy, the docs site and the whole pytest suite twice (unit, end-to-end against gunicorn, browser)
test: lint typecheck docs pytest

## test-fast: the unit tests alone (tests/unit: the test client, no server), on SQLite, in under a minute
test-fast: $(TEST_STAMP)
	PRACTICE_TEST_BACKEND=sqlite $(BIN)/pytest -n 2 -q tests/unit

## bench: wrk against gunicorn, a cache hit against a raw WSGI app (see docs/benchmarks.md)
bench: $(TEST_STAMP)
	$(BIN)/python bench/run.py

## bench-growth: search, cold list, hit vs raw at 1k/10k/100k problems, SQLite and PostgreSQL + Redis, POST CPU, bursts, Next.js (docs/benchmarks.md)
bench-growth: $(TEST_STAMP) system-deps
	$(BIN)/python bench/growth.py

## bench-search: a Zipf mix of 1,000 searches under a write a second, at 1k and 100k problems, against Next.js 14 (PRACTICE_NEXT_REF; docs/benchmarks.md)
bench-search: $(TEST_STAMP)
	$(BIN)/python bench/search.py

## load: wrk's mix of reads, searches, writes and deletes at 64 connections for 60 s (see docs/benchmarks.md)
load: $(RUN_STAMP)
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
