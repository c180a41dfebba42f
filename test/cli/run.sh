#!/bin/sh
# test/cli/run.sh - tests of the `vinfringe` command, run on real clips with the real library.
#
#   VI_FIXTURES=build/fixtures VI_CLI=build/vinfringe sh test/cli/run.sh [CASE...]
#
# Every file test/cli/cases/*.sh (or the CASE names given) is sourced in turn, in name order.
# A case calls the helpers below; each `expect`/`check` is one test. Cases store expected exit
# codes and patterns only: scores are always computed from the command's own output.
# Prints "N passed, N failed" at the end; the exit status is non-zero if anything failed.

set -u
: "${VI_CLI:?set VI_CLI to the vinfringe binary}"
: "${VI_FIXTURES:?set VI_FIXTURES to the directory made by test/data/make_fixtures.sh}"

HERE=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${VI_SRCDIR:-$(cd "$HERE/../.." && pwd)}
F=$VI_FIXTURES
PY=/usr/bin/python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vinfringe-cli.XXXXXX") || exit 1
# Cases that render a page use headless Chromium (test/browser.sh); whatever a failure or an
# interrupt leaves of it is killed on the way out.
. "$SRCDIR/test/browser.sh"
trap 'browser_cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
PASSED=0
FAILED=0
CASE=

# ---- helpers for the cases -------------------------------------------------------------------

# run ARGS...: run the command; stdout in $OUT, stderr in $ERR, exit status in $RC.
OUT=$WORK/stdout
ERR=$WORK/stderr
run() {
    "$VI_CLI" "$@" >"$OUT" 2>"$ERR" </dev/null
    RC=$?
}

pass() {
    PASSED=$((PASSED + 1))
    echo "ok    $CASE: $1"
}

# fail DESCRIPTION REASON: count a failure and show what the command printed.
fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL  $CASE: $1"
    echo "      $2"
    if [ -s "$OUT" ]; then head -c 2000 "$OUT" | sed 's/^/      stdout: /'; fi
    if [ -s "$ERR" ]; then head -c 2000 "$ERR" | sed 's/^/      stderr: /'; fi
}

# expect EXIT STREAM PATTERN ARGS...: run ARGS, then check the exit status and that the
# extended regular expression PATTERN occurs in STREAM (out or err; PATTERN "" checks nothing).
expect() {
    _exit=$1 _stream=$2 _pattern=$3
    shift 3
    run "$@"
    _desc=$(echo "vinfringe $* -> $_exit" | sed "s|$F/||g; s|$WORK/||g")
    [ -n "$_pattern" ] && _desc="$_desc, $_stream ~ /$_pattern/"
    if [ "$RC" != "$_exit" ]; then
        fail "$_desc" "exit status $RC, expected $_exit"
        return 1
    fi
    if [ -n "$_pattern" ]; then
        if [ "$_stream" = out ]; then _file=$OUT; else _file=$ERR; fi
        if ! grep -Eq -- "$_pattern" "$_file"; then
            fail "$_desc" "pattern not found in std$_stream"
            return 1
        fi
    fi
    pass "$_desc"
}

# check DESCRIPTION COMMAND...: a test that passes when COMMAND succeeds.
check() {
    _desc=$1
    shift
    if "$@"; then pass "$_desc"; else fail "$_desc" "check failed: $*"; fi
}

# json_lines FILE KEYS...: every line of FILE is a JSON object holding KEYS; prints nothing.
json_lines() {
    _file=$1
    shift
    "$PY" -c '
import json, sys
keys = sys.argv[2:]
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert lines, "no output"
for line in lines:
    obj = json.loads(line)
    assert isinstance(obj, dict), "not an object: " + line
    missing = [k for k in keys if k not in obj]
    assert not missing, "missing keys %s in %s" % (missing, line)
' "$_file" "$@"
}

# json FILE EXPR [ARGS...]: evaluate the Python expression EXPR with `j` bound to the list of
# JSON objects of FILE (one per line) and print the result; ARGS are sys.argv[3:].
json() {
    "$PY" -c '
import json, sys
j = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()]
print(eval(sys.argv[2].strip()))
' "$@"
}

# py EXPR ARGS...: print a Python expression over sys.argv (a = argv[1], b = argv[2], ...).
py() {
    _expr=$1
    shift
    "$PY" -c "import sys; a = sys.argv[1:]; print($_expr)" "$@"
}

# score A B [OPTIONS...]: the score `compare --json` prints; empty when it fails.
score() {
    _a=$1 _b=$2
    shift 2
    if "$VI_CLI" compare --json --quiet "$@" "$_a" "$_b" >"$WORK/score.json" 2>"$ERR" </dev/null
    then json "$WORK/score.json" 'j[0]["score"]'; fi
}

# vemb NAME: the embedding of fixture NAME.mp4, made once per run into $WORK; prints its path.
vemb() {
    if [ ! -f "$WORK/$1.vemb" ]; then
        "$VI_CLI" embed --quiet -o "$WORK/$1.vemb" "$F/$1.mp4" >/dev/null 2>&1 </dev/null
    fi
    echo "$WORK/$1.vemb"
}

# ---- the run ---------------------------------------------------------------------------------

if [ ! -x "$VI_CLI" ]; then echo "run.sh: $VI_CLI is not executable" >&2; exit 1; fi
if [ ! -d "$F" ]; then echo "run.sh: $F is not a directory" >&2; exit 1; fi

if [ $# -gt 0 ]; then
    CASES=
    for c in "$@"; do CASES="$CASES $HERE/cases/${c%.sh}.sh"; done
else
    CASES=$(ls "$HERE"/cases/*.sh)
fi
for c in $CASES; do
    CASE=$(basename "$c" .sh)
    . "$c"
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
