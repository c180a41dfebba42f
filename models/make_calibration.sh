#!/bin/sh
# Calibrate models/default.vimodel (docs/thresholds.md, "How the default model was calibrated"):
#   1. background bank + segment evidence + threshold, fitted on the benchmark's TRAIN split
#      (never its test split) with background footage made by models/make_background.py;
#   2. the verdict layer (probabilities, threshold) refitted with --verdict-only on the train
#      split plus a calibration set of long fixed-camera scenes (models/make_scenes.py) cut into
#      look-alike references, made from the train image pool.
#
#   make && sh bench/fetch_videos.sh && /usr/bin/python3 bench/make_dataset.py --seed 1 \
#       --out bench/work/ds && sh models/make_calibration.sh
#
# Needs the Debian packages unpacked by bench/fetch_videos.sh (bench/data/debs), ffmpeg and
# /usr/bin/python3. About 30 minutes on 2 cores. The model's vectors (and id) do not change.
set -eu
py=/usr/bin/python3
work=${WORK:-models/work}
ds=${DS:-bench/work/ds}
base=${BASE:-models/default.vimodel}
out=${OUT:-models/default.vimodel}
emb="$work/emb"
mkdir -p "$work" "$emb/bg" "$emb/ds" "$emb/scenes"
# background footage and its embeddings (2 frames a second: more bank vectors per clip)
$py models/make_background.py --out "$work/background"
$py - "$base" "$work/background/list.txt" "$emb/bg" <<'PY'
import os, sys
sys.path.insert(0, "bindings/python")
os.environ.setdefault("VINFRINGE_LIBRARY", "build/libvinfringe.so.0")
import vinfringe
model, listing, out = sys.argv[1:4]
m = vinfringe.Model(model)
for i, line in enumerate(open(listing)):
    dst = os.path.join(out, "b%05d.vemb" % i)
    if line.strip() and not os.path.exists(dst):
        try:
            m.embed(line.strip(), fps=2.0).save(dst)
        except vinfringe.VinfringeError as e:
            print("make_calibration: skipped %s: %s" % (line.strip(), e), file=sys.stderr)
PY
# the look-alike calibration set
$py models/make_scenes.py --out "$work/scenes"
$py bench/make_dataset.py --seed 7 --sources "$work/scenes" --image-pool train \
    --out "$work/calib-scenes"
$py bench/embed_ds.py --model "$base" --out "$emb/scenes" --ds "$work/calib-scenes" --split all
$py bench/embed_ds.py --model "$base" --out "$emb/ds" --ds "$ds" --split train
# 1. bank, segment evidence, threshold; 2. the verdict refitted with look-alikes
$py models/calibrate.py --model "$base" -o "$work/step1.vimodel" --background "$emb/bg" \
    --set "$ds:$emb/ds:train"
$py models/calibrate.py --model "$work/step1.vimodel" -o "$out" --verdict-only \
    --set "$ds:$emb/ds:train" --set "$work/calib-scenes:$emb/scenes:all"
