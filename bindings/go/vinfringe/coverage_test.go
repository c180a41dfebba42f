package vinfringe

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestEveryCFunctionIsBound checks that the cgo layer calls every VI_API function of the
// public header, so that the binding grows with the C API.
func TestEveryCFunctionIsBound(t *testing.T) {
	src := os.Getenv("VI_SRCDIR")
	if src == "" {
		src = filepath.Join("..", "..", "..")
	}
	header, err := os.ReadFile(filepath.Join(src, "include", "vinfringe.h"))
	if err != nil {
		t.Skipf("header not found (set VI_SRCDIR): %v", err)
	}
	var layer strings.Builder
	for _, f := range []string{"capi.go", "capi_wrappers.c"} {
		b, err := os.ReadFile(filepath.Join("..", "internal", "capi", f))
		if err != nil {
			t.Fatal(err)
		}
		layer.Write(b)
	}
	bound := layer.String()
	var missing []string
	names := regexp.MustCompile(`VI_API\s+[^;(]*?\b(vi_\w+)\s*\(`).FindAllStringSubmatch(string(header), -1)
	for _, m := range names {
		if !regexp.MustCompile(`\b` + m[1] + `\(`).MatchString(bound) {
			missing = append(missing, m[1])
		}
	}
	sort.Strings(missing)
	if len(names) < 40 || len(missing) > 0 {
		t.Errorf("%d public functions; not called by internal/capi: %v", len(names), missing)
	}
}
