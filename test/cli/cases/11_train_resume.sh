# train: checkpoints and resume, and bad input (an empty folder, a ground-truth file naming only
# missing videos, a corrupt checkpoint, a checkpoint of another run).

A=$F/clip_a.mp4
B=$F/clip_b.mp4
V=$F/clip_vp8.webm
T="--views 2 --max-frames 4 --lr 1e-3 --seed 3"

# Interrupted after 2 epochs (a run of -e 2), resumed to 4: the same file as a run of 4.
expect 0 out '^epoch 2/2' train $T -e 2 --checkpoint "$WORK/r.ckpt" -o "$WORK/r2.vimodel" "$A" "$B" "$V"
check "the checkpoint is written" test "$(head -c 6 "$WORK/r.ckpt" 2>/dev/null)" = VICKPT
expect 0 out '^resuming from .*r.ckpt after epoch 2' \
    train $T -e 4 --checkpoint "$WORK/r.ckpt" -o "$WORK/r4.vimodel" "$A" "$B" "$V"
expect 0 out '^epoch 4/4' train $T -e 4 -o "$WORK/s4.vimodel" "$A" "$B" "$V"
check "resumed and uninterrupted runs write the same model" cmp -s "$WORK/r4.vimodel" "$WORK/s4.vimodel"
expect 0 out '^epoch 2/2' train $T -e 2 --save-every 1 -o "$WORK/e.vimodel" "$A" "$B" "$V"
check "--save-every writes a model per epoch" test -s "$WORK/e-e1.vimodel" -a -s "$WORK/e-e2.vimodel"

# A corrupt checkpoint, a truncated one, one of another run (another seed): clear errors.
printf 'garbage' > "$WORK/bad.ckpt"
expect 1 err 'bad.ckpt is not a usable training checkpoint' \
    train $T -e 3 --checkpoint "$WORK/bad.ckpt" -o "$WORK/x.vimodel" "$A" "$B" "$V"
head -c 2000 "$WORK/r.ckpt" > "$WORK/cut.ckpt"
expect 1 err 'cut.ckpt is not a usable training checkpoint' \
    train $T -e 3 --checkpoint "$WORK/cut.ckpt" -o "$WORK/x.vimodel" "$A" "$B" "$V"
expect 1 err 'belongs to another training run' \
    train $T --seed 4 -e 5 --checkpoint "$WORK/r.ckpt" -o "$WORK/x.vimodel" "$A" "$B" "$V"
check "no model after a failed resume" test ! -e "$WORK/x.vimodel"

# An empty folder; a ground-truth file whose videos are all missing.
mkdir -p "$WORK/empty"
expect 1 err 'empty: the directory has no files' train -o "$WORK/x.vimodel" "$WORK/empty"
printf '%s %s\n' "$F/missing1.mp4" "$F/missing2.mp4" > "$WORK/gt-missing.txt"
expect 1 err 'error: no videos to train on' train $T -o "$WORK/x.vimodel" --groups "$WORK/gt-missing.txt"
expect 1 err 'warning: skipping .*missing1.mp4' train $T -o "$WORK/x.vimodel" --groups "$WORK/gt-missing.txt"
