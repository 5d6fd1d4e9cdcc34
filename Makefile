# Thin aliases for the commands in the README; each target installs what it needs.
# DATABASE_URL set -> that PostGIS is used and the embedded cluster is left alone.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEB_PACKAGES := postgresql-15 postgresql-15-postgis-3 postgresql-contrib gdal-bin libgdal32 \
	libgeos-c1v5 libproj25 chromium fonts-wqy-microhei python3-venv gettext systemd
HOST ?= 127.0.0.1
PORT ?= 8000
# Debug is off by default (geogrid/settings.py), so manage.py needs a secret key: the
# environment's GEOGRID_SECRET_KEY, else one made once in var/secret-key (mode 0600).
ifeq ($(GEOGRID_SECRET_KEY),)
export GEOGRID_SECRET_KEY_FILE ?= $(CURDIR)/var/secret-key
endif

# The production server: gunicorn with gunicorn.conf.py, debug off, static files from
# var/staticfiles through whitenoise. Plain HTTP on $(HOST):$(PORT), so GEOGRID_HTTPS is 0 unless
# the caller sets it (a production server sets 1 behind nginx with TLS: docs/operations.md).
GUNICORN = GEOGRID_DEBUG=0 GEOGRID_HTTPS=$${GEOGRID_HTTPS:-0} GEOGRID_BIND=$(HOST):$(PORT) \
	$(VENV)/bin/gunicorn --config gunicorn.conf.py

.PHONY: help system-deps venv db db-stop migrate static demo serve dev test lint fmt bench messages clean \
	backup restore

help:
	@echo "make demo      install everything, start the embedded PostGIS, load the demo city, serve :$(PORT) (gunicorn)"
	@echo "make serve     migrate, collect the static files and serve :$(PORT) with gunicorn, debug off"
	@echo "make dev       the development server on :$(PORT): debug on, reloads on code changes"
	@echo "make test      install everything and run the whole suite (pytest on PostGIS, ruff, migrations check)"
	@echo "make bench     run the benchmarks in bench/ (never part of make test)"
	@echo "make db        start the embedded PostGIS cluster (var/pgdata);  make db-stop stops it"
	@echo "make backup    pg_dump of the database + the media folder, with checksums, in var/backups/<time>/"
	@echo "make restore FILE=var/backups/<time> [DB=name]   verify it, restore into an EMPTY database"

# Debian packages: installed only when one is missing, so a second run costs nothing.
var/.system-deps: Makefile
	@mkdir -p var
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@touch $@
system-deps: var/.system-deps

# The virtualenv is rebuilt when a lock file changes: what GeoGrid runs on (requirements.lock,
# all a server installs) and the tools to test and benchmark it (requirements-dev.lock).
$(VENV)/.installed: requirements.lock requirements-dev.lock | var/.system-deps
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.lock
	@touch $@
venv: $(VENV)/.installed

var/secret-key:
	@mkdir -p var
	@umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

db: venv var/secret-key
ifeq ($(DATABASE_URL),)
	@$(PY) -m geogrid.core.devdb start
else
	@echo "Using DATABASE_URL; the embedded cluster is not started."
endif

db-stop:
	@$(PY) -m geogrid.core.devdb stop

migrate: db
	$(MANAGE) migrate --noinput

# Hashed, gzipped copies of static/ and the apps' files in var/staticfiles (whitenoise serves
# them with debug off).
static: venv var/secret-key
	GEOGRID_DEBUG=0 $(MANAGE) collectstatic --noinput -v0

# load_demo runs with debug on: it refuses a production (debug-off) database without --force.
# Its thousands of service log lines (one per demo case transition) are left out: it prints
# its own progress.
demo: migrate static
	GEOGRID_DEBUG=1 GEOGRID_LOG_LEVEL=ERROR GEOGRID_PUBLIC_URL=http://$(HOST):$(PORT) $(MANAGE) load_demo
	GEOGRID_LOG_LEVEL=ERROR $(MANAGE) seed_tiles --if-stale
	@echo "GeoGrid is serving on http://$(HOST):$(PORT)/  (Ctrl-C stops; make db-stop stops the database)"
	$(GUNICORN)

