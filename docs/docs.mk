# `make docs`: the API reference (HTML) from the header's comments, with Doxygen from Debian;
# any Doxygen warning (an undocumented function, a bad tag) fails the build.
.PHONY: docs
docs:
	@mkdir -p $(BUILD)/docs
	VI_DOCS_OUT=$(BUILD)/docs doxygen docs/Doxyfile
	@echo "API reference: $(BUILD)/docs/html/index.html"
