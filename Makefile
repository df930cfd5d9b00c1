# dqm — every target creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The service's runtime only (make serve, make demo); the test and lint tools on top of it.
RUNTIME := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed-dev

.PHONY: install serve demo test test-fast lint format bench clean .typecheck

$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Serve on the embedded default: SQLite + ./dqm-data, http://127.0.0.1:8000 (/docs for the API;
## DQM_PORT=8123 make serve for another port).
serve: $(RUNTIME)
	$(BIN)/dqm serve

## The 2-minute tour on a throwaway database.
demo: $(RUNTIME)
	$(BIN)/dqm demo

## The test suite (SQLite; set DQM_TEST_DATABASE_URL=postgresql+psycopg://... for PostgreSQL).
## Some tests run the real promtool and Prometheus: .ci/install-prometheus provides them;
## the console's browser tests drive Debian's Chromium: .ci/install-chromium provides it;
## the Spark profile tests need Java 17+: .ci/install-java provides it.
test: $(STAMP)
	.ci/install-prometheus
	.ci/install-chromium
	.ci/install-java
	$(BIN)/pytest

## The suite without the tests marked slow (several processes, large inputs), for quick iteration.
test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

lint: $(STAMP) .typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## The package as it installs (dqm.service, ...), for mypy: links to the folders.
.typecheck:
	mkdir -p .typecheck/dqm
	for d in service monitors alerts; do ln -sfn ../../$$d .typecheck/dqm/$$d; done

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Benchmarks (under 15 minutes on 2 cores), then README's performance table from their results
## (bench/results/*.json). Evidently's 1M x 25 time is the stored one unless EVIDENTLY_1M=1
## (several minutes more). The scheduler bench measures SCHEDULER_MINUTES per phase (5 for the
## issue's figures: about 25 minutes), on PostgreSQL at DQM_BENCH_POSTGRES_URL when it answers.
SCHEDULER_MINUTES ?= 1
bench: $(STAMP)
	$(BIN)/python -m bench.drift_vs_evidently --shapes 100k_25 1m_25 100k_100 $(if $(EVIDENTLY_1M),--with-evidently-1m) --memory
	$(BIN)/python -m bench.drift_window_cost
	$(BIN)/python -m bench.label_quality
	$(BIN)/python -m bench.coverage
	$(BIN)/python -m bench.run_memory
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.service_path
	$(BIN)/python -m bench.metrics_scrape
	$(BIN)/python -m bench.runs_listing
	$(BIN)/python -m bench.storage_per_run
	$(BIN)/python -m bench.scheduler --minutes $(SCHEDULER_MINUTES)
	$(BIN)/python -m bench.drift_calibration --columns 100 --big-columns 20 --runs 100
	$(BIN)/python -m bench.table

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .typecheck
