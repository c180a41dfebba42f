# compare: a transformed copy scores higher with its source than unrelated clips do; JSON
# output parses; .vemb inputs give the same score as the videos they came from.

A=$F/clip_a.mp4
B=$F/clip_b.mp4
C=$F/clip_a_copy.mp4

expect 0 out '' compare --json "$C" "$A"
check "compare --json prints one JSON line with a, b, score, segments" \
    json_lines "$OUT" a b score segments
check "compare --json prints exactly one line" test "$(wc -l <"$OUT")" -eq 1
check "JSON a and b are the arguments" \
    test "$(json "$OUT" 'j[0]["a"] == sys.argv[3] and j[0]["b"] == sys.argv[4]' "$C" "$A")" = True
check "segments are objects with the five keys in seconds" test "$(json "$OUT" 'all(
    set(s) == {"query_start", "query_end", "ref_start", "ref_end", "score"}
    and s["query_start"] <= s["query_end"] and s["ref_start"] <= s["ref_end"]
    for s in j[0]["segments"])')" = True
s_copy=$(json "$OUT" 'j[0]["score"]')
s_unrel=$(score "$C" "$B")
s_ab=$(score "$A" "$B")
s_self=$(score "$A" "$A")
echo "      scores: copy/source $s_copy, copy/unrelated $s_unrel, a/b $s_ab, a/a $s_self"
check "scores are numbers in [0, 1]" test "$(py 'all(0 <= float(x) <= 1 for x in a)' \
    "$s_copy" "$s_unrel" "$s_ab" "$s_self")" = True
check "copy vs source ($s_copy) > copy vs unrelated ($s_unrel)" \
    test "$(py 'float(a[0]) > float(a[1])' "$s_copy" "$s_unrel")" = True
check "copy vs source ($s_copy) > clip_a vs clip_b ($s_ab)" \
    test "$(py 'float(a[0]) > float(a[1])' "$s_copy" "$s_ab")" = True
check "a clip vs itself ($s_self) >= copy vs source ($s_copy)" \
    test "$(py 'float(a[0]) >= float(a[1])' "$s_self" "$s_copy")" = True

# Readable table without --json.
expect 0 out '^score +[0-9.]+' compare "$C" "$A"
expect 0 out '^reference +.*clip_a\.mp4' compare "$C" "$A"

# .vemb round trip: same score from embeddings as from the videos, also mixed.
va=$(vemb clip_a)
vc=$(vemb clip_a_copy)
s_vemb=$(score "$vc" "$va")
s_mixed=$(score "$C" "$va")
check ".vemb score ($s_vemb) equals video score ($s_copy)" test "$s_vemb" = "$s_copy"
check "video vs .vemb score ($s_mixed) equals video score ($s_copy)" test "$s_mixed" = "$s_copy"

# JSON string escaping: a file name with a quote, a backslash, a tab and non-ASCII letters.
odd="$WORK/we\"ird\\	name é.vemb"
cp "$vc" "$odd"
expect 0 out '' compare --json "$odd" "$va"
check "escaped file name round-trips through JSON" \
    test "$(json "$OUT" 'j[0]["a"] == sys.argv[3]' "$odd")" = True

# Errors: exit 1 with a message naming the file.
expect 1 err "^vinfringe: error: .*missing\.mp4" compare "$F/missing.mp4" "$A"
expect 1 err "^vinfringe: error: .*text\.mp4" compare "$A" "$F/text.mp4"
expect 1 err "^vinfringe: error: .*truncated\.mp4" compare --json "$F/truncated.mp4" "$A"
check "no JSON printed on error" test ! -s "$OUT"
printf 'VIEMBED\000garbage' >"$WORK/corrupt.vemb"
expect 1 err "^vinfringe: error: .*corrupt\.vemb" compare "$WORK/corrupt.vemb" "$va"
head -c 100 "$va" >"$WORK/short.vemb"
expect 1 err "^vinfringe: error: .*short\.vemb" compare "$va" "$WORK/short.vemb"

# The verdict (issue 12): the built-in model is calibrated; "copy" is the score against the
# model's recommended threshold, or against --threshold; an unrelated pair shows no segment.
expect 0 out '' compare --json "$C" "$A"
check "compare --json has copy, threshold and calibrated" json_lines "$OUT" copy threshold calibrated
check "the built-in model's verdicts are calibrated" test "$(json "$OUT" 'j[0]["calibrated"]')" = True
check "copy is score >= threshold" test "$(json "$OUT" \
    'j[0]["copy"] == (j[0]["score"] >= j[0]["threshold"]) and 0 < j[0]["threshold"] <= 1')" = True
check "the disguised copy is judged a copy" test "$(json "$OUT" 'j[0]["copy"]')" = True
t_model=$(json "$OUT" 'j[0]["threshold"]')
expect 0 out '' compare --json "$F/clip_cellauto.mp4" "$A"
check "an unrelated pair is not a copy and has no copied segment" \
    test "$(json "$OUT" 'j[0]["copy"] is False and j[0]["segments"] == []')" = True
expect 0 out '' compare --json --threshold 1 "$C" "$A"
check "--threshold 1 decides instead of the model's ($t_model); the score stays" \
    test "$(json "$OUT" 'j[0]["threshold"] == 1 and j[0]["copy"] == (j[0]["score"] >= 1) and j[0]["score"] == float(sys.argv[3])' "$s_copy")" = True
expect 2 err 'threshold' compare --threshold 1.5 "$C" "$A"
expect 2 err 'threshold' compare --threshold 0 "$C" "$A"
expect 0 out '^copy +(yes|no) +\(threshold' compare "$C" "$A"
expect 0 out '^calibrated +yes' info "$SRCDIR/models/default.vimodel"
