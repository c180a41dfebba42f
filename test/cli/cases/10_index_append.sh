# index build --kind / --append and search --candidates: an on-disk index grows without a
# rebuild, keeps its kind, survives a failed build, and refuses damaged vector files.

A=$F/clip_a.mp4
B=$F/clip_b.mp4
C=$F/clip_a_copy.mp4
V=$F/clip_vp8.webm
DB=$WORK/cat.vidx

expect 0 out 'cat\.vidx: 2 entries, hnsw search' index build --kind hnsw -o "$DB" "$A" "$B"
check "the index keeps its vectors and FAISS structure beside the manifest" \
    test -s "$(ls "$DB".*.vec)" -a -s "$DB.faiss"
expect 0 out 'cat\.vidx: 3 entries \(1 added\), hnsw search' index build --append -o "$DB" "$V"
expect 0 out '^size +3$' info "$DB"
expect 0 out '' search --json --candidates 1 --top 1 "$DB" "$C"
top=$(json "$OUT" 'j[0]["results"][0]["id"]')
check "with one candidate the vote still picks clip_a for its copy (got $top)" test "$top" = clip_a
check "one candidate re-ranked gives one result" \
    test "$(json "$OUT" 'len(j[0]["results"])')" = 1
expect 0 out '' search --json --candidates 1 "$DB" "$C"
check "--top (10) is honoured whatever --candidates says: all 3 references" \
    test "$(json "$OUT" 'len(j[0]["results"])')" = 3
expect 0 out '' search --json "$DB" "$V"
check "the appended clip finds itself first" \
    test "$(json "$OUT" 'j[0]["results"][0]["id"]')" = clip_vp8

# --append creates a missing index; the kind can be chosen per index.
expect 0 out 'new\.vidx: 1 entries \(1 added\), exact search' \
    index build --append --kind exact -o "$WORK/new.vidx" "$(vemb clip_a)"

# Usage errors.
expect 2 err 'bad value .fast. for --kind' index build --kind fast -o "$WORK/x.vidx" "$A"
expect 2 err 'bad value .0. for --candidates' search --candidates 0 "$DB" "$C"
expect 2 err "unknown option '--append'" search --append "$DB" "$C"

# A failed build without --append leaves the previous index and no partial files.
expect 1 err "^vinfringe: error: .*empty\.mp4" index build -o "$DB" "$A" "$F/empty.mp4"
expect 0 out '^size +3$' info "$DB"
check "no partial files left behind" test "$(ls "$WORK" | grep -c 'cat\.vidx\..*\.vec')" = 1
check "no temporary files left behind" test -z "$(ls "$WORK" | grep 'tmp')"
# A failed --append keeps what was committed before it.
expect 1 err "^vinfringe: error: .*empty\.mp4" index build --append -o "$DB" "$F/empty.mp4"
expect 0 out '^size +3$' info "$DB"

# A rebuild replaces the index in one step and removes the replaced data file.
expect 0 out 'cat\.vidx: 2 entries, hnsw search' index build --kind hnsw -o "$DB" "$A" "$V"
check "one data file after the rebuild" test "$(ls "$WORK" | grep -c 'cat\.vidx\..*\.vec')" = 1
expect 0 out '^size +2$' info "$DB"

# Damaged vector file (a byte flipped in the first record): a clear error naming it.
mkdir "$WORK/cut"
cp "$DB" "$DB".*.vec "$WORK/cut/"
data=$(ls "$WORK"/cut/cat.vidx.*.vec)
printf 'X' | dd of="$data" bs=1 seek=3000 conv=notrunc 2>/dev/null
expect 1 err "^vinfringe: error: .*cat\.vidx\.[0-9a-f]*\.vec: the entry at byte .* fails its CRC check" \
    search "$WORK/cut/cat.vidx" "$C"
