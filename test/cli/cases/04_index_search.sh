# index build + search: the true source ranks first for the copy; ids come from file names;
# a query made with another model than the index fails with the library's message.

A=$F/clip_a.mp4
B=$F/clip_b.mp4
C=$F/clip_a_copy.mp4
DB=$WORK/refs.vidx

expect 0 out 'refs\.vidx: 2 entries' index build -o "$DB" "$A" "$B"
check "index build without a terminal prints a progress line per input" \
    test "$(grep -c '^vinfringe: progress: clip_[ab] ([12]/2) done in ' "$ERR")" -eq 2
check "progress lines without a terminal have no escape codes" \
    sh -c "! grep -q \"$(printf '\033')\" '$ERR'"
expect 0 out '^size +2$' info "$DB"
check "index ids are file names without directory and extension" \
    test "$(sed -n 's/^ids *//p; s/^  *//p' "$OUT" | sort | tr '\n' ' ')" = "clip_a clip_b "

expect 0 out '' search --json "$DB" "$C"
check "search --json prints a JSON line with query and results" \
    json_lines "$OUT" query results
check "each result has id, score and segments" test "$(json "$OUT" 'all(
    set(r) >= {"id", "score", "segments"} for r in j[0]["results"])')" = True
check "the query field is the argument" \
    test "$(json "$OUT" 'j[0]["query"] == sys.argv[3]' "$C")" = True
top=$(json "$OUT" 'j[0]["results"][0]["id"]')
check "the source clip_a ranks first for its copy (got $top)" test "$top" = clip_a
check "results are sorted best first" test "$(json "$OUT" '
    [r["score"] for r in j[0]["results"]] == sorted([r["score"] for r in j[0]["results"]],
    reverse=True)')" = True
# The index re-ranks with its float16 copies of the frame vectors and vi_compare's alignment:
# the same copied segments within 1e-3 s (docs/scaling.md), not bit for bit. (A calibrated
# score in a catalogue also weighs the other references, docs/thresholds.md, so it is not
# vi_compare's pairwise probability.)
cp "$OUT" "$WORK/search.json"
expect 0 out '' compare --json "$C" "$A"
check "the index finds compare's segments within 1e-3 s" test "$("$PY" -c '
import json, sys
h = json.loads(open(sys.argv[1]).read().splitlines()[0])["results"][0]["segments"]
c = json.loads(open(sys.argv[2]).read().splitlines()[0])["segments"]
keys = ("query_start", "query_end", "ref_start", "ref_end")
print(len(h) == len(c) and all(abs(x[k] - y[k]) <= 1e-3 for x, y in zip(h, c) for k in keys))
' "$WORK/search.json" "$OUT")" = True

# Several queries: one line each, in order; --top limits the results.
expect 0 out '' search --json --top 1 "$DB" "$C" "$B" "$(vemb clip_a)"
check "one JSON line per query" test "$(wc -l <"$OUT")" -eq 3
check "--top 1 gives one result per query" \
    test "$(json "$OUT" '[len(x["results"]) for x in j]')" = "[1, 1, 1]"
check "each clip finds itself first" \
    test "$(json "$OUT" '[x["results"][0]["id"] for x in j][1:]')" = "['clip_b', 'clip_a']"
expect 0 out '^ +1 +[0-9.]+ +(yes|no) +clip_a$' search "$DB" "$C"

# An index built from .vemb files holds the same ids and ranks the same way.
expect 0 out '' index build -q -o "$WORK/vemb.vidx" "$(vemb clip_a)" "$(vemb clip_b)"
expect 0 out '' search --json "$WORK/vemb.vidx" "$C"
check "index of .vemb files ranks clip_a first" \
    test "$(json "$OUT" 'j[0]["results"][0]["id"]')" = clip_a

