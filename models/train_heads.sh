#!/bin/sh
# Train the heads of the ablation (docs/training.md, "Ablation") on the footage of
# models/make_footage.sh, all from one feature cache, writing a snapshot every SAVE epochs:
#   single  one linear head, InfoNCE only          dmi       full DMI (dmi.md's losses)
#   dmi-noD DMI without the exclusivity term D     dmi-noM   DMI without the auxiliary term M
#   dmi-pca full DMI trained on the PCA-whitened features of the base model (--on-base-head),
#           starting from the base model, at LR_PCA; dmi-pca-hi the same at LR
#   single-pca one linear head on the whitened features (--single-head --on-base-head)
#
#   sh models/train_heads.sh FOOTAGE_DIR OUT_DIR [VARIANT...]
#
# Environment: BASE (models/default.vimodel: its backbone gives the features; its PCA-whitening
# head is the fixed first layer of dmi-pca), VINFRINGE (build/vinfringe), EPOCHS (150), SAVE
# (15), VIEWS (2), MAX_FRAMES (6 frames a clip, taken uniformly), SEED (1), THREADS (1: libtorch's
# threads only slow these small steps down on a busy machine), LR (1e-4), LR_PCA (3e-5),
# FILTERS (--filters: libavfilter edits on the augmented views; empty: pixel operations only),
# CHECKPOINT (empty; "--checkpoint" makes each run resumable at some cost per epoch),
# GROUPS_FILE (groups.txt; groups-heldout.txt leaves out the benchmark's train-split sources
# too, so that the train split can choose the epoch).
set -eu
footage=${1:?usage: train_heads.sh FOOTAGE_DIR OUT_DIR [VARIANT...]}
out=${2:?usage: train_heads.sh FOOTAGE_DIR OUT_DIR [VARIANT...]}
shift 2
variants=${*:-single dmi dmi-noD dmi-noM dmi-pca}
base=${BASE:-models/default.vimodel}
exe=${VINFRINGE:-build/vinfringe}
mkdir -p "$out"
for v in $variants; do
    case $v in
    single) extra="--single-head" ;;
    dmi) extra="" ;;
    dmi-noD) extra="--d-weight 0" ;;
    dmi-noM) extra="--m-weight 0" ;;
    dmi-pca) extra="--on-base-head --lr ${LR_PCA:-3e-5}" ;;
    dmi-pca-hi) extra="--on-base-head" ;;
    single-pca) extra="--single-head --on-base-head" ;;
    *) echo "train_heads: unknown variant $v" >&2; exit 2 ;;
    esac
    # shellcheck disable=SC2086
    ckpt=""
    [ -n "${CHECKPOINT:-}" ] && ckpt="--checkpoint $out/$v.ckpt"
    /usr/bin/time -v "$exe" train --model "$base" --groups "$footage/${GROUPS_FILE:-groups.txt}" \
        --views "${VIEWS:-2}" --max-frames "${MAX_FRAMES:-6}" --seed "${SEED:-1}" \
        --threads "${THREADS:-1}" --lr "${LR:-1e-4}" ${FILTERS---filters} \
        -e "${EPOCHS:-150}" --save-every "${SAVE:-15}" --cache "$out/cache" $ckpt $extra \
        -o "$out/$v.vimodel" > "$out/$v.log" 2> "$out/$v.time"
    echo "train_heads: $v done" >&2
done
