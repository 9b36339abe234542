# The two commands a newcomer needs: `make run` and `make test`. Both install
# what they need first, idempotently: .venv/ (this package and the test tools),
# .venv-peer/ (the python-socketio client: it ships its own top-level `engineio`
# package, so it never shares an environment with ours), the npm clients in
# tests/interop/node_modules/, and Debian's chromium and redis-server.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PEER   := .venv-peer
STAMPS := .stamps
PORT   ?= 5000
CLIENT_JS := socketio_core/echo/static/socket.io.min.js

.PHONY: run test install peer npm system-deps typecheck pytest fuzz clean wheel

install: $(STAMPS)/venv

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

peer: $(STAMPS)/peer

$(STAMPS)/peer: tests/interop/peer-requirements.txt
	@mkdir -p $(STAMPS)
	test -x $(PEER)/bin/python || $(PYTHON) -m venv $(PEER)
	$(PEER)/bin/python -m pip install -q -r tests/interop/peer-requirements.txt
	@touch $@

npm: $(STAMPS)/npm

$(STAMPS)/npm: tests/interop/package.json tests/interop/package-lock.json
	@mkdir -p $(STAMPS) socketio_core/echo/static
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error
	cp tests/interop/node_modules/socket.io-client/dist/socket.io.min.js $(CLIENT_JS)
	@touch $@

# A wheel with the official browser client inside (the echo server's demo page
# needs it, and pip users have no npm): `npm` copies it from the locked npm
# package first. WHEEL_DIR says where the wheel goes.
WHEEL_DIR ?= dist
wheel: install npm
	$(PY) -m pip wheel -q --no-deps -w $(WHEEL_DIR) .

# Debian packages the integration tests drive for real (a browser, a Redis server).
system-deps:
	@sh .ci/system-deps.sh

run: install npm
	$(PY) -m socketio_core.echo --port $(PORT)

typecheck: install
	$(PY) -m mypy engineio socketio_core transports

pytest: install peer npm system-deps
	$(PY) -m pytest -q

test: typecheck pytest

# Coverage-guided fuzzing of the decoders (atheris); FUZZ_SECONDS bounds the run.
FUZZ_SECONDS ?= 60
fuzz: install
	$(PY) -m pip install -q atheris
	$(PY) tests/fuzz/atheris_decoders.py -max_total_time=$(FUZZ_SECONDS)

-include benchmarks/bench.mk

clean:
	rm -rf $(VENV) $(PEER) $(STAMPS) tests/interop/node_modules $(CLIENT_JS) dist
