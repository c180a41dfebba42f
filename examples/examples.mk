# examples/examples.mk - `make examples`: install the library into $(BUILD)/examples/inst, then
# build every example program against that installed copy through pkg-config, exactly as a host
# program would, and run each on the test fixtures. Included by the top Makefile.
#
#   make examples                 C, C++, Python, and Go when `go` is installed
#   make examples GO=             the same without Go

EXAMPLES_DIR := $(BUILD)/examples
EXAMPLES_PREFIX := $(abspath $(EXAMPLES_DIR)/inst)
EXAMPLES_PKG = PKG_CONFIG_PATH=$(EXAMPLES_PREFIX)/lib/pkgconfig pkg-config
EXAMPLES_FIX := $(abspath $(BUILD)/fixtures)
GO ?= go

.PHONY: examples examples-install
examples-install: all
	@# $(BUILD)/vinfringe.pc holds the PREFIX of the last install: make it again for this one.
	rm -f $(BUILD)/vinfringe.pc
	$(MAKE) --no-print-directory install PREFIX=$(EXAMPLES_PREFIX)
	rm -f $(BUILD)/vinfringe.pc

examples: examples-install $(BUILD)/fixtures/.done
	@set -e; out=$(abspath $(EXAMPLES_DIR)); \
	cflags="$$($(EXAMPLES_PKG) --cflags vinfringe)"; \
	libdir="$$($(EXAMPLES_PKG) --variable=libdir vinfringe)"; \
	libs="$$($(EXAMPLES_PKG) --libs vinfringe) -Wl,-rpath,$$libdir"; \
	echo "== pkg-config: $$cflags $$libs"; \
	for ex in embed_video compare_videos; do \
		echo "$(CC) -std=c11 -Wall -Wextra -Werror -pedantic examples/$$ex.c -o $$out/$$ex"; \
		$(CC) -std=c11 -Wall -Wextra -Werror -pedantic examples/$$ex.c $$cflags $$libs \
			-o $$out/$$ex; \
	done; \
	echo "$(CXX) -std=c++17 -Wall -Wextra -Werror -pedantic examples/raii.cpp -o $$out/raii"; \
	$(CXX) -std=c++17 -Wall -Wextra -Werror -pedantic examples/raii.cpp $$cflags $$libs \
		-o $$out/raii; \
	echo "== embed_video"; (cd $$out && ./embed_video $(EXAMPLES_FIX)/clip_a.mp4); \
	echo "== compare_videos"; \
	$$out/compare_videos $(EXAMPLES_FIX)/clip_a_copy.mp4 $$out/embedding.vemb; \
	echo "== raii"; \
	$$out/raii $(EXAMPLES_FIX)/clip_a_copy.mp4 $(EXAMPLES_FIX)/clip_a.mp4 \
		$(EXAMPLES_FIX)/clip_b.mp4; \
	echo "== index_folder.py"; \
	rm -rf $$out/folder; mkdir -p $$out/folder; \
	ln -s $(EXAMPLES_FIX)/clip_a.mp4 $(EXAMPLES_FIX)/clip_b.mp4 $(EXAMPLES_FIX)/text.mp4 \
		$$out/folder/; \
	VINFRINGE_LIBRARY=$(EXAMPLES_PREFIX)/lib/libvinfringe.so.0 \
		PYTHONPATH=$(CURDIR)/bindings/python python3 examples/index_folder.py $$out/folder \
		$(EXAMPLES_FIX)/clip_a_copy.mp4; \
	if [ -n "$(GO)" ] && command -v $(GO) >/dev/null 2>&1; then \
		echo "== Go: indexsearch, compare"; \
		(cd examples/go && PKG_CONFIG_PATH=$(EXAMPLES_PREFIX)/lib/pkgconfig \
			CGO_LDFLAGS="-Wl,-rpath,$(EXAMPLES_PREFIX)/lib" GOPROXY=off \
			GOCACHE=$$out/go-cache GOPATH=$$out/go-path $(GO) build -o $$out/go/ ./...); \
		$$out/go/indexsearch $$out/folder $(EXAMPLES_FIX)/clip_a_copy.mp4; \
		$$out/go/compare $(EXAMPLES_FIX)/clip_a_copy.mp4 $(EXAMPLES_FIX)/clip_a.mp4; \
	else \
		echo "== go is not installed: Go examples skipped"; \
	fi; \
	echo "== examples: all built against $(EXAMPLES_PREFIX) and ran"
