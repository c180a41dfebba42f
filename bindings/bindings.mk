# bindings/bindings.mk - tests of the Python (ctypes) and Go (cgo) bindings; included by the
# top Makefile.
#   make check-bindings    Python tests with each interpreter in BINDINGS_PYTHONS, then the Go
#                          tests when `go` is installed (both also run by `make check`)
#   make check-python      only the Python tests
#   make check-go          only the Go tests (go vet + go test)
#   make check-same-score  one pair scored from C, the command, Python and Go: same 4 decimals
#   make bindings-pc       $(BUILD)/bindings/pkgconfig/vinfringe.pc, a pkg-config file for the
#                          uninstalled library in $(BUILD) (what `go build` uses here)

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

.PHONY: check-bindings check-python check-go check-same-score bindings-pc
check: check-bindings check-same-score
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
		$(BINDINGS_GO_ENV) $(BINDINGS_TEST_ENV) $(GO) test -count=1 ./...; \
	else \
		echo "== go is not installed: Go binding tests skipped (apt-get install golang-go)"; \
	fi

check-same-score: lib cli $(BUILD)/fixtures/.done $(BINDINGS_PC)
	VI_BUILD=$(abspath $(BUILD)) VI_SRCDIR=$(CURDIR) VI_FIXTURES=$(abspath $(BUILD)/fixtures) \
		GO="$(GO)" sh bindings/same_score.sh
