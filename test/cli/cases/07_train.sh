# train: a tiny self-supervised run and a labelled one, the model they write, and bad input.

A=$F/clip_a.mp4
B=$F/clip_b.mp4
V=$F/clip_vp8.webm
T="--views 2 --max-frames 4 --lr 1e-3"

expect 0 out '^Usage: vinfringe train' train --help
expect 0 out '^Usage: vinfringe train' help train
expect 0 out '^epoch 3/3: loss [0-9.-]+ +nce [0-9.]+ +D [0-9.]+ +M [0-9.-]+' \
    train $T -e 3 -o "$WORK/t.vimodel" "$A" "$B" "$V"
check "train writes a model file" test "$(head -c 7 "$WORK/t.vimodel" 2>/dev/null)" = VIMODEL
expect 0 out '^dims +256' info "$WORK/t.vimodel"
expect 0 out 'frames, 256 dims' embed -o "$WORK/t.vemb" --model "$WORK/t.vimodel" "$A"

# Labelled groups; a video that cannot be read is skipped with a warning.
printf '%s %s\n%s %s\n' "$A" "$F/clip_a_copy.mp4" "$B" "$F/missing.mp4" > "$WORK/gt.txt"
expect 0 err 'warning: skipping .*missing.mp4' \
    train $T -e 1 --json --groups "$WORK/gt.txt" -o "$WORK/g.vimodel" "$F/text.mp4"
check "the labelled run writes a model" test -s "$WORK/g.vimodel"
check "train --json: an object per epoch, then the output with the skipped count" test "$(json \
    "$OUT" '(j[0]["epoch"], j[0]["epochs"], j[-1]["output"] == sys.argv[3], j[-1]["skipped"])' \
    "$WORK/g.vimodel")" = "(1, 1, True, 2)"

# Bad usage (exit 2) and nothing to train on (exit 1).
expect 2 err 'missing -o' train "$A"
expect 2 err 'no videos' train -o "$WORK/x.vimodel"
expect 2 err "bad --views" train --views 0 -o "$WORK/x.vimodel" "$A"
expect 2 err "unknown option '--nope'" train --nope -o "$WORK/x.vimodel" "$A"
expect 1 err 'error: no videos to train on' train -o "$WORK/x.vimodel" "$F/missing.mp4"
check "no model after a failed run" test ! -e "$WORK/x.vimodel"
expect 1 err 'error: .*ground-truth' train -o "$WORK/x.vimodel" --groups "$F/nothing.txt"
