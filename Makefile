# WikiVisage: `make run` sets everything up and runs the web app with a real Celery worker;
# `make test` installs what is missing and runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
QUEUES := default,crawl,detect,learn,write
APT_PACKAGES := pkg-config libmariadb-dev gettext chromium
MANAGE := $(BIN)/python manage.py

.PHONY: lock run demo superuser demo-superuser test journey lint catalogues check-migrations messages system-deps install demo worker web clean

## Debian packages the build needs (mysqlclient's headers, gettext, chromium for browser tests).
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

## The virtual environment, exactly as locked: requirements-dev.txt pins every package (pip and
## setuptools too) with the hashes of its files, and pip refuses anything else; the project itself
## comes after, without dependencies. dlib comes from the prebuilt dlib-bin wheel; face_recognition
## declares a dependency on the source-only "dlib", so it is installed last, without deps.
$(STAMP): pyproject.toml requirements-dev.txt | system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/pip install -q --no-deps 'face_recognition==1.3.0'
	$(BIN)/python -c "import face_recognition, dlib, MySQLdb"
	touch $(STAMP)

install: $(STAMP)

## Refresh the locks after changing pyproject.toml's dependencies: requirements-dev.txt (what
## `make install` installs) and requirements.txt (the app alone: the Dockerfile and Toolforge),
## with the hashes of the files this machine's package index serves. Pins that still fit are kept;
## `make lock LOCK_ARGS=--upgrade` moves everything to the newest versions that fit.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile -q --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock: | $(STAMP)
	$(PIP_COMPILE) $(LOCK_ARGS) --extra dev -o requirements-dev.txt pyproject.toml
	@# The app's lock starts from the dev lock, so that both pin every shared package alike.
	cp requirements-dev.txt requirements.txt
	$(PIP_COMPILE) -o requirements.txt pyproject.toml

.env:
	cp .env.example .env

messages: $(STAMP) .env
	$(MANAGE) compilemessages --ignore=.venv -v0

## honcho, given the time a Celery worker takes to stop warmly (finish its tasks, stop its pool and
## its embedded beat) before it SIGKILLs what is left: its own 5 s cut the worker short.
STOP_SECONDS ?= 20
HONCHO = $(BIN)/python -c 'import honcho.command, honcho.manager; \
	honcho.manager.KILL_WAIT = $(STOP_SECONDS); honcho.command.main()'

## Web app and a real Celery worker (with beat) together (Procfile.dev, run by honcho, which
## leaves the real environment and .env to Django: --env /dev/null);
## Ctrl-C stops both within seconds.
run: export RUN_ADDR = $(HOST):$(PORT)
run: export RUN_WORKERS = $(WORKERS)
run: install .env messages
	$(MANAGE) migrate --no-input
	@echo "WikiVisage on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/; 'make superuser' creates an account)"
	PATH="$(CURDIR)/$(BIN):$$PATH" exec $(HONCHO) --env /dev/null start -f Procfile.dev -d .

