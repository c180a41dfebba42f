#!/bin/sh
# Rebuild models/finetuned-backbone.vimodel: the nsfwjs MobileNetV2 at 128x128 with mirror
# averaging, its last 7 units (block_11 .. block_16 and Conv_1) fine-tuned together with a DMI
# head by DMI's losses on copy-style augmented frames of the development videos and photos
# (never the benchmark's test split; see models/finetune_inputs.sh and docs/training.md,
# "Fine-tuning the backbone"), then the head removed (models/strip_head.py): HEADLESS.
# Then, optionally (FIT_HEAD=1), a PCA-whitening head refitted on its features
# (models/make_default.sh) and the benchmark test-split mAP of that model.
#
#   make && sh bench/fetch_videos.sh && /usr/bin/python3 bench/make_dataset.py ...  (bench/work/ds)
#   sh models/make_finetuned.sh bench/work/ds/manifest.json
#
# Two libtorch threads: 45 minutes on this 2-core machine (docs/training.md). Only the base's
# backbone weights, input size and mirror averaging are used. The run's own output, with the
# jointly trained DMI head, stays in $WORK/finetuned-dmi.vimodel. FINETUNE_ARGS adds options
# to `vinfringe finetune` (later ones win), e.g. the second run of docs/training.md:
# FINETUNE_ARGS="--steps 4000 --scene-negatives 0.125 --vflip 0.1".
set -eu
manifest=${1:?usage: make_finetuned.sh MANIFEST.json}
build=${BUILD:-build}
work=${WORK:-build/finetune}
out=${OUT:-models/finetuned-backbone.vimodel}
mkdir -p "$work"
EXTRA_DEBS=${EXTRA_DEBS:-$work/debs} SYNTH=${SYNTH:-$work/synth} \
    sh models/finetune_inputs.sh "$manifest" > "$work/inputs.txt"
# The base: the nsfwjs MobileNetV2 at the default model's input size (128) with mirror
# averaging, exactly the backbone the PCA-whitening default of 0.1 ran on.
/usr/bin/python3 -c "
import sys; sys.path.insert(0, 'models'); import vifile
m = vifile.read('models/mobilenet_v2.vimodel', 'model'); m['input_size'] = 128
m['mirror_average'] = 1
vifile.write('$work/base-128.vimodel', 'model', m)"
"$build/vinfringe" finetune -o "$work/finetuned-dmi.vimodel" -m "$work/base-128.vimodel" \
    -l "$work/inputs.txt" --blocks 7 --steps 3000 --batch 32 --lr 1e-4 --head dmi \
    --head-lr 1e-3 --temporal-positive 0.5 --seed 1 --threads 2 \
    --checkpoint "$work/finetune-dmi.ckpt" --checkpoint-every 250 \
    --frame-cache "$work/frames.cache" ${FINETUNE_ARGS:-}
/usr/bin/python3 models/strip_head.py "$work/finetuned-dmi.vimodel" "$out" mnv2-gem-ft7d
if [ "${FIT_HEAD:-0}" = 1 ]; then
    BUILD=$build BACKBONE_MODEL="$out" OUT="$work/finetuned-whiten.vimodel" WORK="$work/head" \
        sh models/make_default.sh "$manifest"
    /usr/bin/python3 models/eval_test_split.py --vinfringe "$build/vinfringe" \
        --model "$work/finetuned-whiten.vimodel" --json "$work/eval.json"
fi
