#!/bin/sh
# Embedding cost against decoding cost, per resolution (issue 2's speed target: at most 1.3x).
# Makes 30 s H.264 clips at 240p, 720p and 1080p from a real video (vtest.avi, opencv-doc), then
# times, alternately and RUNS times each, `vinfringe embed` (default model, and --keyframes) and
# `ffmpeg -threads 2 -i X -f null -`, and prints median wall and CPU seconds and the ratios.
# Usage: sh bench/speed.sh [VINFRINGE] [RUNS]      (needs bench/fetch_videos.sh done first)
set -eu
vf=${1:-build/vinfringe}
runs=${2:-3}
src=bench/data/debs/opencv-doc/usr/share/doc/opencv-doc/examples/data/vtest.avi
work=bench/work/speed
mkdir -p "$work"
[ -f "$src" ] || { echo "speed.sh: $src missing: run sh bench/fetch_videos.sh" >&2; exit 1; }
# one timed run: prints "wall cpu"
timed() {
    /usr/bin/time -f "%e %U %S" -o "$work/t" "$@" >/dev/null 2>&1
    awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$work/t"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf "%-6s %10s %10s %10s %10s %12s %12s\n" clip "ffmpeg s" "embed s" "ratio" "cpu ratio" "keyframes s" "kf ratio"
for h in 240 720 1080; do
    clip="$work/v$h.mp4"
    [ -f "$clip" ] || ffmpeg -nostdin -loglevel error -y -i "$src" -t 30 -vf "scale=-2:$h" \
        -c:v libx264 -preset medium -crf 23 -an "$clip"
    : > "$work/ff"; : > "$work/em"; : > "$work/kf"
    i=0
    while [ $i -lt "$runs" ]; do
        timed ffmpeg -nostdin -loglevel error -threads 2 -i "$clip" -f null - >> "$work/ff"
        timed "$vf" embed --quiet -o "$work/e.vemb" "$clip" >> "$work/em"
        timed "$vf" embed --quiet --keyframes -o "$work/k.vemb" "$clip" >> "$work/kf"
        i=$((i + 1))
    done
    ffw=$(cut -d' ' -f1 "$work/ff" | median); ffc=$(cut -d' ' -f2 "$work/ff" | median)
    emw=$(cut -d' ' -f1 "$work/em" | median); emc=$(cut -d' ' -f2 "$work/em" | median)
    kfw=$(cut -d' ' -f1 "$work/kf" | median)
    awk -v h="${h}p" -v a="$ffw" -v b="$emw" -v c="$ffc" -v d="$emc" -v k="$kfw" \
        'BEGIN {printf "%-6s %10.2f %10.2f %10.2f %10.2f %12.2f %12.2f\n", h, a, b, b/a, d/c, k, k/a}'
done