# Errors: missing or damaged index, bad reference, bad query; nothing half-written.
expect 1 err "^vinfringe: error: .*nothing\.vidx" search "$WORK/nothing.vidx" "$C"
expect 1 err "^vinfringe: error: .*text\.mp4" search "$F/text.mp4" "$C"
head -c 60 "$DB" >"$WORK/cut.vidx"
expect 1 err "^vinfringe: error: .*cut\.vidx" search "$WORK/cut.vidx" "$C"
expect 1 err "^vinfringe: error: .*empty\.mp4" search "$DB" "$F/empty.mp4"
expect 1 err "^vinfringe: error: .*empty\.mp4" index build -o "$WORK/bad.vidx" "$A" "$F/empty.mp4"
check "no index written after a failed input" test ! -e "$WORK/bad.vidx"
expect 1 err "^vinfringe: error: .*refs\.vidx.*not a video" index build -o "$WORK/bad.vidx" "$DB"

# A query embedding from another model: the same file with another model id (rewritten per
# docs/file-formats.md, CRCs recomputed), so that the library must refuse it.
"$PY" - "$(vemb clip_a_copy)" "$WORK/other_model.vemb" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
payload = zlib.decompress(data[40:])
out, pos = bytearray(payload[:4]), 4
for _ in range(struct.unpack_from("<I", payload, 0)[0]):
    klen = struct.unpack_from("<H", payload, pos)[0]
    key = payload[pos + 2:pos + 2 + klen]
    typ = payload[pos + 2 + klen]
    head, pos = payload[pos:pos + 3 + klen], pos + 3 + klen
    if typ == 1:
        vlen = struct.unpack_from("<I", payload, pos)[0]
        value = payload[pos + 4:pos + 4 + vlen]
        pos += 4 + vlen
        if key == b"model_id":
            value = b"some-other-model:00000000"
        out += head + struct.pack("<I", len(value)) + value
    else:
        out += head + payload[pos:]  # model_id comes before the numbers: copy them as is
        pos = len(payload)
        break
comp = zlib.compress(bytes(out))
hdr = bytearray(data[:40])
struct.pack_into("<QQI", hdr, 16, len(out), len(comp), zlib.crc32(bytes(out)))
struct.pack_into("<I", hdr, 36, zlib.crc32(bytes(hdr[:36])))
open(sys.argv[2], "wb").write(bytes(hdr) + comp)
EOF
expect 0 out '^model id +some-other-model:00000000' info "$WORK/other_model.vemb"
expect 1 err '^vinfringe: error: .*model' search "$DB" "$WORK/other_model.vemb"
check "no results printed for a query of another model" test ! -s "$OUT"
expect 1 err '^vinfringe: error: .*model' compare "$WORK/other_model.vemb" "$(vemb clip_a)"
expect 1 err '^vinfringe: error: .*model' \
    index build -o "$WORK/mixed.vidx" "$(vemb clip_a)" "$WORK/other_model.vemb"

# The verdict in search (issue 12): every hit carries copy/threshold/calibrated; --copies-only
# keeps the hits judged copies; --threshold 1 judges none a copy unless its score is 1.
expect 0 out '' search --json "$DB" "$C"
check "search hits carry copy, threshold and calibrated" test "$(json "$OUT" 'all(
    {"copy", "threshold", "calibrated"} <= set(h) and h["copy"] == (h["score"] >= h["threshold"])
    for h in j[0]["results"])')" = True
n_copies=$(json "$OUT" 'sum(h["copy"] for h in j[0]["results"])')
expect 0 out '' search --json --copies-only "$DB" "$C"
check "--copies-only lists exactly the $n_copies hits judged copies" test "$(json "$OUT" \
    'all(h["copy"] for h in j[0]["results"]) and len(j[0]["results"]) == int(sys.argv[3])' \
    "$n_copies")" = True
expect 0 out '' search --json --copies-only --threshold 1 "$DB" "$C"
check "--copies-only --threshold 1 keeps only scores of 1" \
    test "$(json "$OUT" 'all(h["score"] >= 1 for h in j[0]["results"])')" = True
