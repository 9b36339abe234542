# The two commands a newcomer needs: `make run` and `make test`. Both install
# what they need first (idempotently, into .venv/ and tests/interop/node_modules/).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMPS := .stamps
PORT   ?= 5000

.PHONY: run test install npm system-deps typecheck pytest bench bench-setup clean

install: $(STAMPS)/venv

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,flask,redis]'
	@touch $@

npm: $(STAMPS)/npm

$(STAMPS)/npm: tests/interop/package.json tests/interop/package-lock.json
	@mkdir -p $(STAMPS)
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Debian packages the integration tests drive for real (a browser, a Redis server).
system-deps:
	@sh .ci/system-deps.sh

run: install npm
	$(PY) -m socketio_core.echo --port $(PORT)

typecheck: install
	$(PY) -m mypy engineio socketio_core transports

pytest: install npm system-deps
	$(PY) -m pytest -q

test: typecheck pytest

clean:
	rm -rf $(VENV) $(STAMPS) tests/interop/node_modules
