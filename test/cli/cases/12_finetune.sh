# finetune: help, usage errors, a tiny run stopped and resumed (same model as uninterrupted),
# a corrupt checkpoint, an undecodable input skipped with a warning, a DMI head trained with the
# backbone.

A=$F/clip_a.mp4
B=$F/clip_b.mp4
V=$F/clip_vp8.webm
O=$F/one_frame.mp4
T="--blocks 1 --steps 4 --batch 3 --frames-per-video 4 --lr 1e-3 --threads 1 --checkpoint-every 2"

expect 0 out 'Usage: vinfringe finetune' finetune --help
for opt in --output --model --list --blocks --steps --batch --lr --weight-decay --temperature \
           --koleo --seed --frames-per-video --frame-cache --checkpoint --checkpoint-every \
           --stop-after --threads --head --head-lr --d-weight --m-weight --temporal-positive \
           --scene-negatives --vflip --quiet --help; do
    check "finetune --help documents $opt" grep -q -- "$opt" "$OUT"
done
expect 0 out 'finetune' help finetune
expect 2 err 'missing -o' finetune "$A" "$B"
expect 2 err 'no inputs' finetune -o "$WORK/x.vimodel"
expect 2 err 'bad --blocks' finetune --blocks 20 -o "$WORK/x.vimodel" "$A" "$B"
expect 2 err "bad --head 'pca'" finetune --head pca -o "$WORK/x.vimodel" "$A" "$B"
expect 2 err 'bad --temporal-positive' finetune --temporal-positive 2 -o "$WORK/x.vimodel" "$A" "$B"
expect 2 err 'bad --d-weight' finetune --d-weight -1 -o "$WORK/x.vimodel" "$A" "$B"
expect 2 err 'bad --scene-negatives' finetune --scene-negatives 0.7 -o "$WORK/x.vimodel" "$A" "$B"

# Stopped after step 1 (exit 3, checkpoint written), resumed: the same file as one run.
expect 3 out 'stopped after step 1' finetune $T --stop-after 1 --checkpoint "$WORK/f.ckpt" \
    -o "$WORK/r.vimodel" "$A" "$B" "$V" "$O"
check "no model after a stop" test ! -e "$WORK/r.vimodel"
expect 0 out '^step 4/4: loss' finetune $T --checkpoint "$WORK/f.ckpt" -o "$WORK/r.vimodel" \
    "$A" "$B" "$V" "$O"
check "the resume is reported" grep -q 'resuming from .*f.ckpt at step 1' "$ERR"
expect 0 out '' finetune --json $T -o "$WORK/s.vimodel" "$A" "$B" "$V" "$O"
check "finetune --json: a line per loss report, then the output" test "$(json "$OUT" \
    '([x["step"] for x in j[:-1]], j[-1]["output"] == sys.argv[3])' "$WORK/s.vimodel")" = \
    "([2, 4], True)"
check "resumed and uninterrupted runs write the same model" \
    cmp -s "$WORK/r.vimodel" "$WORK/s.vimodel"
expect 0 out 'fine-tuned' info "$WORK/s.vimodel"

# A corrupt checkpoint; an undecodable input among good ones.
printf 'garbage' > "$WORK/bad.ckpt"
expect 1 err 'checkpoint .*bad.ckpt is corrupt' finetune $T --checkpoint "$WORK/bad.ckpt" \
    -o "$WORK/x.vimodel" "$A" "$B"
check "no model after a corrupt checkpoint" test ! -e "$WORK/x.vimodel"
expect 0 err 'warning: fine-tuning: skipping .*garbage.mp4' finetune $T -o "$WORK/g.vimodel" \
    "$A" "$F/garbage.mp4" "$B"

# A DMI head trained together with the backbone: written into the model (256-d embeddings), and
# the model compares videos like any other.
expect 0 out '^wrote' finetune $T --head dmi --temporal-positive 0.5 --scene-negatives 0.34 \
    --vflip 0.5 -o "$WORK/d.vimodel" \
    "$A" "$B" "$V" "$O"
check "scene negatives are placed and counted" grep -q 'scene negatives placed' "$ERR"
expect 0 out 'DMI head' info "$WORK/d.vimodel"
check "the DMI model's embeddings have 256 dimensions" grep -q '^dims *256$' "$OUT"
expect 0 out '"score"' compare --json --model "$WORK/d.vimodel" "$A" "$F/clip_a_copy.mp4"
