# libvinfringe - build, test and install.
#   make               library (shared + static) and the vinfringe command
#   make check         every test (C unit + integration with real FFmpeg and libtorch, CLI, API),
#                      two suites at a time (CHECK_JOBS); make check-c-NAME / check-cli-CASE: one
#   make check-san     the C tests and the fuzz corpora again under ASan + UBSan
#   make check-oom / check-tsan / check-crash / check-fuzz / fuzz: proven under faults
#                      (test/faults/faults.mk, docs/testing.md)
#   make install PREFIX=/usr/local [DESTDIR=...]   (licence and notices: $(PREFIX)/share/doc/libvinfringe)
#   make check-install  install into a scratch DESTDIR and check that LICENSE and the notices are there
#   sudo make deps     install the Debian packages needed to build, test and benchmark
#                      (make deb-packages lists them)
#   make demo          fetch two real videos, make a disguised copy, compare them (default model)
# Options: WERROR=1 (warnings are errors), SAN=address,undefined, DEBUG=1.

# `make` alone builds the library and the command (deps, defined first below, only on request).
.DEFAULT_GOAL := all

VERSION_MAJOR := $(shell sed -n 's/^\#define VI_VERSION_MAJOR \([0-9]*\)/\1/p' include/vinfringe.h)
VERSION_MINOR := $(shell sed -n 's/^\#define VI_VERSION_MINOR \([0-9]*\)/\1/p' include/vinfringe.h)
VERSION_PATCH := $(shell sed -n 's/^\#define VI_VERSION_PATCH \([0-9]*\)/\1/p' include/vinfringe.h)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
SONAME := libvinfringe.so.$(VERSION_MAJOR)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/libvinfringe

BUILD ?= build
CC ?= cc
CXX ?= g++

FFMPEG_PKGS := libavformat libavcodec libswscale libavutil libavfilter
FFMPEG_CFLAGS := $(shell pkg-config --cflags $(FFMPEG_PKGS))
FFMPEG_LIBS := $(shell pkg-config --libs $(FFMPEG_PKGS))
TORCH_CFLAGS := -isystem /usr/include/torch/csrc/api/include
TORCH_LIBS := -ltorch -ltorch_cpu -lc10
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
# FAISS: Debian ships only the static libfaiss.a (PIC, built with OpenMP and BLAS/LAPACK). It is
# linked into libvinfringe.so with --exclude-libs so that none of its symbols are exported.
FAISS_LIBS := -lfaiss -llapack -lblas -lgomp
LIB_LIBS := $(FFMPEG_LIBS) $(TORCH_LIBS) $(FAISS_LIBS) -lz -lpthread -lm

OPT := -O2
ifeq ($(DEBUG),1)
OPT := -O0
endif
WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN += -Werror
endif
SANFLAGS :=
ifneq ($(SAN),)
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ifeq ($(SAN),thread)
BUILD := build-tsan
else
BUILD := build-san
endif
endif

override CFLAGS += -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) -fPIC -fvisibility=hidden $(SANFLAGS) \
	-Iinclude -MMD -MP
override CXXFLAGS += -std=c++17 $(OPT) -g $(WARN) -fPIC -fvisibility=hidden \
	-fvisibility-inlines-hidden $(SANFLAGS) -Iinclude -MMD -MP
override LDFLAGS += $(SANFLAGS)

LIB_C_SRC := $(sort $(wildcard lib/*/*.c))
LIB_CXX_SRC := $(sort $(wildcard lib/*/*.cpp))
LIB_ASM_SRC := lib/model/model_blob.S
LIB_OBJ := $(LIB_C_SRC:%.c=$(BUILD)/%.o) $(LIB_CXX_SRC:%.cpp=$(BUILD)/%.o) \
	$(LIB_ASM_SRC:%.S=$(BUILD)/%.o)
DEFAULT_MODEL := models/default.vimodel

