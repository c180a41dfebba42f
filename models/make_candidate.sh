#!/bin/sh
# Rebuild models/default-candidate.vimodel: the default model's backbone and PCA-whitening head
# with a DMI head trained on top of the whitened features (vinfringe train --on-base-head) on the
# development footage of models/make_footage.sh (never the benchmark's test split), the epoch
# chosen by mAP on the benchmark's TRAIN split, the head folded into one affine map.
#
#   make && sh bench/fetch_videos.sh && sh models/make_candidate.sh bench/work/ds/manifest.json
#
# Environment: BUILD (build), WORK ($TMPDIR/vinfringe-candidate), VARIANT (dmi-pca; any of
# models/train_heads.sh), and that script's knobs (EPOCHS, SAVE, LR_PCA, ...).
set -eu
manifest=${1:?usage: make_candidate.sh MANIFEST.json}
build=${BUILD:-build}
work=${WORK:-${TMPDIR:-/tmp}/vinfringe-candidate} # not under build/: see make_footage.sh
variant=${VARIANT:-dmi-pca}
mkdir -p "$work"
[ -f "$work/footage/groups.txt" ] || sh models/make_footage.sh "$work/footage" "$manifest"
GROUPS_FILE=${GROUPS_FILE:-groups-heldout.txt} VINFRINGE="$build/vinfringe" \
    sh models/train_heads.sh "$work/footage" "$work/heads" "$variant"
# the head-less backbone the ablation applies heads to (as models/make_default.sh makes it)
/usr/bin/python3 -c "
import sys; sys.path.insert(0, 'models'); import vifile
m = vifile.read('models/mobilenet_v2.vimodel', 'model'); m['input_size'] = 128
m['mirror_average'] = 1
vifile.write('$work/backbone-128.vimodel', 'model', m)"
/usr/bin/python3 bench/ablation.py --backbone "$work/backbone-128.vimodel" \
    --ds "$(dirname "$manifest")" --vinfringe "$build/vinfringe" --work "$work/ablation" \
    --select-split train --json "$work/select.json" \
    pca=models/default.vimodel "$variant=$work/heads/$variant.vimodel" 2> "$work/select.log"
chosen=$(sed -n "s/^select: $variant: \([^ ]*\) .*/\1/p" "$work/select.log")
echo "make_candidate: $chosen" >&2
/usr/bin/python3 models/fold_head.py "$chosen" models/default-candidate.vimodel