## The whole workflow offline: the stand-in on a world built from ../shared/data/faces, a
## worker and the web app, with a demo user and project (log in as demo / demo).
DEMO_DIR ?= var/demo
# Expanded once, here: the demo exports DEMO_DIR as this absolute path, and a recursive "="
# would then refer to itself (unless DEMO_DIR came from the command line).
DEMO_PATH := $(abspath $(DEMO_DIR))
DEMO_STANDIN_PORT ?= 8765
STANDIN := http://127.0.0.1:$(DEMO_STANDIN_PORT)
# Everything the demo keeps (database, broker, beat schedule, world, token key) is in DEMO_DIR.
demo demo-superuser: export WIKIVISAGE_DATA_DIR = $(DEMO_PATH)
demo demo-superuser: export DATABASE_URL = sqlite:///$(DEMO_PATH)/demo.sqlite3
demo demo-superuser: export CELERY_BROKER_URL = filesystem://
demo demo-superuser: export COMMONS_API_URL = $(STANDIN)/commons/w/api.php
demo demo-superuser: export WIKIDATA_API_URL = $(STANDIN)/wikidata/w/api.php
demo demo-superuser: export SOCIAL_AUTH_MEDIAWIKI_URL = $(STANDIN)/meta/w/index.php
demo demo-superuser: export SOCIAL_AUTH_MEDIAWIKI_KEY = wikivisage-fake-consumer
demo demo-superuser: export SOCIAL_AUTH_MEDIAWIKI_SECRET = wikivisage-fake-consumer-secret-00000000
demo demo-superuser: export SOCIAL_AUTH_MEDIAWIKI_CALLBACK = http://$(HOST):$(PORT)/oauth/complete/mediawiki/
# With OAuth configured the app refuses to start without a key to seal tokens with.
demo demo-superuser: export WIKIVISAGE_TOKEN_KEY = $(shell cat $(DEMO_PATH)/token.key 2>/dev/null)
demo demo-superuser: export DEMO_DIR = $(DEMO_PATH)
demo demo-superuser: export DEMO_STANDIN_PORT := $(DEMO_STANDIN_PORT)
demo demo-superuser: export RUN_ADDR = $(HOST):$(PORT)
demo demo-superuser: export RUN_WORKERS = $(WORKERS)
demo: $(DEMO_PATH)/token.key install .env messages
	test -f $(DEMO_PATH)/world.json || $(BIN)/python -m fakecommons build $(DEMO_PATH)/world.json
	$(MANAGE) migrate --no-input -v0
	@echo "WikiVisage demo on http://$(HOST):$(PORT)/ — log in as demo / demo (or 'Log in with your Wikimedia account': the stand-in approves)"
	PATH="$(CURDIR)/$(BIN):$$PATH" exec $(HONCHO) --env /dev/null start -f Procfile.demo -d .

$(DEMO_PATH)/token.key: | $(STAMP)
	mkdir -p $(DEMO_PATH)
	$(BIN)/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" > $@

## An admin account for `make run`'s database (migrated first, so it works on a fresh clone).
superuser: install .env
	$(MANAGE) migrate --no-input -v0
	$(MANAGE) createsuperuser

## Another admin account in the demo's database (demo / demo is one already).
demo-superuser: $(DEMO_PATH)/token.key install .env
	$(MANAGE) migrate --no-input -v0
	$(MANAGE) createsuperuser

test: install .env messages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The contributor's whole path in Chromium, against the app as production runs it (gunicorn,
## Celery per queue, MariaDB, Redis) and as `make run` does.
journey: install .env messages
	$(BIN)/python -m pytest -m journey $(PYTEST_ARGS)

MAKEMESSAGES := $(MANAGE) makemessages -l en -l nb -l es -l fr --no-location --ignore=.venv --ignore=var --ignore=test-artifacts -v0

## Refresh the translation catalogues after changing user-visible strings.
catalogues: install .env
	$(MAKEMESSAGES)

## The tooling's modules that mypy checks (benchmarks/, outside the wheel).
TOOLING := benchmarks/__main__.py benchmarks/commands benchmarks/evaluation benchmarks/detection.py \
	benchmarks/modelserver.py

lint: install .env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy core wikivisage projects faces faceengine commons depicts fakecommons benchmarks/pipeline.py benchmarks/encoder.py \
		$(TOOLING)
	@# DESIGN.md's layers and no import cycles, imports inside functions counted (pyproject.toml).
	$(BIN)/lint-imports --no-cache
	@# No module of the product over 600 lines, no function over 60 (.ci/sizes.py).
	$(BIN)/python .ci/sizes.py
	$(MANAGE) makemigrations --check --dry-run
	@# The compiled catalogues are committed (Toolforge's buildpack compiles none): never stale.
	$(MANAGE) compilemessages --ignore=.venv -v0
	git diff --exit-code -- 'locale/*.mo' || { echo "Run 'make messages' and commit the .mo files."; exit 1; }
	@# The catalogues hold every string of the code (tests/test_i18n.py checks they are translated).
	$(MAKEMESSAGES)
	git diff -I '^"POT-Creation-Date' --exit-code -- locale || { echo "Run 'make catalogues' and translate the new strings."; exit 1; }

clean:
	rm -rf var/broker var/broker-test-* var/test-*.sqlite3 .pytest_cache .mypy_cache .ruff_cache
