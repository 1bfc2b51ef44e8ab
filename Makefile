# Two commands: `make demo` (set up everything, run every workflow once on SQLite)
# and `make test` (the whole suite, on SQLite and on PostgreSQL when reachable).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VAR := $(CURDIR)/var
LOGS := $(VAR)/logs

# The embedded Airflow: its home, metadata database (SQLite) and logs live under var/.
export AIRFLOW_HOME := $(VAR)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DEFAULT_TIMEZONE := Asia/Seoul
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := True
export GX_ANALYTICS_ENABLED := False

# Every DAG, in dependency order (a test checks that each DAG in dags/ is listed once).
DAGS_IN_ORDER := care_data_quality referral_pull referral_intake hospital_callbacks device_alert_sync care_conference_tier1 care_conference_tier2 care_conferences home_visit_planning pledge_reports care_deadlines

.PHONY: install browser-deps demo test lint ui bench clean

$(BIN)/.installed: pyproject.toml requirements.lock
	@echo "==> creating $(VENV) and installing the locked dependencies"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	@$(BIN)/python -m uv pip install --quiet --python $(BIN)/python -r requirements.lock
	@$(BIN)/python -m uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

install: $(BIN)/.installed

demo: install
	@mkdir -p $(LOGS)
	@echo "==> checking the prerequisites (database, keys, Korean font, output folder)"
	@$(BIN)/python -m care_models check
	@echo "==> migrating the Airflow metadata database (SQLite, $(AIRFLOW_HOME))"
	@$(BIN)/airflow db migrate > $(LOGS)/airflow-db-migrate.log 2>&1 \
		|| { tail -20 $(LOGS)/airflow-db-migrate.log; exit 1; }
	@echo "==> migrating the care database"
	@$(BIN)/python -m care_models migrate 2>&1 | grep -v '^INFO' || true
	@echo "==> loading the synthetic county"
	@$(BIN)/python -m care_models seed
	@PYTHONPATH=$(CURDIR):$(CURDIR)/plugins $(BIN)/python -m care_sim.demo $(DAGS_IN_ORDER)
	@echo
	@echo "==> summary"
	@$(BIN)/python -m care_models summary
	@echo "workflow logs: $(LOGS)"
	@echo
	@echo "Airflow UI: make ui   (runs 'airflow standalone' on $(AIRFLOW_HOME), then open"
	@echo "http://localhost:8080; the admin password is in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated)"

# Debian packages the browser tests and Korean screenshots need, and nginx for the
# proxy tests (root, as on CI). Without root they are not installed and those tests
# skip, saying why. (grep -c reads fc-list to the end: with pipefail, grep -q could
# close the pipe early, fail fc-list and reinstall every time.)
browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
		|| { ! command -v nginx >/dev/null && ! test -x /usr/sbin/nginx; } \
		|| ! fc-list 2>/dev/null | grep -ci nanum >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "==> installing chromium chromium-driver fonts-nanum nginx-light"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				chromium chromium-driver fonts-nanum nginx-light >/dev/null; \
		else \
			echo "note: run 'sudo make browser-deps' for the browser and proxy tests (they skip)"; \
		fi; \
	fi

test: install browser-deps
	@$(BIN)/python -m pytest

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

# airflow standalone starts its API server, scheduler, DAG processor and triggerer by
# running `airflow` from PATH, so the venv's bin goes first. The workflows are unpaused
# (UNPAUSE=0 keeps them as they are): on the embedded demo their next runs then show.
UI_PORT ?= 8080
UNPAUSE ?= 1
ui: install
	@mkdir -p $(LOGS)
	@$(BIN)/airflow db migrate > $(LOGS)/airflow-db-migrate.log 2>&1 \
		|| { tail -20 $(LOGS)/airflow-db-migrate.log; exit 1; }
	@if [ "$(UNPAUSE)" = 1 ]; then \
		$(BIN)/airflow dags reserialize > $(LOGS)/airflow-reserialize.log 2>&1 || true; \
		for dag in $(DAGS_IN_ORDER); do \
			$(BIN)/airflow dags unpause $$dag > /dev/null 2>&1 \
				&& echo "unpaused $$dag" || echo "note: $$dag not registered yet"; \
		done; \
	fi
	@echo "==> Airflow UI on http://localhost:$(UI_PORT) (admin password: $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated)"
	@PATH="$(CURDIR)/$(BIN):$$PATH" AIRFLOW__API__PORT=$(UI_PORT) $(BIN)/airflow standalone

bench: install
	@$(BIN)/python bench/dag_parse.py

# The compose file's CeleryExecutor stack natively (README, "The distributed stack,
# natively"): fresh databases on the local PostgreSQL, the broker on the local Redis, the
# API server, scheduler, DAG processor, triggerer, two Celery workers and the care API,
# from deploy/stack.env; logs, PIDs and secrets in var/stack/. stack-down stops them.
.PHONY: stack stack-down
STACK_PORT ?= 8080
STACK_CARE_PORT ?= 8000
stack: install
	@$(BIN)/python -m care_sim.stack up --run-dir $(VAR)/stack --port $(STACK_PORT) \
		--care-port $(STACK_CARE_PORT)

stack-down:
	@$(BIN)/python -m care_sim.stack down --run-dir $(VAR)/stack

clean:
	rm -rf $(VAR)
