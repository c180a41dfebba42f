# Logging and output as FFmpeg users expect (issue 17): -v/--loglevel, damaged or truncated input
# as a visible warning (and a JSON field), --json on every command, --csv, hh:mm:ss.mmm, progress
# lines without a terminal, an overall ETA, and --progress FILE.

A=$F/clip_a.mp4
B=$F/clip_b.mp4
C=$F/clip_a_copy.mp4
T=$F/truncated_playable.mp4
D=$F/damaged.mp4

# -v / --loglevel: FFmpeg's names (and numbers); bad values are usage errors.
expect 2 err "bad value 'loud' for --loglevel" embed -v loud -o "$WORK/x.vemb" "$A"
expect 0 out '' embed -v debug -q -o "$WORK/x.vemb" "$A"
expect 0 out '' embed --loglevel=24 -q -o "$WORK/x.vemb" "$A"
expect 1 err '' embed -v quiet -o "$WORK/x.vemb" "$F/missing.mp4"
check "-v quiet prints nothing, even for an error (the exit status tells)" test ! -s "$ERR"
expect 1 err '^vinfringe: error: .*missing\.mp4' embed -v error -o "$WORK/x.vemb" \
    "$F/missing.mp4"

# Damaged and truncated input: exit 0 and a warning naming the file (0.3: nothing at all).
expect 0 err "^vinfringe: warning: .*truncated_playable\.mp4" embed -o "$WORK/t.vemb" "$T"
expect 0 err "^vinfringe: warning: .*damaged\.mp4" embed -o "$WORK/d.vemb" "$D"
expect 0 err '' embed -v error -o "$WORK/d.vemb" "$D"
check "-v error hides the warnings" test ! -s "$ERR"
expect 0 err 'warning: .*truncated_playable\.mp4: the video ends before its declared duration' \
    embed --json -o "$WORK/t.vemb" "$T"
check "embed --json: a truncated video has the warning 'truncated'" \
    test "$(json "$OUT" '"truncated" in j[0]["warnings"]')" = True
expect 0 out '' embed --json -o "$WORK/d.vemb" "$D"
check "embed --json: a damaged video has the warning 'damaged_frames'" \
    test "$(json "$OUT" '"damaged_frames" in j[0]["warnings"]')" = True
expect 0 out '' info --json "$WORK/t.vemb"
check "the warnings are kept in the .vemb (info --json)" \
    test "$(json "$OUT" '"truncated" in j[0]["warnings"]')" = True
expect 0 out '' compare --json "$WORK/t.vemb" "$A"
check "compare --json carries each input's warnings" \
    test "$(json "$OUT" '("truncated" in j[0]["a_warnings"], j[0]["b_warnings"])')" = "(True, [])"
expect 0 out '^warning +query: the video ends before' compare "$WORK/t.vemb" "$A"

# --json on every command.
expect 0 out '' embed --json -o "$WORK/a.vemb" "$A"
check "embed --json: input, output, frames, dim, duration, model_id, warnings" \
    json_lines "$OUT" input output frames dim duration model_id warnings
check "embed --json of a clean video has no warnings" test "$(json "$OUT" 'j[0]["warnings"]')" = "[]"
expect 0 out '' info --json "$WORK/a.vemb"
check "info --json of an embedding" test "$(json "$OUT" \
    'j[0]["kind"] == "embedding" and j[0]["frames"] > 0 and j[0]["warnings"] == []')" = True
expect 0 out '' info --json "$A"
check "info --json of another file" \
    test "$(json "$OUT" 'j[0]["kind"] == "other" and j[0]["bytes"] > 0')" = True
expect 0 out '' info --json "$SRCDIR/models/default.vimodel"
check "info --json of a model" test "$(json "$OUT" 'j[0]["kind"] == "model" and j[0]["dims"] > 0')" = True
expect 0 out '' index build --json -o "$WORK/o.vidx" "$A" "$B"
check "index build --json" test "$(json "$OUT" \
    '(j[0]["entries"], [x["id"] for x in j[0]["inputs"]], j[0]["failed"])')" = \
    "(2, ['clip_a', 'clip_b'], [])"
expect 0 out '' info --json "$WORK/o.vidx"
check "info --json of an index" test "$(json "$OUT" 'j[0]["ids"]')" = "['clip_a', 'clip_b']"
expect 0 out '' compare --json "$C" "$A"
check "compare --json has the warnings of both inputs and a verdict field" \
    json_lines "$OUT" a_warnings b_warnings copy
expect 0 out '' search --json "$WORK/o.vidx" "$C"
check "search --json has the query's warnings" json_lines "$OUT" query warnings results

# --csv: RFC 4180 with a header, parsed back by Python's csv module.
expect 0 out '' compare --csv "$C" "$A"
check "compare --csv: a header and one row whose score is compare --json's" test "$(
    "$PY" -c 'import csv, sys; r = list(csv.DictReader(open(sys.argv[1])))
print(len(r), r[0]["a"] == sys.argv[2], r[0]["score"])' "$OUT" "$C")" = "1 True $(score "$C" "$A")"
odd="$WORK/a, \"quoted\" name.vemb"
cp "$(vemb clip_a_copy)" "$odd"
expect 0 out '' search --csv --top 2 "$WORK/o.vidx" "$C" "$odd"
check "search --csv: one header, a row per result, odd names quoted" test "$(
    "$PY" -c 'import csv, sys; r = list(csv.DictReader(open(sys.argv[1])))
print(len(r), [x["rank"] for x in r], r[2]["query"] == sys.argv[2], r[0]["id"])' "$OUT" \
    "$odd")" = "4 ['1', '2', '1', '2'] True clip_a"
check "search --csv segments are QS-QE=RS-RE spans" \
    grep -Eq ',1,[0-9.]+-[0-9.]+=[0-9.]+-[0-9.]+,' "$OUT"
expect 2 err 'exclude each other' search --csv --json "$WORK/o.vidx" "$C"
expect 2 err "unknown option '--csv'" index build --csv -o "$WORK/x.vidx" "$A"

# Readable output: times as hh:mm:ss.mmm (0.3: seconds only).
expect 0 out '^  [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}-[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} ' \
    compare "$C" "$A"
expect 0 out ' 00:00:[0-9]{2}\.[0-9]{3} -> ' embed -o "$WORK/a2.vemb" "$A"

# Progress without a terminal: a line per input and an overall ETA over many files.
expect 0 out '' search -q "$WORK/o.vidx" "$C" "$A" "$B"
check "--quiet: no progress lines" test ! -s "$ERR"
expect 0 out '' search "$WORK/o.vidx" "$C" "$A" "$B"
check "a progress line per query" test "$(grep -c '^vinfringe: progress: ' "$ERR")" -eq 3
check "the lines before the last carry an overall ETA" \
    test "$(grep -c 'done in [0-9.]* s, ETA [0-9][0-9]:[0-9][0-9]:[0-9][0-9]$' "$ERR")" -eq 2
expect 0 out '' search -v warning "$WORK/o.vidx" "$C" "$A"
check "-v warning: no progress lines" test ! -s "$ERR"

# --progress FILE: FFmpeg -progress style key=value blocks, the last ending progress=end.
expect 0 out '' search -q --progress "$WORK/progress.txt" "$WORK/o.vidx" "$C" "$A"
check "--progress ends with progress=end" test "$(tail -n 1 "$WORK/progress.txt")" = progress=end
check "--progress blocks hold the keys" "$PY" -c '
import sys
blocks, cur = [], {}
for line in open(sys.argv[1]).read().splitlines():
    k, _, v = line.partition("=")
    cur[k] = v
    if k == "progress":
        blocks.append(cur); cur = {}
keys = {"input", "input_index", "inputs", "input_time", "input_duration", "bytes_done",
        "bytes_total", "elapsed", "eta", "progress"}
assert blocks and all(set(b) == keys for b in blocks), blocks
assert blocks[-1]["inputs"] == "2" and blocks[-1]["bytes_done"] == blocks[-1]["bytes_total"]
assert any(b["input"].endswith("clip_a_copy.mp4") for b in blocks)
' "$WORK/progress.txt"
expect 1 err 'cannot write the progress' search --progress "$WORK/no/such/dir/p.txt" \
    "$WORK/o.vidx" "$C"
