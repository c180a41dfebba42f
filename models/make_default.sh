#!/bin/sh
# Rebuild models/default.vimodel: the nsfwjs MobileNetV2 backbone + a PCA-whitening head fitted
# without labels on frames of the benchmark's TRAIN-split source videos (never its test split)
# and on the opencv-doc photographs, with mirrored/cropped views of the videos as augmentation.
#
#   make && sh bench/fetch_videos.sh && /usr/bin/python3 bench/make_dataset.py --quick ...
#   sh models/make_default.sh bench/work/ds-quick/manifest.json
#
# Needs build/vinfringe, the Debian packages unpacked by bench/fetch_videos.sh (bench/data/debs),
# ffmpeg and /usr/bin/python3 with numpy.
set -eu
manifest=${1:?usage: make_default.sh MANIFEST.json}
build=${BUILD:-build}
debs=${DEBS:-bench/data/debs}
work=${WORK:-build/default-model}
size=${INPUT_SIZE:-128}
mirror=${MIRROR_AVERAGE:-1}
base=${BACKBONE_MODEL:-models/mobilenet_v2.vimodel} # e.g. a fine-tuned backbone
out=${OUT:-models/default.vimodel}
# ON_HEAD=1: BACKBONE_MODEL carries a trained DMI head (vinfringe finetune --head dmi); the
# whitening is fitted on that head's output and folded into it (models/fit_whitening.py --on-head)
# instead of replacing it.
on_head=${ON_HEAD:-0}
mkdir -p "$work/views"
rm -f "$work"/*.vemb
# The backbone at the input size the default model uses, with features averaged over each frame
# and its mirror image (both measured best: docs/benchmarks.md).
backbone="$work/backbone-$size.vimodel"
/usr/bin/python3 -c "
import sys; sys.path.insert(0, 'models'); import vifile
m = vifile.read('$base', 'model'); m['input_size'] = $size
m['mirror_average'] = $mirror
for k in [k for k in m if k.startswith('dmi.')]:
    del m[k]   # features for the fit come from the backbone alone
vifile.write('$backbone', 'model', m)"
head_arg=
if [ "$on_head" = 1 ]; then head_arg="--on-head $base"; fi
/usr/bin/python3 - "$manifest" > "$work/train_sources.txt" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["sources"]:
    if s["split"] == "train":
        print(s["package"] + "/" + s["path"])
PY
i=0
while read -r src; do
    i=$((i + 1))
    "$build/vinfringe" embed --quiet --model "$backbone" --fps 4 -o "$work/v$i.vemb" "$debs/$src"
    ffmpeg -nostdin -loglevel error -y -i "$debs/$src" -vf "hflip,crop=iw*0.8:ih*0.8,fps=2" \
        -c:v libx264 -crf 30 -preset veryfast -an "$work/views/v$i.mp4"
    "$build/vinfringe" embed --quiet --model "$backbone" --fps 2 -o "$work/v${i}_aug.vemb" "$work/views/v$i.mp4"
done < "$work/train_sources.txt"
for photo in "$debs"/opencv-doc/usr/share/doc/opencv-doc/examples/data/*.jpg \
             "$debs"/opencv-doc/usr/share/doc/opencv-doc/examples/data/*.png; do
    i=$((i + 1))
    "$build/vinfringe" embed --quiet --model "$backbone" -o "$work/p$i.vemb" "$photo" 2>/dev/null || true
done
/usr/bin/python3 models/fit_whitening.py --backbone "$backbone" --out "$out" \
    --input-size "$size" $head_arg \
    "$work"/*.vemb
