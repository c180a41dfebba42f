# Usage: --help on every subcommand, --version, and bad usage (exit 2 with a hint).
# These need no model and no decoding, so a usage error never costs a model load.

A=$F/clip_a.mp4
B=$F/clip_b.mp4

expect 2 err 'Usage: vinfringe'
expect 0 out 'Commands:' --help
expect 0 out 'Commands:' -h
expect 0 out 'Commands:' help
expect 0 out '^vinfringe [0-9]+\.[0-9]+\.[0-9]+' --version
expect 0 out '^header  [0-9]+\.[0-9]+\.[0-9]+' --version
expect 0 out '^library [0-9]+\.[0-9]+\.[0-9]+' --version
check "--version: header and library versions agree" \
    test "$(sed -n 's/^header  //p' "$OUT")" = "$(sed -n 's/^library \([^ ]*\).*/\1/p' "$OUT")"

# --help on every subcommand, both spellings and `help CMD`; help wins over other errors.
for cmd in embed compare search info; do
    expect 0 out "^Usage: vinfringe $cmd " $cmd --help
done
expect 0 out "^Usage: vinfringe embed " embed -h
expect 0 out "^Usage: vinfringe search " help search
expect 0 out "^Usage: vinfringe compare " compare --no-such-option --help
expect 0 out '^Usage: vinfringe index build ' index build --help
expect 0 out '^Usage: vinfringe index build ' index --help
expect 0 out '^Usage: vinfringe index build ' help index build
expect 0 out '^Usage: vinfringe index build ' help index

# Unknown commands and options.
expect 2 err "unknown command 'frobnicate'" frobnicate
expect 2 err "unknown command" help frobnicate
expect 2 err "unknown option '--bogus'" --bogus
expect 2 err "Try 'vinfringe compare --help'" compare --bogus "$A" "$B"
expect 2 err "unknown option '--top'" compare --top 3 "$A" "$B"
expect 2 err "unknown option '--csv'" embed --csv -o "$WORK/x.vemb" "$A"
expect 2 err "unknown option '--model'" info --model m "$A"
expect 2 err "missing index command" index
expect 2 err "unknown index command" index list
expect 2 err "takes no value" compare --json=yes "$A" "$B"

# Missing and surplus arguments.
expect 2 err 'missing -o' embed "$A"
expect 2 err 'missing argument' embed -o "$WORK/x.vemb"
expect 2 err 'too many arguments' embed -o "$WORK/x.vemb" "$A" "$B"
expect 2 err 'missing argument' compare "$A"
expect 2 err 'missing argument' index build -o "$WORK/x.vidx"
expect 2 err 'missing argument' search "$WORK/x.vidx"
expect 2 err 'missing argument' info
expect 2 err 'too many arguments' info "$A" "$B"
expect 2 err "needs a value" compare "$A" "$B" --model
expect 2 err "needs a value" embed "$A" -o

# Bad numbers.
for bad in abc 0 nan; do
    expect 2 err "bad value '$bad' for --fps" embed --fps "$bad" -o "$WORK/x.vemb" "$A"
done
for bad in -3 2.5; do
    expect 2 err "bad value '$bad' for --top" search --top "$bad" "$WORK/x.vidx" "$A"
done
expect 2 err "bad value '0' for --max-frames" embed --max-frames 0 -o "$WORK/x.vemb" "$A"
expect 2 err "bad value 'many' for --threads" compare --threads many "$A" "$B"

# A usage error writes no output file.
check "no output after a usage error" test ! -e "$WORK/x.vemb"
