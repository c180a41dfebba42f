#!/bin/sh
# same_score.sh - one pair of videos, four ways in: the C example (examples/compare_videos.c),
# the command (`vinfringe compare --json`), Python (bindings/python) and Go (bindings/go, when
# `go` is installed). Every score must agree to four decimals (|difference| < 0.00005).
#
#   make check-same-score                      # sets everything below
#   VI_BUILD=build VI_FIXTURES=build/fixtures sh bindings/same_score.sh [QUERY REFERENCE]
#
# VI_BUILD: build directory holding libvinfringe.so and the vinfringe command (absolute or
# relative to the source tree). QUERY and REFERENCE default to the fixtures clip_a_copy.mp4 and
# clip_a.mp4. Exit status 0 when all agree, 1 otherwise.
set -eu

SRC=${VI_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$SRC"
BUILD=${VI_BUILD:-build}
BUILD=$(cd "$BUILD" && pwd)
PY=${PYTHON:-python3}
GO=${GO:-go}
if [ $# -eq 2 ]; then
    QUERY=$1 REF=$2
else
    : "${VI_FIXTURES:?set VI_FIXTURES (or pass QUERY REFERENCE)}"
    QUERY=$VI_FIXTURES/clip_a_copy.mp4 REF=$VI_FIXTURES/clip_a.mp4
fi
for f in "$QUERY" "$REF" "$BUILD/libvinfringe.so" "$BUILD/vinfringe"; do
    [ -e "$f" ] || { echo "same_score: $f is missing (make lib cli; make fixtures)" >&2; exit 1; }
done
OUT=$BUILD/bindings/same_score
mkdir -p "$OUT"
score_of() { sed -n 's/^score \([0-9.eE+-]*\)$/\1/p' "$1" | head -n 1; }

# 1. C: the example program, linked against the library in $BUILD.
${CC:-cc} -std=c11 -Wall -Wextra -Werror -Iinclude examples/compare_videos.c \
    -L"$BUILD" -lvinfringe -Wl,-rpath,"$BUILD" -o "$OUT/compare_videos"
"$OUT/compare_videos" "$QUERY" "$REF" > "$OUT/c.txt" 2> "$OUT/c.err"
c=$(score_of "$OUT/c.txt")

# 2. The command, JSON output.
"$BUILD/vinfringe" compare --json "$QUERY" "$REF" > "$OUT/cli.json" 2> "$OUT/cli.err"
cli=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["score"])' "$OUT/cli.json")

# 3. Python, through ctypes.
py=$(VINFRINGE_LIBRARY="$BUILD/libvinfringe.so" PYTHONPATH="$SRC/bindings/python" "$PY" -c '
import sys, vinfringe
with vinfringe.Model() as m, m.embed(sys.argv[1]) as q, m.embed(sys.argv[2]) as r:
    print(repr(vinfringe.compare(q, r).score))' "$QUERY" "$REF" 2> "$OUT/py.err")

# 4. Go, through cgo (examples/go/compare), against an uninstalled pkg-config file.
go_score=
if command -v "$GO" > /dev/null 2>&1; then
    PC=$BUILD/bindings/pkgconfig
    mkdir -p "$PC"
    VERSION=$(sed -n 's/^#define VI_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
        include/vinfringe.h | paste -sd. -)
    sed -e "s|@PREFIX@|$SRC|; s|@LIBDIR@|$BUILD|" \
        -e "s|@INCLUDEDIR@|$SRC/include|; s|@VERSION@|$VERSION|" pkgconfig/vinfringe.pc.in > "$PC/vinfringe.pc"
    (cd examples/go && PKG_CONFIG_PATH="$PC" CGO_LDFLAGS="-Wl,-rpath,$BUILD" GOPROXY=off \
        GOCACHE="$BUILD/go-cache" GOPATH="$BUILD/go-path" \
        "$GO" build -o "$OUT/go_compare" ./compare)
    "$OUT/go_compare" "$QUERY" "$REF" > "$OUT/go.txt" 2> "$OUT/go.err"
    go_score=$(score_of "$OUT/go.txt")
else
    echo "same_score: go is not installed, Go is left out" >&2
fi

"$PY" - "$c" "$cli" "$py" "$go_score" <<'EOF'
import sys
names = ["C (examples/compare_videos.c)", "command (vinfringe compare --json)",
         "Python (bindings/python)", "Go (bindings/go)"]
scores = [(n, float(v)) for n, v in zip(names, sys.argv[1:]) if v]
for n, v in scores:
    print(f"{v:.6f}  {n}")
spread = max(v for _, v in scores) - min(v for _, v in scores)
agree = spread < 0.00005
verdict = "same score to 4 decimals" if agree else "DISAGREE"
print(f"{len(scores)} ways, spread {spread:.2e}: {verdict}")
sys.exit(0 if agree and len(scores) >= 3 else 1)
EOF