serve: migrate static
	GEOGRID_LOG_LEVEL=ERROR $(MANAGE) seed_tiles --if-stale
	@echo "GeoGrid is serving on http://$(HOST):$(PORT)/  (Ctrl-C stops; make db-stop stops the database)"
	$(GUNICORN)

# Development server: debug on, auto-reload, static files straight from static/.
dev: migrate
	GEOGRID_DEBUG=1 $(MANAGE) runserver $(HOST):$(PORT)

# mypy: the packages and modules typed so far, strictly (pyproject.toml [tool.mypy]); more join
# as they are.
MYPY_PACKAGES = geogrid/core \
	geogrid/accounts/actors.py geogrid/accounts/services.py \
	geogrid/cases/calendar.py geogrid/cases/duplicates.py geogrid/cases/errors.py \
	geogrid/cases/history.py \
	geogrid/cases/intake.py geogrid/cases/intake_store.py geogrid/cases/open311_keys.py \
	geogrid/cases/photos.py geogrid/cases/transitions.py \
	geogrid/command_center/queries.py geogrid/command_center/patrols.py \
	geogrid/components/schemes.py geogrid/components/services.py \
	geogrid/grids/services \
	geogrid/patrols/cleaning.py geogrid/patrols/coverage.py geogrid/patrols/demo.py \
	geogrid/patrols/errors.py geogrid/patrols/paths.py geogrid/patrols/schedule.py \
	geogrid/patrols/services.py geogrid/patrols/tracks.py \
	geogrid/reference/demo.py geogrid/reference/importing.py geogrid/reference/osm.py \
	geogrid/reference/services.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(MYPY_PACKAGES)

fmt: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# pytest exits 5 when it collected nothing: that is a failure here, never a pass.
# The suite runs in TEST_WORKERS processes (pytest-xdist), each with a test database of its own;
# --dist loadfile keeps a file's tests in one process, as its module fixtures (a demo city
# loaded once, a throwaway cluster) expect. TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
# mypy (20 s from a clean clone) runs beside pytest, whose first and last seconds leave a core
# idle; its report is printed after the tests', and either failing fails make test.
test: db
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run
	@$(VENV)/bin/mypy $(MYPY_PACKAGES) > var/mypy.log 2>&1 & types=$$!; \
	$(VENV)/bin/pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS); \
	tests=$$?; wait $$types; typed=$$?; echo "mypy:"; cat var/mypy.log; \
	[ $$tests -eq 0 ] && [ $$typed -eq 0 ]

# Backups (geogrid/core/backup.py): KEEP=n deletes all but the newest n afterwards.
backup: db
	$(MANAGE) backup $(if $(KEEP),--keep $(KEEP))

# Into the configured database, or DB=name on the same server (created if missing); either
# must be empty.
restore: db
	@if [ -z "$(FILE)" ]; then echo "Give the backup: make restore FILE=var/backups/<time> [DB=name]"; exit 2; fi
	$(MANAGE) restore "$(FILE)" $(if $(DB),--database "$(DB)")

bench: db
	$(PY) -m bench $(BENCH_ARGS)

# Two catalogues: django (templates, Python) and djangojs (the scripts' gettext(), served by
# /jsi18n/). The compiled .mo files are committed with their .po.
messages: venv
	$(MANAGE) makemessages -l en --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	$(MANAGE) makemessages -d djangojs -l en --ignore=.venv --ignore=var --ignore=tests \
		--ignore=bench --ignore='static/vendor/*' --ignore=test-output
	$(MANAGE) compilemessages --ignore=.venv

# Removes the virtualenv and the embedded cluster with its data (also when var/pgdata is a link).
clean: db-stop
	@target=$$(readlink -f var/pgdata 2>/dev/null); if [ -n "$$target" ]; then rm -rf "$$target"; fi
	rm -rf $(VENV) var
