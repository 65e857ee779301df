# Amniyat: every set-up step lives here, so a fresh Debian machine needs only `make demo`
# or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
AMNIYAT := $(BIN)/amniyat
export AMNIYAT_HOME := $(CURDIR)

.PHONY: help install system-deps demo dev serve test lint typecheck migrations-check pytest bench messages clean

help:
	@echo "make demo   - set up everything, load the demo programmes, serve on http://127.0.0.1:8000"
	@echo "make test   - set up everything and run lint, types, migration checks and the test suite"
	@echo "make dev    - the development server with auto-reload"
	@echo "make bench  - the benchmarks"

# Debian packages: gettext (compiling catalogues), Chromium (browser tests, screenshots), Pango
# (WeasyPrint's PDF of a report) and Poppler's tools (reading a PDF back in the tests).
system-deps:
	@missing=""; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi dejavu || missing="$$missing fonts-dejavu-core"; \
	ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	command -v soffice >/dev/null || missing="$$missing libreoffice-writer-nogui"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian packages:$$missing"; \
	    (apt-get install -y -qq $$missing >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $$missing >/dev/null)); \
	  else \
	    echo "Please install these Debian packages:$$missing (sudo apt-get install$$missing)"; \
	  fi; \
	fi

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

src/amniyat/locale/%/LC_MESSAGES/django.mo: src/amniyat/locale/%/LC_MESSAGES/django.po
	cd src/amniyat && ../../$(AMNIYAT) compilemessages --verbosity 0

messages: $(VENV)/.installed
	cd src/amniyat && ../../$(AMNIYAT) makemessages -l ru -l tg -l uz --no-obsolete --no-location --ignore 'stats/*'

install: system-deps $(VENV)/.installed node_modules/.installed
	@mkdir -p var/static var/media
	@if command -v msgfmt >/dev/null; then cd src/amniyat && ../../$(AMNIYAT) compilemessages --verbosity 0; fi

# The static files as a deployment serves them (docs/deploy.md): hashed names, gzip and brotli
# copies, cached for a year. Collected again only when a file, a package or the settings
# changed: brotli at its best takes a minute or two over the vendored packages.
STATIC_DIR := $(or $(STATIC_ROOT),var/static)
STATIC_SOURCES := $(shell find src/amniyat -path '*/static/*' -type f 2>/dev/null)
$(STATIC_DIR)/staticfiles.json: $(STATIC_SOURCES) src/amniyat/settings.py package-lock.json \
		$(VENV)/.installed node_modules/.installed
	AMNIYAT_COLLECTED_STATIC=1 $(AMNIYAT) collectstatic --noinput --verbosity 0

# The demo serves the web application and runs a task worker beside it (imports, findings);
# Ctrl+C stops both. It serves the collected static files (AMNIYAT_COLLECTED_STATIC=1).
demo: export AMNIYAT_COLLECTED_STATIC := 1
demo: install $(STATIC_DIR)/staticfiles.json
	$(AMNIYAT) demo
	@echo ""
	@echo "Open http://127.0.0.1:8000/ and sign in with one of the accounts above."
	@AMNIYAT_DEMO=1 AMNIYAT_REQUIRE_2FA=0 $(AMNIYAT) worker & worker=$$!; \
	trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	AMNIYAT_DEMO=1 AMNIYAT_REQUIRE_2FA=0 $(AMNIYAT) serve --bind 127.0.0.1:8000

dev: install
	$(AMNIYAT) demo
	@AMNIYAT_DEMO=1 AMNIYAT_REQUIRE_2FA=0 $(AMNIYAT) worker & worker=$$!; \
	trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	AMNIYAT_DEMO=1 AMNIYAT_REQUIRE_2FA=0 DEBUG=1 $(AMNIYAT) runserver 127.0.0.1:8000

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed
	$(BIN)/mypy

migrations-check: $(VENV)/.installed
	$(AMNIYAT) makemigrations --check --dry-run

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: install lint typecheck migrations-check pytest

bench: install
	@missed=""; for script in benchmarks/bench_*.py; do echo "== $$script"; \
		$(BIN)/python $$script || missed="$$missed $$script"; done; \
		if [ -n "$$missed" ]; then echo "Below target or failed:$$missed"; exit 1; fi

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
