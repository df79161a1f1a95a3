# Quick start: `make demo` (site on http://127.0.0.1:8000), `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# torch is installed on its own first and pinned, so no other package can pull a CUDA build.
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
# After the suite on PostgreSQL, these run again on the quick start's SQLite, where SQL that
# only PostgreSQL understands would fail (`SQLITE_TESTS=` skips the pass).
SQLITE_TESTS ?= tests/curation tests/statistics tests/multilabel tests/model_loop tests/campaigns
DEMO_UTTERANCES ?= 40
HOST ?= 127.0.0.1:8000

.PHONY: demo test install lint services worker bench

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py make_demo --utterances $(DEMO_UTTERANCES)
	@echo
	@echo "Site: http://$(HOST)/   admin / reviewer / annotator1..16, password cherma-demo (demo only)"
	@echo "Celery workers run in the background (filesystem broker, no Redis): one for renditions"
	@echo "and exports, one for training runs. Ctrl-C stops everything."
	@trap 'kill $$cpu $$gpu 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/celery -A annotator worker -Q cpu,export -c 1 -n cpu@%h --loglevel=WARNING & cpu=$$!; \
	  $(BIN)/celery -A annotator worker -Q gpu -c 1 -n gpu@%h --loglevel=WARNING & gpu=$$!; \
	  $(PY) manage.py runserver $(HOST)

test: $(STAMP)
	@$(PY) scripts/check_services.py "$(TEST_DATABASE_URL)" "$(TEST_BROKER_URL)"
	DATABASE_URL="$(TEST_DATABASE_URL)" CELERY_BROKER_URL="$(TEST_BROKER_URL)" $(PY) -m pytest $(PYTEST_ARGS)
	$(if $(strip $(SQLITE_TESTS)),env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) -m pytest -q $(SQLITE_TESTS))

lint: $(STAMP)
	$(BIN)/ruff check .

worker: $(STAMP)
	$(BIN)/celery -A annotator worker -Q cpu,export --loglevel=INFO
