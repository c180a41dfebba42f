#!/bin/sh
# Rebuild models/default.vimodel: the fine-tuned backbone with a DMI head trained by
# `vinfringe train` with DMI's losses on top of the PCA-whitened features (--on-base-head: the
# whitening of models/make_default.sh is the fixed first layer, folded into the saved head, so
# the file holds an ordinary DMI head on the backbone features), on the development footage of
# models/make_footage.sh (never the benchmark's test split; groups-heldout.txt also leaves out
# its train split), the epoch chosen by the library's own ranking (bench/eval_align.py: mAP,
# then micro-AP) on the benchmark's TRAIN split.
#
#   make && sh bench/fetch_videos.sh && /usr/bin/python3 bench/make_dataset.py --seed 1 \
#       --out bench/work/ds && /usr/bin/python3 bench/make_align_train.py --ds bench/work/ds \
#       --out bench/work/align/extra
#   sh models/make_finetuned.sh bench/work/ds/manifest.json      # the backbone (45 min)
#   sh models/make_dmi_head.sh bench/work/ds/manifest.json       # this (20 min)
#
# Environment: BUILD (build), WORK ($TMPDIR/vinfringe-dmi-head), BACKBONE_MODEL
# (models/finetuned-backbone.vimodel), OUT (models/default.vimodel), EPOCHS (150), SAVE (15),
# LR_PCA (3e-5) and the other knobs of models/train_heads.sh.
set -eu
manifest=${1:?usage: make_dmi_head.sh MANIFEST.json}
build=${BUILD:-build}
work=${WORK:-${TMPDIR:-/tmp}/vinfringe-dmi-head}
backbone=${BACKBONE_MODEL:-models/finetuned-backbone.vimodel}
out=${OUT:-models/default.vimodel}
ds=$(dirname "$manifest")
extra=${EXTRA:-bench/work/align/extra}
mkdir -p "$work"
# 1. the PCA-whitening model: the fixed first layer of the head
BUILD=$build BACKBONE_MODEL="$backbone" OUT="$work/pca.vimodel" WORK="$work/pca" \
    sh models/make_default.sh "$manifest"
# 2. the DMI head on the whitened features, a snapshot every SAVE epochs
[ -f "$work/footage/groups.txt" ] || sh models/make_footage.sh "$work/footage" "$manifest"
GROUPS_FILE=groups-heldout.txt BASE="$work/pca.vimodel" VINFRINGE="$build/vinfringe" \
    sh models/train_heads.sh "$work/footage" "$work/heads" dmi-pca
# 3. the snapshot the library ranks best on the train split
rm -f "$work/select.txt"
for m in "$work"/heads/dmi-pca-e*.vimodel "$work/heads/dmi-pca.vimodel"; do
    emb="$work/emb/$(basename "$m" .vimodel)"
    /usr/bin/python3 bench/embed_ds.py --model "$m" --ds "$ds" --extra "$extra" --split train \
        --out "$emb" 2>/dev/null
    line=$(/usr/bin/python3 bench/eval_align.py --ds "$extra" --split train --emb "$emb" --brief)
    score=$(echo "$line" | sed -n 's/.* mAP \([0-9.]*\) .* uAP \([0-9.]*\) .*/\1 \2/p')
    echo "make_dmi_head: $(basename "$m"): mAP, micro-AP $score" >&2
    echo "$score $m" >> "$work/select.txt"
done
best=$(sort -k1,1nr -k2,2nr "$work/select.txt" | head -n 1 | cut -d' ' -f3)
echo "make_dmi_head: chose $best" >&2
cp "$best" "$out"
