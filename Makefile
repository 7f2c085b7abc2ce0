# Two commands for a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export REFLEX_USE_NPM := 1
export REFLEX_TELEMETRY_ENABLED := false
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test test-topology test-reliability verify-image install install-test chromium lint bench bench-smoke clean screenshots

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test chromium

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

run: install
	$(VENV)/bin/fleet-dashboard run

# Two workers: the tests of the live app on one (ordinary modules there too until the frontend is built), every
# other module on the other (tests/support/schedule.py).
test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 2 --ignore=tests/topology --ignore=tests/reliability

# The production topology on this machine: Redis-backed web workers, two engines, PostgreSQL (a few minutes).
# Needs PostgreSQL at 127.0.0.1:5432 (or TEST_DATABASE_URL) and Redis at 127.0.0.1:6379 (or TEST_REDIS_URL).
test-topology: install-test
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/topology

# The drills (tests/reliability): PostgreSQL stopped, killed and frozen, Redis restarted, the web process killed;
# each starts its own PostgreSQL and Redis on private ports, never the shared ones (several minutes).
test-reliability: install-test
	$(VENV)/bin/pytest -q -p no:cacheprovider -s tests/reliability

# The production image built with podman on a debootstrapped Debian and run with no network (root; ~10 minutes).
# CI installs what it needs: podman, runc, debootstrap, strace (scripts/verify_image.sh installs any missing).
verify-image: install-test
	scripts/verify_image.sh

# Every page at 1366 and 390 px, as an owner and as the super_admin, right to left, for reviewers: PNG files in
# screenshots/ (or SCREENSHOTS_DIR). Not part of `make test`.
screenshots: install-test
	$(VENV)/bin/pytest -q -p no:cacheprovider -s tests/e2e/screenshots.py

lint: install-test
	$(VENV)/bin/ruff check .

bench: install-test
	for b in bench/*.py; do $(PY) $$b || exit 1; done

# Every bench at a small size (its --smoke flag), so none rots: .ci/run runs this. Figures at this size mean nothing.
bench-smoke: install-test
	for b in bench/*.py; do echo "== $$b --smoke"; $(PY) $$b --smoke || exit 1; done

clean:
	rm -rf .web data/postgres
