# Benchmarks: our echo server against python-socketio (gevent) and Node's socket.io.
# Included from the Makefile (`include benchmarks/bench.mk`); also usable as
#   make -f Makefile -f benchmarks/bench.mk bench
#
#   make bench-setup   the benchmark-only environment: benchmarks/.venv-peers
#                      (python-socketio, gevent, gevent-websocket, matplotlib) and
#                      benchmarks/node/node_modules (socket.io 4.8, ws, and for Node's
#                      cluster @socket.io/sticky + @socket.io/cluster-adapter), never the
#                      project's own dependencies
#   make bench         bench-setup if needed, then the harness (about 6-10 minutes);
#                      results in benchmarks/results/<stamp>/ (table.md, results.json,
#                      plot.png, logs/), benchmarks/results/latest -> the last run.
#                      BENCH_ARGS passes options, e.g.
#                      make bench BENCH_ARGS='--scenarios echo,ack --rounds 4'

PYTHON ?= python3
PY     ?= .venv/bin/python
STAMPS ?= .stamps

BENCH_DIR   := benchmarks
BENCH_VENV  := $(BENCH_DIR)/.venv-peers
BENCH_NODE  := $(BENCH_DIR)/node
BENCH_ARGS  ?=

#   make bench-scale   the scale benchmark (benchmarks/scale.py, issue 19): one process
#                      at its descriptor limit (ours and Node), cost curves at 10 ...
#                      10,000 clients (ours, Node, python-socketio, the bare-gevent
#                      floor), ours / floor; with --parts ...,workers 100,000 clients on
#                      socketio-echo --workers 6 beside Node's cluster (node/sio_cluster.js)
#                      at the same 6; results in benchmarks/results/<stamp>-scale/.
#                      SCALE_ARGS passes options, e.g. SCALE_ARGS='--parts limit,curves,workers'

SCALE_ARGS ?=

#   make bench-workers workers=1 against workers=2 (benchmarks/workers_bench.py, issue 18):
#                      server CPU per operation summed over the process tree, each ratio
#                      against workers=1 run the same way: unpinned (1, 2: the scheduler
#                      places the server's processes) and pinned (1@0, 2@0: the server tree
#                      on CPU 0 either way, which leaves what the workers add, not the
#                      contention of two workers and the generator for two cores); the
#                      generator on CPU 1. WORKERS_ARGS replaces the options.

WORKERS_ARGS ?= --variants 1 2 1@0 2@0 --loadgen-cpus 1 --rounds 3 --duration 4 \
	--scenarios handshake echo ack polling broadcast

.PHONY: bench-setup bench bench-scale bench-workers

bench-setup: $(BENCH_VENV)/.installed $(BENCH_NODE)/node_modules/.installed

# The stamps live inside what they stand for: removing the venv or
# node_modules makes the next `make bench` rebuild it.
$(BENCH_VENV)/.installed: $(BENCH_DIR)/requirements-peers.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -r $(BENCH_DIR)/requirements-peers.txt
	@touch $@

$(BENCH_NODE)/node_modules/.installed: $(BENCH_NODE)/package.json $(BENCH_NODE)/package-lock.json
	cd $(BENCH_NODE) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The harness needs only the standard library and matplotlib: it runs from the
# benchmark venv; our server runs from the project's .venv (`install`).
bench: install bench-setup
	$(BENCH_VENV)/bin/python $(BENCH_DIR)/run.py --ours-python $(PY) $(BENCH_ARGS)

bench-scale: install bench-setup
	$(BENCH_VENV)/bin/python $(BENCH_DIR)/scale.py --ours-python $(PY) $(SCALE_ARGS)

bench-workers: install bench-setup
	$(PY) $(BENCH_DIR)/workers_bench.py $(WORKERS_ARGS)
