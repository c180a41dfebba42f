# bindings/bindings.mk - tests of the Python (ctypes) and Go (cgo) bindings; included by the
# top Makefile.
#   make check-bindings    Python tests with each interpreter in BINDINGS_PYTHONS, then the Go
#                          tests when `go` is installed (both also run by `make check`)
#   make check-python      only the Python tests
#   make check-go          only the Go tests (go vet + go test, then plain `go test ./...`
#                          without VI_FIXTURES, which must build and skip what needs videos)
#   make check-same-score  one pair scored from C, the command, Python and Go: same 4 decimals
#   make bindings-pc       $(BUILD)/bindings/pkgconfig/vinfringe.pc, a pkg-config file for the
#                          uninstalled library in $(BUILD) (what `go build` uses here)
#   make wheel             $(BUILD)/wheel/vinfringe-VERSION-py3-none-PLATFORM.whl: the Python
#                          package with libvinfringe.so.0, LICENSE and the notices inside, built
#                          offline from Debian's python3-setuptools and python3-wheel
#   make check-wheel       the wheel carries the licence files, and a fresh venv (python3-venv, no
#                          network) installs it and runs examples/index_folder.py with it
#   make check-cluster     vinfringe.cluster against a real dask-scheduler and two dask-workers
#                          on 127.0.0.1 (Debian's python3-distributed; see docs/scaling.md)

BINDINGS_PYTHONS ?= python3 /usr/bin/python3
GO ?= go
BINDINGS_PC_DIR := $(BUILD)/bindings/pkgconfig
BINDINGS_PC := $(BINDINGS_PC_DIR)/vinfringe.pc
BINDINGS_LIB := $(abspath $(BUILD)/libvinfringe.so)
BINDINGS_TEST_ENV = VI_FIXTURES=$(abspath $(BUILD)/fixtures) VI_SRCDIR=$(CURDIR)
# No network for Go modules: the bindings have no third-party dependency. The build cache lives
# in the build directory so that CI needs no writable $HOME.
BINDINGS_GO_ENV = PKG_CONFIG_PATH=$(abspath $(BINDINGS_PC_DIR)) \
	CGO_CFLAGS="-O2 -g -Wall -Wextra -Wno-unused-parameter -Werror" \
	CGO_LDFLAGS="-Wl,-rpath,$(abspath $(BUILD))" GOPROXY=off \
	GOCACHE=$(abspath $(BUILD))/go-cache GOPATH=$(abspath $(BUILD))/go-path

.PHONY: check-bindings check-python check-go check-same-score bindings-pc wheel check-wheel \
	check-cluster
check: check-bindings check-same-score check-wheel check-cluster
check-bindings: check-python check-go

bindings-pc: $(BINDINGS_PC)
$(BINDINGS_PC): pkgconfig/vinfringe.pc.in include/vinfringe.h
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(CURDIR)|; s|@LIBDIR@|$(abspath $(BUILD))|' \
		-e 's|@INCLUDEDIR@|$(CURDIR)/include|; s|@VERSION@|$(VERSION)|' $< > $@

# Each interpreter once (python3 may be /usr/bin/python3); the tests never need NumPy but use
# it when the interpreter has it.
check-python: lib $(BUILD)/fixtures/.done
	@set -e; seen=; for py in $(BINDINGS_PYTHONS); do \
		command -v $$py >/dev/null 2>&1 || continue; \
		exe=$$($$py -c 'import os, sys; print(os.path.realpath(sys.executable))'); \
		case " $$seen " in *" $$exe "*) continue;; esac; seen="$$seen $$exe"; \
		echo "== Python binding tests: $$exe"; \
		VINFRINGE_LIBRARY=$(BINDINGS_LIB) PYTHONPATH=$(CURDIR)/bindings/python \
			$(BINDINGS_TEST_ENV) $$py -m unittest discover -s bindings/python/tests; \
	done; test -n "$$seen" || { echo "no Python interpreter found"; exit 1; }

check-go: lib $(BUILD)/fixtures/.done $(BINDINGS_PC)
	@if command -v $(GO) >/dev/null 2>&1; then \
		echo "== Go binding tests: $$($(GO) version)"; \
		cd bindings/go && $(BINDINGS_GO_ENV) $(GO) vet ./... && \
		$(BINDINGS_GO_ENV) $(BINDINGS_TEST_ENV) $(GO) test -count=1 ./... && \
		echo "== plain 'go test ./...' (no VI_FIXTURES): builds, skips what needs the videos" && \
		env -u VI_FIXTURES $(BINDINGS_GO_ENV) $(GO) test -count=1 ./...; \
	else \
		echo "== go is not installed: Go binding tests skipped (apt-get install golang-go)"; \
	fi