SHARED := $(BUILD)/libvinfringe.so.$(VERSION)
STATIC := $(BUILD)/libvinfringe.a
CLI := $(BUILD)/vinfringe
CLI_SRC := $(sort $(wildcard examples/cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)

TEST_SRC := $(sort $(wildcard test/unit/*.c test/integration/*.c)) test/run_check.c
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(BUILD)/test/run_check

# Build, test and benchmark dependencies, all from Debian. libopenblas0-openmp makes OpenBLAS
# (built on the OpenMP runtime libtorch already uses) the system's libblas.so.3: libtorch's and
# FAISS's matrix products run 10-20x faster than on the reference BLAS (docs/training.md).
# python3-setuptools, -wheel, -pip and -venv build the Python wheel offline and test it in a venv;
# python3-distributed and python3-dask run vinfringe.cluster (docs/scaling.md) and its tests.
# clang-14 and libclang-rt-14-dev (libFuzzer) build the fuzz targets: make fuzz.
# chromium renders the HTML page of `vinfringe report` in the tests (headless). The list is
# also in docs/getting-started.md (test/cli/cases/16_docs.sh checks that they agree).
DEB_PACKAGES := build-essential pkg-config libtorch-dev libavformat-dev libavcodec-dev \
	libswscale-dev libavutil-dev libavfilter-dev zlib1g-dev check ffmpeg python3 python3-numpy \
	libfaiss-dev libblas-dev liblapack-dev libopenblas0-openmp \
	gnuplot-nox golang-go valgrind binutils doxygen time \
	fonts-dejavu-core python3-setuptools python3-wheel python3-pip python3-venv chromium \
	clang-14 libclang-rt-14-dev python3-distributed python3-dask
deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PACKAGES)
deb-packages:
	@echo $(DEB_PACKAGES)

demo: all
	sh examples/demo.sh $(BUILD)

.PHONY: deps deb-packages demo all lib cli check check-c check-cli check-api check-install check-san install \
	uninstall clean bench \
	bench-quick examples docs
all: lib cli

lib: $(SHARED) $(STATIC) $(BUILD)/libvinfringe.so $(BUILD)/$(SONAME)
cli: $(CLI)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/lib/decode/%.o: lib/decode/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FFMPEG_CFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(TORCH_CFLAGS) $(CPPFLAGS) -c $< -o $@

$(BUILD)/lib/model/model_blob.o: lib/model/model_blob.S $(DEFAULT_MODEL)
	@mkdir -p $(dir $@)
	$(CC) -c -DVI_DEFAULT_MODEL_PATH='"$(DEFAULT_MODEL)"' $< -o $@

$(SHARED): $(LIB_OBJ) lib/vinfringe.map
	$(CXX) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/vinfringe.map -Wl,-z,noexecstack \
		-Wl,--no-undefined -Wl,--exclude-libs,ALL $(LDFLAGS) -o $@ $(LIB_OBJ) $(LIB_LIBS)

$(BUILD)/$(SONAME): $(SHARED)
	ln -sf $(notdir $<) $@
$(BUILD)/libvinfringe.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(STATIC): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# The command links the shared library, as a host program would.
$(CLI): $(CLI_OBJ) $(BUILD)/libvinfringe.so
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) -L$(BUILD) -lvinfringe -Wl,-rpath,'$$ORIGIN' -lm

# Tests link the static library so that they can reach internal (hidden) functions too.
$(BUILD)/test/%.o: test/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -Ilib -Itest -c $< -o $@

# The runner's list of suites is generated from the `Suite *NAME_suite(void)` definitions.
$(BUILD)/test/suites.inc: $(filter-out test/run_check.c,$(TEST_SRC))
	@mkdir -p $(dir $@)
	sed -n 's/^Suite \*\([a-z0-9_]*\)_suite(void).*/VI_SUITE(\1)/p' $^ > $@

$(BUILD)/test/run_check.o: test/run_check.c $(BUILD)/test/suites.inc
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) -Ilib -I$(BUILD)/test -c $< -o $@

$(TEST_BIN): $(TEST_OBJ) $(STATIC)
	$(CXX) $(LDFLAGS) -o $@ $(TEST_OBJ) $(STATIC) $(LIB_LIBS) $(CHECK_LIBS)

# Everything the tests need on disk (clips made with ffmpeg's lavfi sources, bad files) is made
# by test/data/make_fixtures.sh into $(BUILD)/fixtures.
$(BUILD)/fixtures/.done: test/data/make_fixtures.sh
	VI_FIXTURES=$(BUILD)/fixtures sh test/data/make_fixtures.sh
	@touch $@

# Every C suite (CK_RUN_SUITE=NAME), every CLI case and the ABI checks are independent: `make
# check` runs them CHECK_JOBS at a time (each runs its own tests in order), so output lines from
# different suites may interleave; each prints its own summary. `make check-c-decode` or
# `make check-cli-04_index_search` runs one.
CHECK_JOBS ?= 2
SUITES := $(shell sed -n 's/^Suite \*\([a-z0-9_]*\)_suite(void).*/\1/p' \
	$(filter-out test/run_check.c,$(TEST_SRC)))
CLI_CASES := $(basename $(notdir $(wildcard test/cli/cases/*.sh)))

check: $(TEST_BIN) $(CLI) $(SHARED) $(BUILD)/fixtures/.done
	$(MAKE) -j$(CHECK_JOBS) check-c check-cli check-api check-install

check-c: $(addprefix check-c-,$(SUITES))
check-c-%: $(TEST_BIN) $(BUILD)/fixtures/.done
	CK_RUN_SUITE=$* VI_FIXTURES=$(abspath $(BUILD)/fixtures) VI_SRCDIR=$(CURDIR) $(TEST_BIN)

check-cli: $(addprefix check-cli-,$(CLI_CASES))
check-cli-%: $(CLI) $(BUILD)/fixtures/.done
	VI_FIXTURES=$(abspath $(BUILD)/fixtures) VI_CLI=$(abspath $(CLI)) sh test/cli/run.sh $*

check-api: $(SHARED) $(BUILD)/libvinfringe.so
	sh test/api/run.sh $(BUILD)

check-san:
	$(MAKE) -j$(CHECK_JOBS) SAN=address,undefined check-c check-fuzz

# Third-party notices shipped with every copy of the library (make install, the Python wheel):
# docs/licensing.md says what each covers. The nsfwjs notice stays beside the model files.
NOTICE_FILES := models/NOTICE-nsfwjs.md $(sort $(wildcard notices/*))

PC := $(BUILD)/vinfringe.pc
$(PC): pkgconfig/vinfringe.pc.in include/vinfringe.h
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' \
		$< > $@

install: all $(PC)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 include/vinfringe.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libvinfringe.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libvinfringe.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(PC) $(DESTDIR)$(PKGCONFIGDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 644 docs/vinfringe.1 $(DESTDIR)$(MANDIR)/man1/
	install -d $(DESTDIR)$(DOCDIR)/notices
	install -m 644 LICENSE docs/licensing.md $(DESTDIR)$(DOCDIR)/
	install -m 644 $(NOTICE_FILES) $(DESTDIR)$(DOCDIR)/notices/
	$(CC) $(LDFLAGS) -o $(DESTDIR)$(BINDIR)/vinfringe $(CLI_OBJ) -L$(DESTDIR)$(LIBDIR) -lvinfringe \
		-Wl,-rpath,$(LIBDIR) -lm

# Install into a scratch DESTDIR and check the licence files against test/licensing/expected.txt.
check-install: all
	rm -rf $(BUILD)/install-check $(BUILD)/vinfringe.pc
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(BUILD)/install-check) PREFIX=/usr/local
	rm -f $(BUILD)/vinfringe.pc
	sh test/licensing/check_notices.sh dir $(BUILD)/install-check/usr/local/share/doc/libvinfringe
	cmp LICENSE bindings/go/LICENSE

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/vinfringe.h $(DESTDIR)$(LIBDIR)/libvinfringe.* \
		$(DESTDIR)$(PKGCONFIGDIR)/vinfringe.pc $(DESTDIR)$(BINDIR)/vinfringe \
		$(DESTDIR)$(MANDIR)/man1/vinfringe.1
	rm -rf $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build build-san build-tsan build-fuzz

# Fragments owned by other parts of the tree.
-include bench/bench.mk bindings/bindings.mk examples/examples.mk docs/docs.mk test/faults/faults.mk

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
