# info on every kind of file, and --model with the model file the library is built with.

A=$F/clip_a.mp4
MODEL=$SRCDIR/models/default.vimodel

expect 0 out '^kind +other file' info "$A"
expect 0 out 'not a vinfringe file' info "$A"
expect 0 out '^kind +other file' info "$F/text.mp4"
expect 0 out '^dims +[0-9]+$' info "$(vemb clip_a)"
expect 0 out '^duration +[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} \([0-9.]+ s\)$' info "$(vemb clip_a)"
expect 0 out '^model id +[^ ]+' info "$(vemb clip_a)"
emb_model=$(sed -n 's/^model id *//p' "$OUT")
expect 1 err "^vinfringe: error: .*missing\.vemb" info "$WORK/missing.vemb"
expect 1 err "^vinfringe: error: .*is a directory" info "$WORK"
printf 'VIINDEX\000broken' >"$WORK/broken.vidx"
expect 1 err "^vinfringe: error: .*broken\.vidx" info "$WORK/broken.vidx"
check "nothing on stdout for a damaged file" test ! -s "$OUT"
printf 'VIMODEL\000broken' >"$WORK/broken.vimodel"
expect 1 err "^vinfringe: error: .*broken\.vimodel" info "$WORK/broken.vimodel"

if [ -f "$MODEL" ]; then
    expect 0 out '^kind +model' info "$MODEL"
    expect 0 out '^dims +[0-9]+$' info "$MODEL"
    model_id=$(sed -n 's/^id *//p' "$OUT")
    check "info shows a description" grep -Eq '^description +.' "$OUT"
    check "the built-in model is models/default.vimodel ($model_id = $emb_model)" \
        test "$model_id" = "$emb_model"
    expect 0 out '' embed -q --model "$MODEL" -o "$WORK/a_model.vemb" "$A"
    check "--model default.vimodel gives the built-in model's score" \
        test "$(score "$WORK/a_model.vemb" "$F/clip_a_copy.mp4")" = \
        "$(score "$(vemb clip_a)" "$F/clip_a_copy.mp4")"
    expect 1 err "^vinfringe: error: .*not a video" compare "$MODEL" "$A"
else
    fail "info on the default model" "$MODEL is missing"
fi
