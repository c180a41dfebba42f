# test/faults/faults.mk - the library proven under faults (issue 18; docs/testing.md); included
# by the top Makefile.
#   make check-fuzz   replay the committed fuzz corpora and crashers (test/fuzz/corpus/TARGET/)
#                     through every fuzz target without libFuzzer (also part of make check)
#   make check-crash  SIGKILL before each write-path system call of index appends and rebuilds,
#                     then at random moments: the index opens with every committed entry and
#                     nothing is left over (also part of make check)
#   make check-oom    fail the n-th allocation for every n along the main paths, under ASan +
#                     UBSan (build-san/): clean status, no leak, no crash
#   make check-tsan   the concurrency suite under ThreadSanitizer (build-tsan/)
#   make fuzz         the libFuzzer targets, built with clang into build-fuzz/; run one with
#                     build-fuzz/fuzz_embedding -runs=10000000 test/fuzz/corpus/fuzz_embedding
#   make fuzz-seeds   rewrite the seed inputs (test/fuzz/corpus/TARGET/seed-*) from make_seeds.c

FUZZ_TARGETS := $(basename $(notdir $(wildcard test/fuzz/fuzz_*.c)))
FUZZ_REPLAY := $(addprefix $(BUILD)/test/fuzz/,$(FUZZ_TARGETS))
FAULT_PROGRAMS := $(BUILD)/test/faults/oom_main $(BUILD)/test/faults/crash_main

.PHONY: check-fuzz check-crash check-oom check-tsan fuzz fuzz-seeds
check: check-fuzz check-crash

# Every fuzz target linked with the replay driver (regression_main.c) instead of libFuzzer.
$(FUZZ_REPLAY): $(BUILD)/test/fuzz/%: $(BUILD)/test/fuzz/%.o $(BUILD)/test/fuzz/regression_main.o \
		$(STATIC)
	$(CXX) $(LDFLAGS) -o $@ $< $(BUILD)/test/fuzz/regression_main.o $(STATIC) $(LIB_LIBS)

$(FAULT_PROGRAMS) $(BUILD)/test/fuzz/make_seeds: %: %.o $(STATIC)
	$(CXX) $(LDFLAGS) -o $@ $< $(STATIC) $(LIB_LIBS)

fuzz-seeds: $(BUILD)/test/fuzz/make_seeds
	$(BUILD)/test/fuzz/make_seeds test/fuzz/corpus

check-fuzz: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_TARGETS); do $(BUILD)/test/fuzz/$$t test/fuzz/corpus/$$t; done

check-crash: $(BUILD)/test/faults/crash_main $(BUILD)/fixtures/.done
	$(BUILD)/test/faults/crash_main $(abspath $(BUILD)/fixtures) $(CRASH_RANDOM_KILLS)
CRASH_RANDOM_KILLS ?= 40

# The sanitizer builds live beside the plain one (build-san/, build-tsan/); the fixtures are the
# plain build's. LeakSanitizer reports at exit, so one leak in any of the runs fails the target.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/suppressions/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
check-oom: $(BUILD)/fixtures/.done
	$(MAKE) SAN=address,undefined build-san/test/faults/oom_main
	$(SAN_ENV) build-san/test/faults/oom_main $(abspath $(BUILD)/fixtures) $(CURDIR)

TSAN_ENV = TSAN_OPTIONS="suppressions=$(CURDIR)/suppressions/tsan.supp halt_on_error=1 \
	second_deadlock_stack=1 history_size=4"
check-tsan: $(BUILD)/fixtures/.done
	$(MAKE) SAN=thread build-tsan/test/run_check
	$(TSAN_ENV) CK_RUN_SUITE=concurrency VI_FIXTURES=$(abspath $(BUILD)/fixtures) \
		VI_SRCDIR=$(CURDIR) build-tsan/test/run_check

# libFuzzer targets: the library again with clang, coverage instrumentation, ASan and UBSan.
FUZZ_BUILD := build-fuzz
FUZZ_SAN := fuzzer-no-link,address,undefined
fuzz:
	$(MAKE) SAN=$(FUZZ_SAN) BUILD=$(FUZZ_BUILD) CC=clang-14 CXX=clang++-14 \
		$(FUZZ_BUILD)/libvinfringe.a
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "clang-14 -o $(FUZZ_BUILD)/$$t test/fuzz/$$t.c"; \
		clang-14 -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined \
			-fno-sanitize-recover=undefined -Iinclude -Ilib -Itest -c test/fuzz/$$t.c \
			-o $(FUZZ_BUILD)/$$t.o; \
		clang++-14 -fsanitize=fuzzer,address,undefined -o $(FUZZ_BUILD)/$$t \
			$(FUZZ_BUILD)/$$t.o $(FUZZ_BUILD)/libvinfringe.a $(LIB_LIBS); \
	done
