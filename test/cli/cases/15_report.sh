# vinfringe report (issue 17): a self-contained HTML page with the score, a timeline, the
# similarity curve and the matched frames, checked as a real browser (headless Chromium from
# Debian) renders it: the thumbnails decode, the script ran, and the screenshot is not blank.

A=$F/clip_a.mp4
B=$F/clip_b.mp4
C=$F/clip_a_copy.mp4
PAGE=$WORK/match.html

expect 2 err 'missing argument' report -o "$PAGE" "$C"
expect 2 err 'missing -o' report "$C" "$A"
expect 2 err "bad value '0' for --frames" report --frames 0 -o "$PAGE" "$C" "$A"

expect 0 out '' report --json --frames 4 -o "$PAGE" "$C" "$A" "$B"
check "report --json names the page and the references, best first" test "$(json "$OUT" \
    '(j[0]["output"] == sys.argv[3], [r["id"] for r in j[0]["references"]])' "$PAGE")" = \
    "(True, ['clip_a', 'clip_b'])"
check "the scores are compare's" test "$(json "$OUT" \
    'abs(j[0]["references"][0]["score"] - float(sys.argv[3])) < 1e-6' "$(score "$C" "$A")")" = True
n_thumbs=$(json "$OUT" 'j[0]["thumbnails"]')
check "4 frame pairs per reference, two thumbnails each ($n_thumbs)" test "$n_thumbs" = 16
check "the page is self-contained (no http/https reference)" \
    sh -c "! grep -Eq '(src|href)=\"(https?:)?//' '$PAGE'"
check "the thumbnails are embedded JPEG data" \
    test "$(grep -o 'src="data:image/jpeg;base64,/9j/' "$PAGE" | wc -l)" -eq "$n_thumbs"
check "the page shows the copied segment's times" grep -q '00:00:00.000 &ndash; 00:00:' "$PAGE"
check "the page has a timeline and a similarity curve" \
    test "$(grep -c '<svg class="timeline"\|<svg class="curve"' "$PAGE")" -eq 4

# The page in a real browser.
if command -v "$BROWSER" >/dev/null 2>&1; then
    browser_run "$WORK/dom.html" 120 --virtual-time-budget=10000 --dump-dom "file://$PAGE"
    check "chromium renders the page and ends by itself" test "$?" = 0 -a -s "$WORK/dom.html"
    check "no chromium process is left" test -z "$(browser_left)"
    check "the page's script ran in the browser" grep -q '<body data-rendered="1"' "$WORK/dom.html"
    loaded=$(sed -n 's/.*<span id="thumbs-loaded">\([0-9]*\)<.*/\1/p' "$WORK/dom.html")
    check "chromium decoded every thumbnail ($loaded of $n_thumbs)" \
        test -n "$loaded" -a "$loaded" = "$n_thumbs"
    browser_run "$WORK/shot.log" 120 --window-size=900,1100 --screenshot="$WORK/shot.png" \
        "file://$PAGE"
    check "chromium takes a screenshot" test "$?" = 0 -a -s "$WORK/shot.png"
    check "no chromium process is left after the screenshot" test -z "$(browser_left)"
    stats=$("$PY" "$SRCDIR/test/png_stats.py" "$WORK/shot.png")
    echo "      screenshot: width height colours ink = $stats"
    check "the screenshot is 900x1100 and not blank (many colours, >= 5% ink)" \
        "$PY" -c 'import sys; w, h, c, ink = sys.argv[1].split()
assert (w, h) == ("900", "1100") and int(c) >= 200 and float(ink) >= 0.05, sys.argv[1]' "$stats"
else
    fail "report in a browser" "$BROWSER is not installed (apt-get install chromium)"
fi

# The top hits of a search: --index, with the references' folder locating the videos by id.
LIB=$WORK/report_lib
mkdir -p "$LIB/set1" "$LIB/set2"
cp "$A" "$LIB/set1/a.mp4"
cp "$B" "$LIB/set2/b.mp4"
expect 0 out '' index build -q -o "$WORK/r.vidx" "$LIB"
expect 0 out '' report --json --index "$WORK/r.vidx" --top 1 --frames 2 -o "$WORK/hit.html" \
    "$C" "$LIB"
check "report --index: the top hit, found in the folder by its id" test "$(json "$OUT" \
    '[(r["id"], r["path"].endswith("set1/a.mp4"), r["frame_pairs"]) for r in j[0]["references"]]')" = \
    "[('set1/a', True, 2)]"
check "report --index embeds its thumbnails" test "$(json "$OUT" 'j[0]["thumbnails"]')" = 4
expect 0 out '' report --json --index "$WORK/r.vidx" --top 2 -o "$WORK/hit2.html" "$C"
check "report --index without the videos: scores and segments, no frames" test "$(json "$OUT" \
    '[(r["path"], r["frame_pairs"]) for r in j[0]["references"]]')" = "[(None, 0), (None, 0)]"
check "the page says how to get the frames" grep -q 'its video was not given' "$WORK/hit2.html"

# Embeddings have no pictures: a .vemb query gets blank query frames, and a missing reference
# fails, or is skipped with --keep-going.
expect 0 out '' report --json --frames 3 -o "$WORK/vemb.html" "$(vemb clip_a_copy)" "$A"
check "a .vemb query: only the reference's thumbnails" test "$(json "$OUT" 'j[0]["thumbnails"]')" = 3
check "blank frames say why" grep -q 'class="nothumb"' "$WORK/vemb.html"
expect 1 err 'missing\.mp4' report -o "$WORK/miss.html" "$C" "$F/missing.mp4"
check "no page after a failed reference" test ! -e "$WORK/miss.html"
expect 1 err 'skipped .*missing\.mp4' report --keep-going -o "$WORK/miss.html" "$C" \
    "$F/missing.mp4" "$A"
check "with --keep-going the page shows the others" grep -q 'clip_a' "$WORK/miss.html"
