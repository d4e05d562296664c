# smarketing: `make demo` builds everything on the demo world; `make test` runs the test suite.
VENV ?= .venv
PY := $(VENV)/bin/python
DBT := $(VENV)/bin/dbt
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export SMARKETING_WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb

.PHONY: install manifest demo test dev bench lint clean
SCALE ?= 1

install: $(VENV)/.installed

# Exact versions: pyproject.toml pins the direct dependencies, constraints.txt the whole tree.
$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

# Dagster reads the dbt manifest; it never parses the project at import. Parse from inside the
# project, as Dagster runs dbt there (seed paths in the partial-parse state are relative to it), and
# with the agreement's vars, as Dagster passes them: dbt then reuses this parse instead of parsing again.
# Parsed again only when a project file, a folder (a file removed) or the agreement changed.
DBT_INPUTS := $(shell find dbt_project -path dbt_project/target -prune -o -path dbt_project/logs -prune \
	-o \( -type d -o -name '*.sql' -o -name '*.yml' -o -name '*.py' -o -name '*.csv' \) -print)
manifest: dbt_project/target/manifest.json

dbt_project/target/manifest.json: $(VENV)/.installed $(DBT_INPUTS) agreement.yml
	cd dbt_project && ../$(DBT) parse --profiles-dir . --quiet --vars "$$(cd .. && $(PY) -m orchestration.agreement dbt-vars)"
	touch $@

demo: manifest
	$(PY) -m orchestration.demo

# One worker per core; a module's tests share its warehouse fixture, so they stay on one worker.
test: manifest
	$(PY) -m pytest -n 2 --dist loadfile

# Times each stage of a full build at scale SCALE (1 = ~1M sessions, 100k leads, 10k deals a year).
bench: manifest
	$(PY) -m bench.run --scale $(SCALE)

dev: manifest
	$(VENV)/bin/dagster dev -w workspace.yaml

lint: install
	$(VENV)/bin/ruff check ingestion orchestration tests bench attribution postgres_target

clean:
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache
