# Batches over real folders (issue 17): directories are walked recursively with an extension
# filter, ids are unique relative paths, two inputs with one id are refused before any work,
# --id-from names inputs, and --keep-going skips what fails instead of aborting the run.

A=$F/clip_a.mp4
B=$F/clip_b.mp4
C=$F/clip_a_copy.mp4
LIB=$WORK/library
mkdir -p "$LIB/season1" "$LIB/season2/extras" "$LIB/.hidden"
cp "$A" "$LIB/season1/ep01.mp4"
cp "$B" "$LIB/season2/ep01.mp4"
cp "$(vemb clip_a_copy)" "$LIB/season2/extras/making of.vemb"
cp "$A" "$LIB/.hidden/secret.mp4"
echo "not a video" >"$LIB/season1/notes.txt"
cp "$F/one_frame.mp4" "$LIB/season1/TRAILER.MP4"

# A directory is an input (0.3: "is a directory"); its files get their path below it as id.
expect 0 out 'lib\.vidx: 4 entries' index build -o "$WORK/lib.vidx" "$LIB"
expect 0 out '' info --json "$WORK/lib.vidx"
check "ids are relative paths without extension, in path order" test "$(json "$OUT" \
    'j[0]["ids"]')" = "['season1/TRAILER', 'season1/ep01', 'season2/ep01', 'season2/extras/making of']"
check "dot directories and files of other extensions are skipped" \
    test "$(json "$OUT" 'len(j[0]["ids"])')" = 4

# --ext: a list (case-insensitive, dots optional), '*' for every file.
expect 0 out 'ext\.vidx: 1 entries' index build --ext .vemb -o "$WORK/ext.vidx" "$LIB"
expect 0 out 'ext2\.vidx: 3 entries' index build --ext MP4 -o "$WORK/ext2.vidx" "$LIB"
expect 1 err 'notes\.txt' index build --ext '*' -o "$WORK/all.vidx" "$LIB"
check "a failed build writes no index" test ! -e "$WORK/all.vidx"
expect 2 err "bad value ',' for --ext" index build --ext , -o "$WORK/x.vidx" "$LIB"
mkdir -p "$WORK/empty_dir"
expect 1 err 'empty_dir: the directory holds no file with the extensions' \
    index build -o "$WORK/x.vidx" "$WORK/empty_dir"

# Two inputs with one id: refused before any work (no model load, no decoding), naming both.
expect 2 err 'season1/ep01\.mp4 and .*season2/ep01\.mp4 would both get the id .ep01.' \
    index build -o "$WORK/dup.vidx" "$LIB/season1/ep01.mp4" "$LIB/season2/ep01.mp4"
check "the refusal suggests --id-from" grep -q -- '--id-from' "$ERR"
check "no index after the refusal" test ! -e "$WORK/dup.vidx"
expect 2 err "would both get the id 'ep01'" index build -o "$WORK/dup.vidx" "$LIB/season1" \
    "$LIB/season2/ep01.mp4"

# --id-from FILE: "ID<TAB>PATH" lines, paths relative to the list; '#' and blank lines skipped.
mkdir -p "$WORK/lists"
printf '# catalogue\n\nshow/one\t../library/season1/ep01.mp4\nshow/two\t%s\n' "$B" \
    >"$WORK/lists/ids.tsv"
expect 0 out '' index build --json --id-from "$WORK/lists/ids.tsv" -o "$WORK/ids.vidx"
check "--id-from gives the ids of the list" \
    test "$(json "$OUT" '[x["id"] for x in j[0]["inputs"]]')" = "['show/one', 'show/two']"
check "--id-from paths are relative to the list's directory" test "$(json "$OUT" \
    'j[0]["inputs"][0]["path"].endswith("/lists/../library/season1/ep01.mp4")')" = True
printf 'x\t%s\n' "$C" | "$VI_CLI" index build -q --id-from - -o "$WORK/stdin.vidx" \
    >"$OUT" 2>"$ERR"
check "--id-from - reads standard input" test "$?" = 0 -a -s "$WORK/stdin.vidx"
printf 'no tab here\n' >"$WORK/lists/bad.tsv"
expect 2 err 'bad\.tsv:1: expected ID<TAB>PATH' index build --id-from "$WORK/lists/bad.tsv" \
    -o "$WORK/x.vidx"
printf 'a\t%s\na\t%s\n' "$A" "$B" >"$WORK/lists/twice.tsv"
expect 2 err "would both get the id 'a'" index build --id-from "$WORK/lists/twice.tsv" \
    -o "$WORK/x.vidx"

# --append refuses an id the index already holds.
expect 0 out '' index build -q --append -o "$WORK/app.vidx" "$A"
expect 2 err "id 'clip_a', which .*app\.vidx already holds" \
    index build --append -o "$WORK/app.vidx" "$A"
expect 0 out '' info --json "$WORK/app.vidx"
check "the refused append added nothing" test "$(json "$OUT" 'j[0]["size"]')" = 1

# --keep-going: a damaged input no longer aborts the whole build (0.3: exit 1, no index).
cp "$F/text.mp4" "$LIB/season2/broken.mp4"
expect 1 err 'vinfringe: error: cannot decode' index build -o "$WORK/strict.vidx" "$LIB"
check "without --keep-going nothing is written" test ! -e "$WORK/strict.vidx"
expect 1 out 'kg\.vidx: 4 entries, exact search \(1 inputs skipped\)' \
    index build --keep-going -o "$WORK/kg.vidx" "$LIB"
check "the skipped input is a warning" grep -q '^vinfringe: warning: skipped .*broken\.mp4' "$ERR"
check "the end lists the skipped inputs" grep -q '^vinfringe: error: 1 of 5 inputs failed' "$ERR"
expect 0 out '^size +4$' info "$WORK/kg.vidx"
expect 1 out '' index build --json --keep-going -o "$WORK/kg2.vidx" "$LIB"
check "index build --json lists what failed" test "$(json "$OUT" \
    '[(x["id"], "cannot decode" in x["error"]) for x in j[0]["failed"]]')" = \
    "[('season2/broken', True)]"
check "index build --json lists what was added" test "$(json "$OUT" \
    'len(j[0]["inputs"]) == j[0]["added"] == j[0]["entries"] == 4')" = True

# search over a directory of queries, going on past a broken one.
expect 1 out '' search --json --keep-going --top 2 "$WORK/lib.vidx" "$LIB/season2"
check "search --keep-going prints a line per query, the failed one with its error" \
    test "$(json "$OUT" '[("error" in x, x["query"].split("/")[-1]) for x in j]')" = \
    "[(True, 'broken.mp4'), (False, 'ep01.mp4'), (False, 'making of.vemb')]"
check "the copy in the folder finds itself, then its source" test "$(json "$OUT" \
    '[r["id"] for r in j[2]["results"]]')" = "['season2/extras/making of', 'season1/ep01']"
expect 1 err 'cannot decode' search --json --top 1 "$WORK/lib.vidx" "$LIB/season2"
check "without --keep-going search stops at the broken query" test ! -s "$OUT"
