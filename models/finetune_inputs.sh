#!/bin/sh
# Write the list of training inputs for `vinfringe finetune` (one path per line) to stdout:
# every development video of /work/shared/data/dev-videos.md EXCEPT the benchmark's test-split
# sources (read from the benchmark manifest) and files derived from them, one copy of each
# content (the python3-sage clip exists in 7 containers, devede's menu in 4, movie-hello in 3),
# FFmpeg-generated synthetic footage, and still images of the photo packages (opencv-doc,
# gnome-backgrounds, gimp-help-en, povray-examples; files over 30 kB, so icons are left out).
#
#   sh models/finetune_inputs.sh MANIFEST.json > inputs.txt
# Environment: DEBS (bench/data/debs, filled by bench/fetch_videos.sh), EXTRA_DEBS (where the
# other packages are unpacked; fetched here with apt-get download if missing), SYNTH (where the
# synthetic clips are written).
set -eu
manifest=${1:?usage: finetune_inputs.sh MANIFEST.json}
debs=${DEBS:-bench/data/debs}
extra=${EXTRA_DEBS:-build/finetune-debs}
synth=${SYNTH:-build/finetune-synth}
mkdir -p "$extra/.dl" "$synth"
for pkg in devede python3-sage gnome-backgrounds gimp-help-en povray-examples; do
    if [ ! -f "$extra/$pkg/.unpacked" ]; then
        (cd "$extra/.dl" && rm -f "${pkg}"_*.deb && apt-get download -q "$pkg" >/dev/null 2>&1)
        rm -rf "${extra:?}/$pkg"
        mkdir -p "$extra/$pkg"
        dpkg -x "$extra/.dl/${pkg}"_*.deb "$extra/$pkg"
        rm -f "$extra/.dl/${pkg}"_*.deb
        touch "$extra/$pkg/.unpacked"
    fi
done
# The test split, plus files derived from test sources (Megamind_bugy is Megamind damaged; the
# node-opencv output-*.avi are made from motion.mov).
excluded=$(/usr/bin/python3 - "$manifest" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["sources"]:
    if s["split"] == "test":
        print(s["package"] + "/" + s["path"])
PY
)
excluded="$excluded
opencv-doc/usr/share/doc/opencv-doc/examples/data/Megamind_bugy.avi
node-opencv/usr/share/doc/node-opencv/examples/output-1658952956227.avi
node-opencv/usr/share/doc/node-opencv/examples/output-async-1658952956227.avi
forensics-samples-files/usr/share/forensics-samples/original-files/movie2/movie-hello.avi
forensics-samples-files/usr/share/forensics-samples/original-files/movie2/movie-hello.mpeg"
videos="lebiniou-data/usr/share/lebiniou/vue/media
planetblupi-common/usr/share/planetblupi/movie
opencv-doc/usr/share/doc/opencv-doc/examples/data
node-opencv/usr/share/doc/node-opencv/examples
forensics-samples-files/usr/share/forensics-samples/original-files
python3-mecavideo/usr/share/pymecavideo/data/video"
echo "$videos" | while read -r dir; do
    find "$debs/$dir" -type f \( -name '*.mp4' -o -name '*.mkv' -o -name '*.avi' -o -name '*.mov' \
        -o -name '*.mpeg' -o -name '*.mpg' -o -name '*.ogv' \) | sort | while read -r f; do
        rel=${f#"$debs"/}
        if ! printf '%s\n' "$excluded" | grep -qxF "$rel"; then
            echo "$f"
        fi
    done
done
echo "$extra/python3-sage/usr/lib/python3/dist-packages/sage/ext_data/doctest/rich_output/\
example.mp4"
echo "$extra/devede/usr/share/devedeng/base_pal.mpg"
# Synthetic footage from FFmpeg's sources (10 s each, made once).
for src in "mandelbrot=s=320x240" "life=s=320x240:mold=10:ratio=0.2:death_color=#C83232" \
           "cellauto=s=320x240:rule=110" "gradients=s=320x240:speed=0.02" "testsrc2=s=320x240"; do
    name=$(echo "$src" | cut -d= -f1)
    if [ ! -s "$synth/$name.mp4" ]; then
        ffmpeg -nostdin -loglevel error -y -f lavfi -i "$src:r=10" -t 10 -pix_fmt yuv420p \
            -c:v libx264 -crf 20 "$synth/$name.mp4"
    fi
    echo "$synth/$name.mp4"
done
# Stills.
find "$debs/opencv-doc/usr/share/doc/opencv-doc" -type f \( -iname '*.jpg' -o -iname '*.png' \) \
    -size +30k | sort
find "$extra/gnome-backgrounds/usr/share/backgrounds" -type f \( -name '*.webp' -o -name '*.jpg' \
    -o -name '*.png' \) | sort
find "$extra/gimp-help-en" "$extra/povray-examples" -type f \( -iname '*.jpg' -o -iname '*.png' \) \
    -size +30k | sort
