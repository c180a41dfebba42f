# embed: a real video to a .vemb file, the sampling options, and every bad input.

A=$F/clip_a.mp4

expect 0 out 'frames, [0-9]+ dims' embed -o "$WORK/a.vemb" "$A"
check "embed writes a file starting with VIEMBED" \
    test "$(head -c 7 "$WORK/a.vemb" 2>/dev/null)" = VIEMBED
check "embed without a terminal draws no progress bar" test ! -s "$ERR"
expect 0 out '^kind +embedding' info "$WORK/a.vemb"
frames1=$(sed -n 's/^frames *//p' "$OUT")
check "the embedding has frames ($frames1)" test "${frames1:-0}" -ge 1

# --quiet: nothing on stdout or stderr.
expect 0 out '' embed --quiet -o "$WORK/a_q.vemb" "$A"
check "--quiet prints nothing" test ! -s "$OUT" -a ! -s "$ERR"

# --fps 2 samples more frames than the default 1 fps; --max-frames caps them.
expect 0 out '' embed -q --fps 2 -o "$WORK/a_fps2.vemb" "$A"
run info "$WORK/a_fps2.vemb"
frames2=$(sed -n 's/^frames *//p' "$OUT")
check "--fps 2 gives more frames ($frames2) than 1 fps ($frames1)" \
    test "${frames2:-0}" -gt "${frames1:-0}"
expect 0 out '' embed -q --max-frames 2 --fps=2 -o "$WORK/a_max2.vemb" "$A"
run info "$WORK/a_max2.vemb"
check "--max-frames 2 keeps at most 2 frames" test "$(sed -n 's/^frames *//p' "$OUT")" -le 2
expect 0 out '' embed -q --keyframes --threads 1 -o "$WORK/a_key.vemb" "$A"
expect 0 out '^kind +embedding' info "$WORK/a_key.vemb"

# Options may come after the operands, and "--" ends the options.
expect 0 out '' embed "$A" -q --output="$WORK/a_late.vemb"
check "option after the operand is honoured" test -s "$WORK/a_late.vemb"
expect 0 out '' embed -q -o "$WORK/a_dd.vemb" -- "$A"

# Bad inputs: exit 1 and a message naming the file; no output file left behind.
for bad in missing.mp4 empty.mp4 text.mp4 garbage.mp4 truncated.mp4 audio_only.m4a dir.mp4; do
    rm -f "$WORK/bad.vemb"
    expect 1 err "^vinfringe: error: .*$bad" embed -o "$WORK/bad.vemb" "$F/$bad"
    check "no output after failing on $bad" test ! -e "$WORK/bad.vemb"
done
expect 0 out ' 1 frames' embed -o "$WORK/one.vemb" "$F/one_frame.mp4"
expect 1 err "^vinfringe: error: .*already an embedding" embed -o "$WORK/b.vemb" "$WORK/a.vemb"
expect 1 err "^vinfringe: error: .*no-such-dir" embed -o "$WORK/no-such-dir/a.vemb" "$A"
expect 1 err "^vinfringe: error: .*no-such-model.vimodel" \
    embed --model "$WORK/no-such-model.vimodel" -o "$WORK/m.vemb" "$A"
expect 1 err "^vinfringe: error: .*text" embed --model "$F/text.mp4" -o "$WORK/m.vemb" "$A"
check "no output after a model error" test ! -e "$WORK/m.vemb"
expect 1 err '^vinfringe: error: .*fps' embed --fps 100 -o "$WORK/m.vemb" "$A"