check-same-score: lib cli $(BUILD)/fixtures/.done $(BINDINGS_PC)
	VI_BUILD=$(abspath $(BUILD)) VI_SRCDIR=$(CURDIR) VI_FIXTURES=$(abspath $(BUILD)/fixtures) \
		GO="$(GO)" sh bindings/same_score.sh

# The wheel: the package staged with the library (debug info stripped), its version stamped from
# include/vinfringe.h, and the licence files in vinfringe/licenses/ (the share/doc layout of
# `make install`). It is tagged for this platform because it holds a native library; the library
# still loads FFmpeg, libtorch, BLAS and zlib from the system (docs/python.md, "Wheel").
WHEEL_PY ?= /usr/bin/python3
WHEEL_DIR := $(BUILD)/wheel
WHEEL_STAGE := $(WHEEL_DIR)/stage
WHEEL_PLATFORM = $(shell $(WHEEL_PY) -c 'import sysconfig; print(sysconfig.get_platform().replace("-", "_").replace(".", "_"))')
WHEEL_FILE = $(WHEEL_DIR)/vinfringe-$(VERSION)-py3-none-$(WHEEL_PLATFORM).whl

wheel: $(SHARED) LICENSE docs/licensing.md $(NOTICE_FILES)
	rm -rf $(WHEEL_DIR)
	mkdir -p $(WHEEL_STAGE)/vinfringe/licenses/notices $(WHEEL_STAGE)/vinfringe/cluster
	cp bindings/python/pyproject.toml bindings/python/README.md LICENSE $(WHEEL_STAGE)/
	cp bindings/python/vinfringe/*.py bindings/python/vinfringe/py.typed $(WHEEL_STAGE)/vinfringe/
	cp bindings/python/vinfringe/cluster/*.py $(WHEEL_STAGE)/vinfringe/cluster/
	sed -i 's/^__version__ = .*/__version__ = "$(VERSION)"/' $(WHEEL_STAGE)/vinfringe/__init__.py
	strip --strip-debug -o $(WHEEL_STAGE)/vinfringe/libvinfringe.so.0 $(SHARED)
	cp LICENSE docs/licensing.md $(WHEEL_STAGE)/vinfringe/licenses/
	cp $(NOTICE_FILES) $(WHEEL_STAGE)/vinfringe/licenses/notices/
	printf '[bdist_wheel]\npython_tag = py3\nplat_name = %s\n' $(WHEEL_PLATFORM) > $(WHEEL_STAGE)/setup.cfg
	cd $(WHEEL_STAGE) && PIP_NO_INDEX=1 $(WHEEL_PY) -m pip wheel --quiet --no-build-isolation \
		--no-deps --no-index -w .. .
	rm -rf $(WHEEL_STAGE)
	@ls -l $(WHEEL_FILE)

check-wheel: wheel $(BUILD)/fixtures/.done
	sh test/licensing/check_notices.sh wheel $(WHEEL_FILE)
	VI_FIXTURES=$(abspath $(BUILD)/fixtures) VI_SRCDIR=$(CURDIR) WHEEL_PY=$(WHEEL_PY) \
		sh bindings/python/tests/wheel_venv.sh $(abspath $(WHEEL_FILE)) $(abspath $(WHEEL_DIR))/venv

# The Dask tests need Dask's distributed package, which only Debian's interpreter has here; they
# start a dask-scheduler and dask-worker processes on 127.0.0.1 and stop them all at the end.
CLUSTER_PY ?= /usr/bin/python3
check-cluster: lib cli $(BUILD)/fixtures/.done
	@if $(CLUSTER_PY) -c 'import distributed' 2>/dev/null; then \
		echo "== vinfringe.cluster tests (Dask): $(CLUSTER_PY)"; \
		VINFRINGE_LIBRARY=$(BINDINGS_LIB) PYTHONPATH=$(CURDIR)/bindings/python \
			VI_CLI=$(abspath $(CLI)) $(BINDINGS_TEST_ENV) $(CLUSTER_PY) -m unittest \
			discover -s bindings/python/tests -p 'cluster_test.py'; \
	else \
		echo "== python3-distributed is not installed: Dask tests skipped"; \
	fi
