#!/bin/sh
# ABI checks on the built library: exported symbols, soname, header validity in C11 and C++.
# Usage: sh test/api/run.sh BUILD_DIR
set -u
build=${1:-build}
lib="$build/libvinfringe.so"
pass=0
fail=0
check() { # name, then a command that must succeed
    name=$1
    shift
    if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. Only vi_ symbols are exported, and they are exactly the functions the header declares.
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDRB]$/ {print $3}' | sed 's/@.*//' | sort -u > "$tmp/exported"
sed -n 's/^VI_API[^(]*[ *]\(vi_[a-z0-9_]*\)(.*/\1/p' include/vinfringe.h | sort -u > "$tmp/declared"
check "every exported symbol starts with vi_" sh -c "! grep -v '^vi_' '$tmp/exported'"
check "no internal vi__ symbol is exported" sh -c "! grep '^vi__' '$tmp/exported'"
check "exported symbols == header prototypes" diff "$tmp/exported" "$tmp/declared"
grep -v '^#' docs/symbols.txt | awk '{print $1}' | sort -u > "$tmp/listed"
check "docs/symbols.txt lists exactly the exported symbols" diff "$tmp/exported" "$tmp/listed"
check "at least 40 functions declared" test "$(wc -l < "$tmp/declared")" -ge 40
check "every prototype carries VI_API" sh -c "! grep -E '^(vi_status|void|int32_t|float|double|const|uint32_t) +\\**vi_' include/vinfringe.h"

# 2. Soname and stack.
check "soname is libvinfringe.so.0" sh -c "readelf -d '$lib' | grep -q 'SONAME.*\\[libvinfringe.so.0\\]'"
check "stack is not executable" sh -c "! readelf -lW '$lib' | grep GNU_STACK | grep -q RWE"

# 3. The header compiles alone as strict C11 and as C++17, and a C program links it.
printf '#include "vinfringe.h"\nint main(void) { return vi_version() == VI_VERSION_NUMBER ? 0 : 1; }\n' > "$tmp/h.c"
check "header is valid C11 (-pedantic -Werror)" cc -std=c11 -pedantic -Wall -Wextra -Werror -Iinclude -c "$tmp/h.c" -o "$tmp/h.o"
cp "$tmp/h.c" "$tmp/h.cpp"
check "header is valid C++17 (-pedantic -Werror)" g++ -std=c++17 -pedantic -Wall -Wextra -Werror -Iinclude -c "$tmp/h.cpp" -o "$tmp/hpp.o"
check "a C program links the shared library and runs" sh -c "cc '$tmp/h.o' -L'$build' -lvinfringe -o '$tmp/h' && LD_LIBRARY_PATH='$build' '$tmp/h'"

echo "api: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
