# Copy-detection benchmark (issue 4), included by the top Makefile. See docs/benchmarks.md.
#
# Debian packages it needs (CI: apt-get install -y python3-numpy gnuplot-nox ffmpeg time
# fonts-dejavu-core). Python is Debian's /usr/bin/python3; nothing comes from PyPI.
#
#   make bench         fetch the footage (Debian packages), build the dataset (BENCH_SEED), run
#                      every system, write bench/results/<date>.{json,md,png} and the table in
#                      docs/benchmarks.md
#   make bench-quick   the same on a small dataset (test split only, default model only);
#                      bench/results/<date>-quick.*; docs/benchmarks.md is left alone
#   make check-bench   the unit tests of bench/metrics.py
# Options: BENCH_SEED=N, BENCH_ARGS='--systems phash,signature' (extra run.py arguments),
# BENCH_SOURCES=DIR (your own footage instead of the Debian packages).

BENCH_PY ?= /usr/bin/python3
BENCH_SEED ?= 1
BENCH_ARGS ?=
BENCH_WORK ?= bench/work
BENCH_SOURCES ?=
BENCH_SRC_ARG := $(if $(BENCH_SOURCES),--sources $(BENCH_SOURCES),)
BENCH_DS_SUFFIX := $(if $(BENCH_SOURCES),-user,)

.PHONY: check-bench bench-fetch

bench-fetch:
	sh bench/fetch_videos.sh

bench: $(CLI) bench-fetch
	$(BENCH_PY) bench/make_dataset.py --seed $(BENCH_SEED) $(BENCH_SRC_ARG) \
		--out $(BENCH_WORK)/ds$(BENCH_DS_SUFFIX)
	$(BENCH_PY) bench/run.py --ds $(BENCH_WORK)/ds$(BENCH_DS_SUFFIX) --vinfringe $(CLI) \
		$(if $(BENCH_SOURCES),,--update-docs) $(BENCH_ARGS)

bench-quick: $(CLI) bench-fetch
	$(BENCH_PY) bench/make_dataset.py --quick --seed $(BENCH_SEED) $(BENCH_SRC_ARG) \
		--out $(BENCH_WORK)/ds-quick$(BENCH_DS_SUFFIX)
	$(BENCH_PY) bench/run.py --quick --ds $(BENCH_WORK)/ds-quick$(BENCH_DS_SUFFIX) \
		--vinfringe $(CLI) $(BENCH_ARGS)

check: check-bench
check-bench:
	$(BENCH_PY) -m unittest discover -s bench -p 'test_*.py'

# Index at scale (issue 5): synthetic catalogues of 10k, 100k and 1M indexed seconds; prints a
# Markdown table (docs/benchmarks.md, "Index at scale"). One core: about 10 minutes.
BENCH_INDEX_BIN := $(BUILD)/bench/index_scale
$(BENCH_INDEX_BIN): bench/index_scale.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ilib -o $@ $< $(STATIC) $(LIB_LIBS) -lstdc++

.PHONY: bench-index
bench-index: $(BENCH_INDEX_BIN)
	OMP_NUM_THREADS=1 /usr/bin/time -v $(BENCH_INDEX_BIN) $(BENCH_INDEX_SIZES)

# The index on real embeddings: the dataset's references and copying queries (run `make bench`
# or bench-quick first for bench/work/ds). Prints a Markdown table.
BENCH_INDEX_REAL_BIN := $(BUILD)/bench/index_real
$(BENCH_INDEX_REAL_BIN): bench/index_real.c $(SHARED) $(BUILD)/libvinfringe.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -L$(BUILD) -lvinfringe -Wl,-rpath,'$$ORIGIN/..' -lm

.PHONY: bench-index-real
bench-index-real: $(BENCH_INDEX_REAL_BIN)
	$(BENCH_PY) -c 'import json, sys; d = sys.argv[1]; m = json.load(open(d + "/manifest.json")); \
		[print("ref", r["id"], d + "/" + r["file"]) for r in m["references"]]; \
		[print("query", q["id"], d + "/" + q["file"], q["ref"]) for q in m["queries"] if q.get("ref")]' \
		$(BENCH_WORK)/ds | $(BENCH_INDEX_REAL_BIN)

# Appending to an on-disk index one reference at a time (issue 18): time per append of the first
# 100 and the last 100 of 1000; docs/benchmarks.md, "Appending".
BENCH_APPEND_BIN := $(BUILD)/bench/index_append
$(BENCH_APPEND_BIN): bench/index_append.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ilib -o $@ $< $(STATIC) $(LIB_LIBS) -lstdc++

.PHONY: bench-append
bench-append: $(BENCH_APPEND_BIN)
	$(BENCH_APPEND_BIN) $(BENCH_APPEND_ARGS)

# Dask (issue 14): embedding throughput of 1 and 2 worker processes against one `vinfringe index
# build`, sharded search latency on real videos (bench/work/ds, from `make bench`) and on
# synthetic catalogues; prints Markdown tables (docs/benchmarks.md, "Dask"). It runs as
# docs/scaling.md says to deploy: the wheel in a venv that sees Debian's Dask. Long: use nice.
BENCH_CLUSTER_ARGS ?= --all
BENCH_CLUSTER_VENV := $(BUILD)/bench-venv
.PHONY: bench-cluster
bench-cluster: $(CLI) wheel
	rm -rf $(BENCH_CLUSTER_VENV)
	$(WHEEL_PY) -m venv --system-site-packages $(BENCH_CLUSTER_VENV)
	PIP_NO_INDEX=1 $(BENCH_CLUSTER_VENV)/bin/python -m pip install --quiet --no-index $(WHEEL_FILE)
	cd $(BENCH_CLUSTER_VENV) && nice -n 10 env -u VINFRINGE_LIBRARY -u PYTHONPATH \
		bin/python $(CURDIR)/bench/cluster_bench.py --cli $(abspath $(CLI)) \
		--ds $(CURDIR)/$(BENCH_WORK)/ds --work $(CURDIR)/$(BENCH_WORK)/cluster $(BENCH_CLUSTER_ARGS)
