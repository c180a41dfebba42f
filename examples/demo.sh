#!/bin/sh
# The main job, end to end, on real footage: fetch two real videos shipped in Debian packages,
# make a disguised copy of one (crop, mirror, downscale, a logo box, low-quality re-encode), then
# embed and compare with the built-in default model. Usage: sh examples/demo.sh [BUILD_DIR]
set -eu
build=${1:-build}
vf="$build/vinfringe"
work="$build/demo"
mkdir -p "$work"
fetch() { # package, path inside it, destination
    if [ ! -s "$3" ]; then
        (cd "$work" && apt-get download "$1" >/dev/null 2>&1 && dpkg -x "$1"_*.deb "$1.root")
        cp "$work/$1.root/$2" "$3"
    fi
}
fetch python3-mecavideo usr/share/pymecavideo/data/video/balle-jbart.mp4 "$work/original.mp4"
fetch node-opencv usr/share/doc/node-opencv/examples/files/motion.mov "$work/unrelated.mov"
ffmpeg -loglevel error -y -i "$work/original.mp4" \
    -vf "crop=iw*0.8:ih*0.8,hflip,scale=400:-2,drawbox=x=10:y=10:w=80:h=30:color=yellow@0.8:t=fill" \
    -c:v libx264 -crf 36 -preset veryfast -an "$work/copy.mp4"
echo "== copy vs original (should be high)"
"$vf" compare "$work/copy.mp4" "$work/original.mp4"
echo "== copy vs an unrelated video (should be low)"
"$vf" compare "$work/copy.mp4" "$work/unrelated.mov"
echo "== the same, as JSON"
"$vf" compare --json "$work/copy.mp4" "$work/original.mp4"
